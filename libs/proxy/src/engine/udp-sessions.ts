import * as dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BoundListener, StreamRouteSpec, UpstreamNodeSpec } from '../config';
import type { NodeAttempts } from '../balancing/types';
import type { ConnectionContext } from '../routing/types';
import { nodeLabelOf, roundMs } from './addresses';
import type {
  ConnectionInfo,
  ConnectionPhase,
  ConnectionStatus,
  ConnectionSummary,
  LiveConnection,
  ConnectionSample,
} from './connection-events';
import type { TrackedConnection } from './connection-registry';
import type { EngineRuntime, ReportableConnection } from './engine-runtime';
import type { ProxyErrorCode } from './errors';
import { finishPreread, type PrereadSession, type PrereadStep } from './preread';
import type { UpstreamPlan } from './route-plans';
import {
  matchRoute,
  prereadThenBalance,
  startBalancing,
  tryNextNode,
  type StartingSession,
} from './session-start';

/** Datagrams held per session while its upstream socket is being set up (or preread runs). */
const PENDING_DATAGRAM_LIMIT = 64;
/**
 * Datagrams kept until the node first answers, so that an ICMP port-unreachable (ECONNREFUSED on
 * the connected socket) can move the session to the next node and replay them, as nginx retries a
 * UDP upstream that failed before anything was received from it.
 */
const RETAINED_BYTES_LIMIT = 64 * 1024;

/**
 * libuv queues a datagram in user space when the kernel's send buffer is full (EAGAIN) and would
 * do so without limit; past this many queued bytes a datagram is dropped instead, which is what
 * the kernel does to UDP it cannot buffer.
 */
const SEND_QUEUE_LIMIT_BYTES = 1024 * 1024;

const kTable = Symbol('strait.udpTable');
const kLink = Symbol('strait.dgramLink');
type ListenerSocket = dgram.Socket & { [kTable]?: UdpSessionTable };
type UpstreamSocket = dgram.Socket & { [kLink]?: DgramLink };

/**
 * The socket side of one UDP session: Node dgram sockets (DgramLink, below) or the native relay
 * (native-udp-front.ts). The link keeps the client's datagrams until the node first answers,
 * relays both ways, runs the idle timer, and reports back through the session's
 * upstreamReady(), firstReply(), upstreamFailed() and close().
 */
export interface UdpLink {
  /**
   * Opens the way to `node` and sends what was kept so far (a replay after a failed node); the
   * idle timeout (proxy_timeout) runs from the first connect. Returns an error code when that
   * node cannot be used at all.
   */
  connect(node: UpstreamNodeSpec, idleTimeoutMs: number): string | undefined;
  /** Releases the sockets; the session's byte counts are final afterwards. */
  close(): void;
  /** Brings the session's byte counts up to date (the native relay counts in C). */
  refreshCounters(): void;
  /** Client bytes kept but not sent yet. */
  queuedBytes(): number;
}

/**
 * The sessions of one UDP listener (spec 3.8, nginx semantics): a session is one client
 * `addr:port`; its first datagram picks the route and the node; later datagrams reuse them; every
 * reply goes back to the client from the listener socket; the session ends after proxy_timeout of
 * silence in both directions. The table is bounded: when full, the oldest session is evicted
 * (a Map iterates in insertion order, so the first key is the oldest). Subclasses own the socket.
 */
export abstract class UdpSessionSet<Key> {
  readonly sessions = new Map<Key, UdpSession>();
  private accepting = true;
  private closeWaiters: (() => void)[] = [];
  private socketClosed = false;

  constructor(
    readonly listener: BoundListener,
    readonly runtime: EngineRuntime,
    private readonly sessionLimit: number,
  ) {}

  /** Whether a new client may start a session now (evicting the oldest one when full). */
  protected admit(): boolean {
    if (!this.accepting) return false; // draining: new clients are dropped, as by a closed port
    if (this.sessions.size >= this.sessionLimit) {
      this.sessions.values().next().value?.close(undefined, 'ERR_SESSION_EVICTED');
    }
    return true;
  }

  /** Called by a session as it ends. */
  forget(session: UdpSession): void {
    const key = session.key as Key;
    if (this.sessions.get(key) === session) this.sessions.delete(key);
    if (!this.accepting && this.sessions.size === 0) this.finishClose();
  }

  /** Stops creating sessions; the socket closes once the open sessions have ended. */
  close(): Promise<void> {
    if (this.accepting) {
      this.accepting = false;
      this.stopAccepting();
    }
    if (this.sessions.size === 0) this.finishClose();
    if (this.socketClosed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** The socket is closed (or about to be): wake whoever waits in close(). */
  protected socketWasClosed(): void {
    this.socketClosed = true;
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }

  /** Draining started: the socket stops taking new clients (a no-op where admit() suffices). */
  protected stopAccepting(): void {}

  protected abstract finishClose(): void;
}

/** A UDP listener on a Node dgram socket, each session with its own connected dgram socket. */
export class UdpSessionTable extends UdpSessionSet<string> {
  constructor(
    readonly socket: ListenerSocket,
    listener: BoundListener,
    runtime: EngineRuntime,
    sessionLimit: number,
  ) {
    super(listener, runtime, sessionLimit);
    socket[kTable] = this;
    socket.on('message', onListenerMessage);
    socket.once('close', () => this.socketWasClosed());
  }

  receive(datagram: Buffer, remote: dgram.RemoteInfo): void {
    const key = `${remote.port}/${remote.address}`;
    const existing = this.sessions.get(key);
    if (existing) return (existing.link as DgramLink).fromClient(datagram);
    if (!this.admit()) return;
    const session = new UdpSession(this, key, remote.address, remote.port);
    const link = new DgramLink(session, this.socket);
    session.link = link;
    // Stored before it starts so that datagrams arriving during an asynchronous preread queue up.
    this.sessions.set(key, session);
    link.fromClient(datagram);
    session.start();
  }

  protected finishClose(): void {
    try {
      this.socket.close();
    } catch {
      // already closed (ERR_SOCKET_DGRAM_NOT_RUNNING)
    }
  }
}

/** What a session needs from the listener it belongs to. */
interface UdpSessionOwner {
  readonly listener: BoundListener;
  readonly runtime: EngineRuntime;
  forget(session: UdpSession): void;
}

/**
 * One client's session, whichever link carries its datagrams: route match, preread steps,
 * balancer, node retries before the first reply, and the end (registry, log phase, events).
 */
export class UdpSession implements TrackedConnection, ReportableConnection, StartingSession {
  readonly id: number;
  readonly startedAt = Date.now();
  readonly startedHr = performance.now();
  readonly context: ConnectionContext;
  link!: UdpLink;
  phase: ConnectionPhase = 'routing';
  route: StreamRouteSpec | undefined;
  plan: UpstreamPlan | undefined;
  attempts: NodeAttempts | undefined;
  node: UpstreamNodeSpec | undefined;
  nodeLabel: string | undefined;
  replied = false;
  attemptCount = 0;
  status: ConnectionStatus = 200;
  reason: ProxyErrorCode | undefined;
  bytesFromClient = 0;
  bytesToClient = 0;
  closed = false;
  /** Set when preread started: the steps whose finish() (log phase) runs at the end. */
  prereadSteps: readonly PrereadStep[] | undefined;
  prereadSession: PrereadSession | undefined;

  constructor(
    readonly owner: UdpSessionOwner,
    /** The owner's key for this session (client address, or the native relay's session id). */
    readonly key: string | number,
    clientAddr: string,
    clientPort: number,
  ) {
    const listener = owner.listener;
    this.id = owner.runtime.registry.nextId();
    this.context = {
      protocol: 'udp',
      remoteAddr: clientAddr,
      remotePort: clientPort,
      // Neither dgram nor the native relay reads IP_PKTINFO, so a wildcard UDP listener cannot
      // tell which local address a datagram was sent to: $server_addr is the listener's own
      // address. Bind UDP listeners to specific addresses when routes filter on server_addr.
      serverAddr: listener.host,
      serverPort: listener.port,
    };
  }

  /** For the connection observers (ConnectionTally). */
  get routeId(): string | undefined {
    return this.route?.id;
  }

  /** Routes the session; its first datagram is already with the link. */
  start(): void {
    const runtime = this.owner.runtime;
    const state = runtime.state;
    const route = matchRoute(state, this.context);
    this.route = route ?? undefined;
    runtime.registry.add(this);
    runtime.connectionOpened(this);
    if (route === null) return this.close(500, 'ERR_INTERNAL');
    if (!route) return this.close(503, 'ERR_NO_ROUTE');
    prereadThenBalance(this, state.planFor(route), state);
  }

  hasEnded(): boolean {
    return this.closed;
  }

  reject(status: ConnectionStatus, reason: ProxyErrorCode): void {
    this.close(status, reason);
  }

  balance(plan: UpstreamPlan | undefined, problem: ProxyErrorCode | undefined): void {
    startBalancing(this, this.owner.runtime.balancers, plan, problem);
  }

  openUpstream(node: UpstreamNodeSpec): void {
    // Upstream scheme `udp` is only a label: UDP listeners always proxy over UDP (spec 3.8).
    if (this.link.connect(node, this.plan!.idleTimeoutMs) !== undefined) {
      // An invalid address or port: that node is unusable.
      this.attempts!.failed(node, 'error');
      this.node = undefined;
      if (!this.closed) tryNextNode(this);
    }
  }

  /** The link can send to the node now. */
  upstreamReady(): void {
    this.phase = 'relaying';
    this.nodeLabel = nodeLabelOf(this.node!);
  }

  /** The node answered for the first time: the balancer's "connected". */
  firstReply(): void {
    this.replied = true;
    this.attempts!.connected(this.node!, performance.now() - this.startedHr);
  }

  /**
   * The node failed (ICMP unreachable, send error); the link closed its socket. Before the first
   * reply, with every datagram still kept, the next node gets them all (nginx retries a UDP
   * upstream that failed before anything was received from it); otherwise the session ends.
   */
  upstreamFailed(code: string | undefined, retryable: boolean): void {
    if (this.closed) return;
    if (!retryable) {
      return this.close(
        this.replied ? 200 : 502,
        this.replied ? undefined : 'ERR_UPSTREAM_CONNECT',
      );
    }
    this.attempts!.failed(this.node!, code === 'ECONNREFUSED' ? 'refused' : 'error');
    this.node = undefined;
    this.nodeLabel = undefined;
    tryNextNode(this);
  }

  /** Ends the session; idempotent. `status` undefined keeps the status reached so far. */
  close(status?: ConnectionStatus, reason?: ProxyErrorCode): void {
    if (this.closed) return;
    this.closed = true;
    if (status !== undefined) this.status = status;
    if (reason !== undefined) this.reason = reason;
    this.phase = 'closing';
    this.link.close();
    if (this.node) this.attempts!.finished(this.node);
    this.owner.forget(this);
    const runtime = this.owner.runtime;
    runtime.registry.remove(this.id);
    if (this.prereadSession) finishPreread(this.prereadSteps!, this.prereadSession, this);
    runtime.connectionClosed(this);
  }

  abort(): void {
    this.close(undefined, 'ERR_CLOSED_BY_ENGINE');
  }

  info(): ConnectionInfo {
    const context = this.context;
    return {
      id: this.id,
      protocol: 'udp',
      listenerId: this.owner.listener.id,
      remoteAddr: context.remoteAddr,
      remotePort: context.remotePort,
      serverAddr: context.serverAddr,
      serverPort: context.serverPort,
      routeId: this.route?.id,
      startedAt: this.startedAt,
    };
  }

  summary(): ConnectionSummary {
    const summary = this.info() as ConnectionSummary;
    summary.node = this.nodeLabel;
    summary.status = this.status;
    summary.reason = this.reason;
    summary.bytesFromClient = this.bytesFromClient;
    summary.bytesToClient = this.bytesToClient;
    summary.durationMs = roundMs(performance.now() - this.startedHr);
    summary.attempts = this.attemptCount;
    return summary;
  }

  readSample(into: ConnectionSample): void {
    if (!this.closed) this.link.refreshCounters();
    into.id = this.id;
    into.listenerId = this.owner.listener.id;
    into.protocol = 'udp';
    into.routeId = this.route?.id;
    into.bytesFromClient = this.bytesFromClient;
    into.bytesToClient = this.bytesToClient;
  }

  describe(now: number): LiveConnection {
    if (!this.closed) this.link.refreshCounters();
    const row = this.info() as LiveConnection;
    row.node = this.nodeLabel;
    row.phase = this.phase;
    row.bytesFromClient = this.bytesFromClient;
    row.bytesToClient = this.bytesToClient;
    row.ageMs = now - this.startedAt;
    row.bufferedToUpstream = this.closed ? 0 : this.link.queuedBytes();
    row.bufferedToClient = 0;
    return row;
  }
}

/**
 * A session over Node dgram sockets: a connected socket per session (it receives only from the
 * node and is told about ICMP unreachables), replies sent from the listener socket.
 */
class DgramLink implements UdpLink {
  upstream: UpstreamSocket | undefined;
  upstreamReady = false;
  /** Client datagrams waiting for the upstream socket. */
  pending: Buffer[] | undefined = [];
  /** Client datagrams kept for a replay on another node until the first reply (see above). */
  retained: Buffer[] | undefined = [];
  retainedBytes = 0;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly session: UdpSession,
    private readonly listenerSocket: dgram.Socket,
  ) {}

  connect(node: UpstreamNodeSpec, idleTimeoutMs: number): string | undefined {
    if (!this.timer) {
      this.timer = setTimeout(onSessionIdle, idleTimeoutMs, this.session);
      this.timer.unref();
    }
    this.upstreamReady = false;
    const socket: UpstreamSocket = dgram.createSocket(isIPv6(node.host) ? 'udp6' : 'udp4');
    socket[kLink] = this;
    this.upstream = socket;
    socket.on('error', onUpstreamError);
    socket.on('message', onUpstreamMessage);
    // Via the event rather than connect()'s callback: a failed connect then arrives as 'error',
    // on the same path as an ICMP unreachable later.
    socket.once('connect', onUpstreamConnect);
    try {
      socket.connect(node.port, node.host);
    } catch (error) {
      // An invalid port throws synchronously.
      this.upstream = undefined;
      closeQuietly(socket);
      return (error as NodeJS.ErrnoException).code ?? 'ERR_INVALID_ARG';
    }
    return undefined;
  }

  onUpstreamConnected(): void {
    this.upstreamReady = true;
    this.session.upstreamReady();
    const queued = this.pending;
    this.pending = undefined;
    if (queued) for (const datagram of queued) sendToNode(this.upstream!, datagram);
  }

  fromClient(datagram: Buffer): void {
    this.session.bytesFromClient += datagram.length;
    this.timer?.refresh();
    if (this.retained !== undefined) {
      this.retainedBytes += datagram.length;
      if (this.retainedBytes <= RETAINED_BYTES_LIMIT) this.retained.push(datagram);
      else this.retained = undefined; // too much to replay: a failure now ends the session
    }
    if (this.upstreamReady) {
      sendToNode(this.upstream!, datagram);
    } else if (this.pending !== undefined && this.pending.length < PENDING_DATAGRAM_LIMIT) {
      // Beyond the limit datagrams are dropped, which UDP senders must expect anyway.
      this.pending.push(datagram);
    }
  }

  fromUpstream(datagram: Buffer): void {
    const session = this.session;
    session.bytesToClient += datagram.length;
    this.timer!.refresh();
    if (!session.replied) {
      this.retained = undefined;
      session.firstReply();
    }
    if (this.listenerSocket.getSendQueueSize() < SEND_QUEUE_LIMIT_BYTES) {
      this.listenerSocket.send(datagram, session.context.remotePort, session.context.remoteAddr);
    }
  }

  upstreamFailed(error: NodeJS.ErrnoException): void {
    const socket = this.upstream!;
    this.upstream = undefined;
    this.upstreamReady = false;
    closeQuietly(socket);
    const retryable = !this.session.replied && this.retained !== undefined;
    // Everything the client sent so far goes to the next node.
    if (retryable) this.pending = this.retained!.slice();
    this.session.upstreamFailed(error.code, retryable);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.upstream) closeQuietly(this.upstream);
    this.upstream = undefined;
    this.pending = undefined;
    this.retained = undefined;
  }

  refreshCounters(): void {}

  queuedBytes(): number {
    let bytes = 0;
    if (this.pending) for (const datagram of this.pending) bytes += datagram.length;
    return bytes;
  }
}

function sendToNode(socket: dgram.Socket, datagram: Buffer): void {
  if (socket.getSendQueueSize() < SEND_QUEUE_LIMIT_BYTES) socket.send(datagram);
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

function onListenerMessage(this: ListenerSocket, datagram: Buffer, remote: dgram.RemoteInfo): void {
  this[kTable]!.receive(datagram, remote);
}

function onUpstreamConnect(this: UpstreamSocket): void {
  const link = this[kLink]!;
  if (link.upstream === this && !link.session.closed) link.onUpstreamConnected();
}

function onUpstreamMessage(this: UpstreamSocket, datagram: Buffer): void {
  const link = this[kLink]!;
  if (link.upstream === this && !link.session.closed) link.fromUpstream(datagram);
}

function onUpstreamError(this: UpstreamSocket, error: NodeJS.ErrnoException): void {
  const link = this[kLink]!;
  if (link.upstream === this && !link.session.closed) link.upstreamFailed(error);
}

function onSessionIdle(session: UdpSession): void {
  // proxy_timeout of silence in both directions (spec 3.8).
  session.close();
}
