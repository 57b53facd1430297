import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BoundListener, StreamRouteSpec, UpstreamNodeSpec } from '../config';
import type { NodeAttempts } from '../balancing/types';
import type { ConnectionContext } from '../routing/types';
import { nodeLabelOf, roundMs } from './addresses';
import type {
  ConnectionSample,
  ConnectionInfo,
  ConnectionPhase,
  ConnectionStatus,
  ConnectionSummary,
  LiveConnection,
  ProxyProtocolInfo,
  TlsConnectionInfo,
} from './connection-events';
import type { TrackedConnection } from './connection-registry';
import type { EngineRuntime, ReportableConnection } from './engine-runtime';
import type { ProxyErrorCode } from './errors';
import { finishPreread, type PrereadSession, type PrereadStep } from './preread';
import type { RoutePlan, UpstreamPlan } from './route-plans';
import {
  matchRoute,
  prereadThenBalance,
  startBalancing,
  tryNextNode,
  type StartingSession,
} from './session-start';

/**
 * What a tls or proxyProtocol listener learnt before handing the connection over (see
 * handshake-front.ts). Absent for plain listeners, so they pay nothing for it.
 */
export interface InboundDetails {
  /** The original client from a PROXY header; replaces the TCP peer for matching and events. */
  readonly remoteAddr?: string;
  readonly remotePort?: number;
  readonly proxyProtocol?: ProxyProtocolInfo;
  readonly tls?: TlsConnectionInfo;
}

export type ConnectFailureReason = 'refused' | 'timeout' | 'error';

/**
 * Everything one TCP connection decides, whichever transport carries its bytes: route match →
 * plan → preread steps → balancer → one connect attempt per node until one succeeds (retries only
 * before any byte was relayed) → relay → the log phase and `connection:closed`, exactly once.
 *
 * Two transports implement the socket side: TcpSession (tcp-session.ts, net.Socket) and
 * NativeTcpSession (native-tcp-session.ts, the C fast path). They report back through
 * connectFailed(), upstreamConnected() and finish(); everything else here is shared, so both
 * paths keep the same statuses, reason codes, balancer calls and plugin phases.
 *
 * Fields are public because the transports' module-level socket handlers read and write them.
 */
export abstract class TcpSessionCore
  implements TrackedConnection, ReportableConnection, StartingSession
{
  /** Assigned by start() once the session is registered (a hand-over takes none). */
  id = 0;
  startedAt = Date.now();
  startedHr = performance.now();
  phase: ConnectionPhase = 'routing';
  route: StreamRouteSpec | undefined;
  plan: UpstreamPlan | undefined;
  attempts: NodeAttempts | undefined;
  /** The node being tried, then the node relaying. */
  node: UpstreamNodeSpec | undefined;
  nodeLabel: string | undefined;
  attemptCount = 0;
  connectMs: number | undefined;
  status: ConnectionStatus = 200;
  reason: ProxyErrorCode | undefined;
  bytesFromClient = 0;
  bytesToClient = 0;
  clientClosed = false;
  finished = false;
  /** Set when preread started: the steps whose finish() (log phase) runs at the end. */
  prereadSteps: readonly PrereadStep[] | undefined;
  prereadSession: PrereadSession | undefined;

  constructor(
    readonly runtime: EngineRuntime,
    readonly listener: BoundListener,
    readonly context: ConnectionContext,
    readonly inbound: InboundDetails | undefined,
  ) {}

  /** For the connection observers (ConnectionTally). */
  get routeId(): string | undefined {
    return this.route?.id;
  }

  /** Closes the client without writing a byte (the transport reports the close later). */
  protected abstract closeClient(): void;
  /** Starts a connect to `node` (this.plan is set); the outcome comes back asynchronously. */
  abstract openUpstream(node: UpstreamNodeSpec): void;
  /** The paused client socket preread steps may read from; undefined when there is none. */
  protected abstract prereadClient(): net.Socket | undefined;
  /**
   * Lets another path take the connection before it is registered (native → JavaScript when the
   * route's steps read the client or its upstream speaks TLS). True when it was handed over.
   */
  protected handOver(_plan: RoutePlan): boolean {
    return false;
  }
  /** Fills the live-table figures the transport knows best (bytes, user-space buffers). */
  protected abstract describeTransport(row: LiveConnection): void;
  /** Overwrites the byte counts with the transport's own, where it counts them itself. */
  protected readTransportBytes(_into: ConnectionSample): void {}
  abstract abort(): void;

  start(): void {
    const state = this.runtime.state;
    const route = matchRoute(state, this.context);
    const plan = route ? state.planFor(route) : undefined;
    if (plan !== undefined && this.handOver(plan)) return;
    this.id = this.runtime.registry.nextId();
    this.route = route ?? undefined;
    this.runtime.registry.add(this);
    this.runtime.connectionOpened(this);
    if (route === null) return this.refuse(500, 'ERR_INTERNAL');
    // APISIX: `not hit any route` → ngx.exit(1), nothing is written to the client (spec 3.3).
    if (plan === undefined) return this.refuse(503, 'ERR_NO_ROUTE');
    // A step may read the paused client (mqtt-proxy); a client the engine closed meanwhile ends it.
    prereadThenBalance(this, plan, state, plan.preread.length ? this.prereadClient() : undefined);
  }

  hasEnded(): boolean {
    return this.clientClosed;
  }

  reject(status: ConnectionStatus, reason: ProxyErrorCode): void {
    this.refuse(status, reason);
  }

  balance(plan: UpstreamPlan | undefined, problem: ProxyErrorCode | undefined): void {
    startBalancing(this, this.runtime.balancers, plan, problem);
  }

  /** The current attempt failed (its socket is already gone): tell the balancer, try the next. */
  connectFailed(reason: ConnectFailureReason): void {
    this.attempts!.failed(this.node!, reason);
    if (this.clientClosed) return this.maybeFinish();
    tryNextNode(this);
  }

  /** The current attempt connected; the transport starts relaying. */
  upstreamConnected(connectMs: number): void {
    this.connectMs = connectMs;
    this.nodeLabel = nodeLabelOf(this.node!);
    this.attempts!.connected(this.node!, connectMs);
    this.phase = 'relaying';
  }

  /** Closes the client without writing a byte. */
  refuse(status: ConnectionStatus, reason: ProxyErrorCode): void {
    this.status = status;
    this.reason = reason;
    this.phase = 'closing';
    // A plain close(), as nginx does after ngx.exit(): the kernel sends FIN, or RST when the
    // client's bytes are still unread in the receive buffer (they are, since the client was not
    // read from accept on) — the same thing a client of APISIX sees.
    this.closeClient();
  }

  /** Finishes once every socket of the connection is closed. */
  abstract maybeFinish(): void;

  /** The end, exactly once: balancer release, registry, log phase, `connection:closed`. */
  protected finish(): void {
    this.finished = true;
    if (this.phase !== 'relaying' && this.phase !== 'closing') {
      // The client went away (or was closed by the engine) before any upstream was connected.
      this.status = 503;
      this.reason ??= 'ERR_CLOSED_BY_ENGINE';
    }
    this.phase = 'closing';
    // Releases the node held by the balancer (least_conn count), also when the session was cut
    // while still connecting to it; a no-op for a node already reported failed().
    if (this.node) this.attempts!.finished(this.node);
    this.runtime.registry.remove(this.id);
    if (this.prereadSession) finishPreread(this.prereadSteps!, this.prereadSession, this);
    this.runtime.connectionClosed(this);
  }

  /** Takes over what `from` decided so far (a connection handed over after registration). */
  protected continueFrom(from: TcpSessionCore): void {
    this.id = from.id;
    this.startedAt = from.startedAt;
    this.startedHr = from.startedHr;
    this.route = from.route;
    this.prereadSteps = from.prereadSteps;
    this.prereadSession = from.prereadSession;
  }

  info(): ConnectionInfo {
    const context = this.context;
    const info: ConnectionInfo = {
      id: this.id,
      protocol: 'tcp',
      listenerId: this.listener.id,
      remoteAddr: context.remoteAddr,
      remotePort: context.remotePort,
      serverAddr: context.serverAddr,
      serverPort: context.serverPort,
      sni: context.sni,
      routeId: this.route?.id,
      startedAt: this.startedAt,
    };
    const inbound = this.inbound;
    if (inbound) {
      if (inbound.proxyProtocol) info.proxyProtocol = inbound.proxyProtocol;
      if (inbound.tls) info.tls = inbound.tls;
    }
    return info;
  }

  summary(): ConnectionSummary {
    const durationMs = roundMs(performance.now() - this.startedHr);
    const connectMs = this.connectMs === undefined ? undefined : roundMs(this.connectMs);
    if (this.inbound === undefined) {
      // One literal with every field (the keys in info()'s order, then the summary's): a single
      // allocation, where info() plus eight more properties grows a second backing store.
      const context = this.context;
      return {
        id: this.id,
        protocol: 'tcp',
        listenerId: this.listener.id,
        remoteAddr: context.remoteAddr,
        remotePort: context.remotePort,
        serverAddr: context.serverAddr,
        serverPort: context.serverPort,
        sni: context.sni,
        routeId: this.route?.id,
        startedAt: this.startedAt,
        node: this.nodeLabel,
        status: this.status,
        reason: this.reason,
        bytesFromClient: this.bytesFromClient,
        bytesToClient: this.bytesToClient,
        durationMs,
        connectMs,
        attempts: this.attemptCount,
      };
    }
    const summary: ConnectionSummary = this.info() as ConnectionSummary;
    summary.node = this.nodeLabel;
    summary.status = this.status;
    summary.reason = this.reason;
    summary.bytesFromClient = this.bytesFromClient;
    summary.bytesToClient = this.bytesToClient;
    summary.durationMs = durationMs;
    summary.connectMs = connectMs;
    summary.attempts = this.attemptCount;
    return summary;
  }

  readSample(into: ConnectionSample): void {
    into.id = this.id;
    into.listenerId = this.listener.id;
    into.protocol = 'tcp';
    into.routeId = this.route?.id;
    into.bytesFromClient = this.bytesFromClient;
    into.bytesToClient = this.bytesToClient;
    this.readTransportBytes(into);
  }

  describe(now: number): LiveConnection {
    const row = this.info() as LiveConnection;
    row.node = this.nodeLabel;
    row.phase = this.phase;
    row.bytesFromClient = this.bytesFromClient;
    row.bytesToClient = this.bytesToClient;
    row.ageMs = now - this.startedAt;
    row.bufferedToUpstream = 0;
    row.bufferedToClient = 0;
    this.describeTransport(row);
    return row;
  }
}
