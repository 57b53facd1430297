import * as dns from 'node:dns';
import { isIP } from 'node:net';
import type { UpstreamNodeSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import type { ConnectionSample, LiveConnection } from './connection-events';
import type { NativeListenerRecord, NativeTcpFront } from './native-tcp-front';
import type { ProxyErrorCode } from './errors';
import type { RoutePlan, UpstreamPlan } from './route-plans';
import { TcpSessionCore, type ConnectFailureReason, type InboundDetails } from './tcp-session-core';

/** ConnectFailure codes of the addon (1 refused, 2 timeout, 3 error) in the balancer's words. */
const FAILURE_REASONS: readonly ConnectFailureReason[] = ['error', 'refused', 'timeout', 'error'];

/** describe() reads the addon's counters through this, not through a fresh array per row. */
const counters = new Float64Array(4);

/**
 * A TCP connection carried by the native fast path: the addon accepts, connects, relays (splice,
 * half-close, reset passthrough, idle timeout) and closes; this object makes the decisions
 * (TcpSessionCore: route, plan, preread, balancer, retries, events) and holds no socket. A route
 * the addon cannot serve is handed to the JavaScript path: before it is registered when its
 * steps read the client or its upstream speaks TLS, or after preread when a step switched to
 * such an upstream (native-tcp-front.ts).
 */
export class NativeTcpSession extends TcpSessionCore {
  constructor(
    readonly front: NativeTcpFront,
    readonly record: NativeListenerRecord,
    /** The addon's handle for this connection (not the engine's id). */
    readonly connId: number,
    context: ConnectionContext,
    /** Set on a tls listener: the addon terminated TLS (native-tls-handshake.ts). */
    inbound?: InboundDetails,
  ) {
    super(front.runtime, record.bound, context, inbound);
  }

  /**
   * The TLS session of a tls listener's connection lives in the addon and cannot move to
   * JavaScript. Routes that need JavaScript were sent there at the ClientHello; only a config
   * change between hello and routing gets such a route here, and it is refused (balance()).
   */
  private get terminatedInAddon(): boolean {
    return this.inbound?.tls !== undefined;
  }

  protected override handOver(plan: RoutePlan): boolean {
    if (this.terminatedInAddon || !this.front.needsJavaScript(plan)) return false;
    return this.front.handOver(this, undefined);
  }

  override balance(plan: UpstreamPlan | undefined, problem: ProxyErrorCode | undefined): void {
    // A preread step chose an upstream only the JavaScript connector reaches (scheme tls).
    if (plan !== undefined && problem === undefined && this.front.upstreamNeedsJavaScript(plan)) {
      if (this.terminatedInAddon) return this.refuse(500, 'ERR_INTERNAL');
      if (this.front.handOver(this, plan)) return;
    }
    super.balance(plan, problem);
  }

  protected closeClient(): void {
    this.front.loop.destroy(this.connId);
  }

  protected prereadClient(): undefined {
    return undefined;
  }

  openUpstream(node: UpstreamNodeSpec): void {
    // The addon takes IP literals only and throws for anything else, so a host name is found
    // out by that throw instead of checking every node with isIP() first.
    if (this.connectTo(node.host, node.port)) return;
    // An IP literal it refused has an invalid port: that node is as dead as a refusal
    // (net.connect throws the same way).
    if (isIP(node.host) !== 0) return this.connectFailed('error');
    // A node named by host name: resolved per connection, as net.connect() does.
    dns.lookup(node.host, (error, address) => {
      if (this.finished || this.clientClosed || this.node !== node) return;
      if (error) return this.connectFailed('error');
      if (!this.connectTo(address, node.port)) this.connectFailed('error');
    });
  }

  /** False when the addon refused the address or port (nothing was started). */
  private connectTo(host: string, port: number): boolean {
    const plan = this.plan!;
    try {
      // Relaying starts in the addon the moment the connect succeeds (the idle timeout is given
      // now); Connected or ConnectFailed follows. False: the connection was closed meanwhile, and
      // its Closed event finishes the session.
      this.front.loop.connect(this.connId, host, port, plan.connectTimeoutMs, plan.idleTimeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  /** FastpathEvent.Connected */
  connected(connectMicros: number): void {
    this.upstreamConnected(connectMicros / 1000);
  }

  /** FastpathEvent.ConnectFailed */
  attemptFailed(code: number): void {
    this.connectFailed(FAILURE_REASONS[code] ?? 'error');
  }

  /** FastpathEvent.Closed: both sockets are closed. */
  closed(bytesFromClient: number, bytesToClient: number): void {
    this.bytesFromClient = bytesFromClient;
    this.bytesToClient = bytesToClient;
    this.clientClosed = true;
    this.maybeFinish();
  }

  maybeFinish(): void {
    if (this.finished || !this.clientClosed) return;
    this.finish();
  }

  abort(): void {
    if (this.finished) return;
    this.reason ??= 'ERR_CLOSED_BY_ENGINE';
    this.front.loop.close(this.connId);
  }

  protected override readTransportBytes(into: ConnectionSample): void {
    this.readCounters(into);
  }

  protected describeTransport(row: LiveConnection): void {
    if (!this.readCounters(row)) return;
    // Bytes in flight in the relay pipes (kernel memory the proxy holds), per direction.
    row.bufferedToUpstream = counters[2];
    row.bufferedToClient = counters[3];
  }

  /** The addon's counters into `counters`, the byte counts into `into`; false once it is gone. */
  private readCounters(into: ConnectionSample): boolean {
    if (!this.front.loop.counters(this.connId, counters)) return false;
    into.bytesFromClient = counters[0];
    into.bytesToClient = counters[1];
    return true;
  }
}
