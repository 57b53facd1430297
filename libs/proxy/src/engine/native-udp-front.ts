import * as dns from 'node:dns';
import * as net from 'node:net';
import {
  UdpRelayEvent,
  type FastpathBinding,
  type UdpRelay,
  type UdpRelayEventHandler,
} from '@strait/fastpath';
import type { BoundListener, ListenerSpec, UpstreamNodeSpec } from '../config';
import { unwrapMappedAddress } from './addresses';
import type { EngineRuntime } from './engine-runtime';
import { boundListener, type OpenListener } from './listeners';
import { UdpSession, UdpSessionSet, type UdpLink } from './udp-sessions';

/**
 * UDP listeners on the native relay (libs/fastpath, udp_relay.c): datagrams of known clients go
 * to their node, and replies back, without entering JavaScript; this side routes new clients and
 * owns every session's lifecycle (udp-sessions.ts), exactly as on the dgram path. One relay per
 * engine, created with the first such listener.
 */
export class NativeUdpFront {
  private relayInstance: UdpRelay | undefined;
  private readonly listeners = new Map<number, NativeUdpListener>();
  /** Native session id → its session, for the relay's events. */
  readonly links = new Map<number, NativeUdpLink>();

  constructor(
    private readonly binding: FastpathBinding,
    private readonly runtime: EngineRuntime,
    private readonly sessionLimit: number,
  ) {}

  get relay(): UdpRelay {
    return (this.relayInstance ??= this.binding.createUdpRelay(this.onEvent));
  }

  /**
   * Binds synchronously; throws the system error (EADDRINUSE...) for listeners.ts to report.
   * Host names are left to the dgram path (it resolves them); the relay takes IP literals only.
   */
  canOpen(spec: ListenerSpec): boolean {
    return net.isIP(spec.host) !== 0;
  }

  open(spec: ListenerSpec): OpenListener {
    const [listenerId, port, address] = this.relay.listen(
      spec.host,
      spec.port,
      false,
      // As the dgram listener: `0.0.0.0:P` and `[::]:P` can be two listeners.
      net.isIPv6(spec.host),
    );
    const listener = new NativeUdpListener(
      this,
      listenerId,
      boundListener(spec, { address, port }),
      this.runtime,
      this.sessionLimit,
    );
    this.listeners.set(listenerId, listener);
    return { bound: listener.listener, close: () => listener.close() };
  }

  forgetListener(listenerId: number): void {
    this.listeners.delete(listenerId);
    this.relayInstance?.closeListener(listenerId);
  }

  /** Releases the relay once the engine has closed (every session ended). */
  shutdown(): void {
    this.relayInstance?.shutdown();
    this.relayInstance = undefined;
  }

  private readonly onEvent: UdpRelayEventHandler = (type, sessionId, a, b, c) => {
    if (type === UdpRelayEvent.NewSession) {
      this.listeners.get(a as number)?.newSession(sessionId, b as string, c as number);
      return;
    }
    const link = this.links.get(sessionId);
    if (link === undefined) return;
    const session = link.session;
    if (type === UdpRelayEvent.FirstReply) session.firstReply();
    else if (type === UdpRelayEvent.UpstreamError) session.upstreamFailed(a as string, b === true);
    // proxy_timeout of silence in both directions (spec 3.8).
    else if (type === UdpRelayEvent.Idle) session.close();
  };
}

/** One native UDP listener's sessions, keyed by the relay's session id. */
class NativeUdpListener extends UdpSessionSet<number> {
  constructor(
    private readonly front: NativeUdpFront,
    private readonly listenerId: number,
    listener: BoundListener,
    runtime: EngineRuntime,
    sessionLimit: number,
  ) {
    super(listener, runtime, sessionLimit);
  }

  /** A datagram from a new client (the relay keeps it, and counted it). */
  newSession(sessionId: number, clientAddr: string, clientPort: number): void {
    if (!this.admit()) {
      this.front.relay.close(sessionId);
      return;
    }
    const session = new UdpSession(this, sessionId, unwrapMappedAddress(clientAddr), clientPort);
    const link = new NativeUdpLink(this.front, sessionId, session);
    session.link = link;
    this.front.links.set(sessionId, link);
    this.sessions.set(sessionId, session);
    session.start();
  }

  protected override stopAccepting(): void {
    this.front.relay.stopAccepting(this.listenerId);
  }

  protected finishClose(): void {
    this.front.forgetListener(this.listenerId);
    this.socketWasClosed();
  }
}

/** A session whose datagrams the native relay carries; `sessionId` is the relay's handle. */
class NativeUdpLink implements UdpLink {
  constructor(
    private readonly front: NativeUdpFront,
    private readonly sessionId: number,
    readonly session: UdpSession,
  ) {}

  connect(node: UpstreamNodeSpec, idleTimeoutMs: number): string | undefined {
    if (net.isIP(node.host) !== 0) return this.connectTo(node.host, node.port, idleTimeoutMs);
    // A node named by host name: resolved per session, as dgram's connect() does; the datagrams
    // wait in the relay meanwhile.
    dns.lookup(node.host, (error, address) => {
      const session = this.session;
      if (session.closed || session.node !== node) return;
      const failure = error
        ? (error.code ?? 'ENOTFOUND')
        : this.connectTo(address, node.port, idleTimeoutMs);
      // Nothing reached that node, so every kept datagram can go to the next one.
      if (failure !== undefined) session.upstreamFailed(failure, true);
    });
    return undefined;
  }

  private connectTo(host: string, port: number, idleTimeoutMs: number): string | undefined {
    const error = this.front.relay.connect(this.sessionId, host, port, idleTimeoutMs);
    // A connected UDP socket can send at once: nothing to wait for, as with dgram's 'connect'.
    if (error === undefined) this.session.upstreamReady();
    return error;
  }

  close(): void {
    this.front.links.delete(this.sessionId);
    const counters = this.front.relay.close(this.sessionId);
    if (counters) this.copy(counters);
  }

  refreshCounters(): void {
    const counters = this.front.relay.counters(this.sessionId);
    if (counters) this.copy(counters);
  }

  queuedBytes(): number {
    return this.front.relay.counters(this.sessionId)?.[2] ?? 0;
  }

  private copy(counters: [number, number, number]): void {
    this.session.bytesFromClient = counters[0];
    this.session.bytesToClient = counters[1];
  }
}
