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
} from './connection-events';
import type { TrackedConnection } from './connection-registry';
import type { EngineRuntime, ReportableConnection } from './engine-runtime';
import type { ProxyErrorCode } from './errors';
import {
  finishPreread,
  runPreread,
  type PrereadOutcome,
  type PrereadSession,
  type PrereadStep,
} from './preread';
import type { RoutePlan, RuntimeState, UpstreamPlan } from './route-plans';

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
const kSession = Symbol('strait.udpSession');
type ListenerSocket = dgram.Socket & { [kTable]?: UdpSessionTable };
type UpstreamSocket = dgram.Socket & { [kSession]?: UdpSession };

/**
 * The sessions of one UDP listener (spec 3.8, nginx semantics): a session is one client
 * `addr:port`; its first datagram picks the route and the node; later datagrams reuse them; every
 * reply goes back to the client from the listener socket; the session ends after proxy_timeout of
 * silence in both directions. The table is bounded: when full, the oldest session is evicted
 * (a Map iterates in insertion order, so the first key is the oldest).
 */
export class UdpSessionTable {
  readonly sessions = new Map<string, UdpSession>();
  private accepting = true;
  private closeWaiters: (() => void)[] = [];
  private socketClosed = false;

  constructor(
    readonly socket: ListenerSocket,
    readonly listener: BoundListener,
    readonly runtime: EngineRuntime,
    private readonly sessionLimit: number,
  ) {
    socket[kTable] = this;
    socket.on('message', onListenerMessage);
    socket.once('close', () => {
      this.socketClosed = true;
      for (const resolve of this.closeWaiters.splice(0)) resolve();
    });
  }

  receive(datagram: Buffer, remote: dgram.RemoteInfo): void {
    const key = sessionKey(remote.address, remote.port);
    const existing = this.sessions.get(key);
    if (existing) return existing.fromClient(datagram);
    if (!this.accepting) return; // draining: new clients are dropped, as by a closed port
    if (this.sessions.size >= this.sessionLimit) {
      this.sessions.values().next().value?.close(undefined, 'ERR_SESSION_EVICTED');
    }
    const session = new UdpSession(this, key, remote.address, remote.port);
    // Stored before it starts so that datagrams arriving during an asynchronous preread queue up.
    this.sessions.set(key, session);
    session.start(datagram);
  }

  /** Called by a session as it ends. */
  forget(session: UdpSession): void {
    if (this.sessions.get(session.key) === session) this.sessions.delete(session.key);
    if (!this.accepting && this.sessions.size === 0) this.closeSocket();
  }

  /** Stops creating sessions; the socket closes once the open sessions have ended. */
  close(): Promise<void> {
    this.accepting = false;
    if (this.sessions.size === 0) this.closeSocket();
    if (this.socketClosed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  private closeSocket(): void {
    try {
      this.socket.close();
    } catch {
      // already closed (ERR_SOCKET_DGRAM_NOT_RUNNING)
    }
  }
}

function sessionKey(address: string, port: number): string {
  return `${port}/${address}`;
}

/** Fields are public because the module-level socket handlers below read and write them. */
class UdpSession implements TrackedConnection, ReportableConnection {
  readonly id: number;
  readonly startedAt = Date.now();
  readonly startedHr = performance.now();
  readonly context: ConnectionContext;
  phase: ConnectionPhase = 'routing';
  route: StreamRouteSpec | undefined;
  plan: UpstreamPlan | undefined;
  attempts: NodeAttempts | undefined;
  node: UpstreamNodeSpec | undefined;
  nodeLabel: string | undefined;
  upstream: UpstreamSocket | undefined;
  upstreamReady = false;
  /** Client datagrams waiting for the upstream socket. */
  pending: Buffer[] | undefined = [];
  /** Client datagrams kept for a replay on another node until the first reply (see above). */
  retained: Buffer[] | undefined = [];
  retainedBytes = 0;
  replied = false;
  timer: NodeJS.Timeout | undefined;
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
    readonly table: UdpSessionTable,
    readonly key: string,
    readonly clientAddr: string,
    readonly clientPort: number,
  ) {
    const listener = table.listener;
    this.id = table.runtime.registry.nextId();
    this.context = {
      protocol: 'udp',
      remoteAddr: clientAddr,
      remotePort: clientPort,
      // dgram exposes no IP_PKTINFO, so a wildcard UDP listener cannot tell which local address a
      // datagram was sent to: $server_addr is the listener's own address. Bind UDP listeners to
      // specific addresses when routes filter on server_addr.
      serverAddr: listener.host,
      serverPort: listener.port,
    };
  }

  start(first: Buffer): void {
    const runtime = this.table.runtime;
    const state = runtime.state;
    let route: StreamRouteSpec | undefined;
    let failed = false;
    try {
      route = state.table.match(this.context);
    } catch {
      failed = true;
    }
    this.route = route;
    runtime.registry.add(this);
    runtime.connectionOpened(this);
    this.fromClient(first);
    if (failed) return this.close(500, 'ERR_INTERNAL');
    if (!route) return this.close(503, 'ERR_NO_ROUTE');
    const plan = state.planFor(route);
    if (plan.preread.length === 0) return this.balance(plan.upstream, plan.problem);
    this.runPreread(plan, state);
  }

  private runPreread(plan: RoutePlan, state: RuntimeState): void {
    const routeUpstream = plan.upstream;
    if (!routeUpstream) return this.close(503, plan.problem ?? 'ERR_UPSTREAM_MISSING');
    const session: PrereadSession = {
      id: this.id,
      context: this.context,
      route: plan.route,
      upstream: routeUpstream.upstream,
    };
    this.prereadSteps = plan.preread;
    this.prereadSession = session;
    runPreread(plan.preread, session, (outcome: PrereadOutcome, error?: unknown) => {
      if (this.closed) return;
      if (error !== undefined) return this.close(500, 'ERR_INTERNAL');
      if (outcome) return this.close(outcome.status, 'ERR_PREREAD_REJECTED');
      const upstream =
        session.upstream === routeUpstream.upstream
          ? routeUpstream
          : state.planUpstream(session.upstream);
      this.balance(upstream, upstream.problem);
    });
  }

  private balance(plan: UpstreamPlan | undefined, problem: ProxyErrorCode | undefined): void {
    if (problem || !plan) return this.close(503, problem ?? 'ERR_UPSTREAM_MISSING');
    this.plan = plan;
    try {
      this.attempts = this.table.runtime.balancers.begin(plan.upstream, this.context);
    } catch {
      return this.close(500, 'ERR_INTERNAL');
    }
    this.phase = 'connecting';
    this.timer = setTimeout(onSessionIdle, plan.idleTimeoutMs, this);
    this.timer.unref();
    this.connectNext();
  }

  private connectNext(): void {
    const node = this.attempts!.next();
    if (!node) return this.close(502, 'ERR_UPSTREAM_CONNECT');
    this.node = node;
    this.attemptCount++;
    this.upstreamReady = false;
    // Upstream scheme `udp` is only a label: UDP listeners always proxy over UDP (spec 3.8).
    const socket: UpstreamSocket = dgram.createSocket(isIPv6(node.host) ? 'udp6' : 'udp4');
    socket[kSession] = this;
    this.upstream = socket;
    socket.on('error', onUpstreamError);
    socket.on('message', onUpstreamMessage);
    // Via the event rather than connect()'s callback: a failed connect then arrives as 'error',
    // on the same path as an ICMP unreachable later.
    socket.once('connect', onUpstreamConnect);
    try {
      // A connected UDP socket receives only from the node and is told about ICMP unreachables.
      socket.connect(node.port, node.host);
    } catch {
      // An invalid port throws synchronously; that node is unusable.
      this.upstream = undefined;
      closeQuietly(socket);
      this.attempts!.failed(node, 'error');
      this.node = undefined;
      return this.connectNext();
    }
  }

  onUpstreamConnected(): void {
    this.upstreamReady = true;
    this.phase = 'relaying';
    this.nodeLabel = nodeLabelOf(this.node!);
    const queued = this.pending;
    this.pending = undefined;
    if (queued) for (const datagram of queued) sendToNode(this.upstream!, datagram);
  }

  fromClient(datagram: Buffer): void {
    this.bytesFromClient += datagram.length;
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
    this.bytesToClient += datagram.length;
    this.timer!.refresh();
    if (!this.replied) {
      this.replied = true;
      this.retained = undefined;
      this.attempts!.connected(this.node!, performance.now() - this.startedHr);
    }
    const listenerSocket = this.table.socket;
    if (listenerSocket.getSendQueueSize() < SEND_QUEUE_LIMIT_BYTES) {
      listenerSocket.send(datagram, this.clientPort, this.clientAddr);
    }
  }

  upstreamFailed(error: NodeJS.ErrnoException): void {
    if (this.replied || this.retained === undefined) {
      // Once the node has answered, a later error just ends the session (nginx: no retry after
      // data was received).
      return this.close(
        this.replied ? 200 : 502,
        this.replied ? undefined : 'ERR_UPSTREAM_CONNECT',
      );
    }
    const socket = this.upstream!;
    this.upstream = undefined;
    closeQuietly(socket);
    this.attempts!.failed(this.node!, error.code === 'ECONNREFUSED' ? 'refused' : 'error');
    this.node = undefined;
    this.nodeLabel = undefined;
    // Replay everything the client sent so far on the next node.
    this.pending = this.retained.slice();
    this.connectNext();
  }

  /** Ends the session; idempotent. `status` undefined keeps the status reached so far. */
  close(status?: ConnectionStatus, reason?: ProxyErrorCode): void {
    if (this.closed) return;
    this.closed = true;
    if (status !== undefined) this.status = status;
    if (reason !== undefined) this.reason = reason;
    this.phase = 'closing';
    if (this.timer) clearTimeout(this.timer);
    if (this.upstream) closeQuietly(this.upstream);
    if (this.node) this.attempts!.finished(this.node);
    this.pending = undefined;
    this.retained = undefined;
    this.table.forget(this);
    const runtime = this.table.runtime;
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
      listenerId: this.table.listener.id,
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

  describe(now: number): LiveConnection {
    const row = this.info() as LiveConnection;
    row.node = this.nodeLabel;
    row.phase = this.phase;
    row.bytesFromClient = this.bytesFromClient;
    row.bytesToClient = this.bytesToClient;
    row.ageMs = now - this.startedAt;
    let pendingBytes = 0;
    if (this.pending) for (const datagram of this.pending) pendingBytes += datagram.length;
    row.bufferedToUpstream = pendingBytes;
    row.bufferedToClient = 0;
    return row;
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
  const session = this[kSession]!;
  if (session.upstream === this && !session.closed) session.onUpstreamConnected();
}

function onUpstreamMessage(this: UpstreamSocket, datagram: Buffer): void {
  const session = this[kSession]!;
  if (session.upstream === this && !session.closed) session.fromUpstream(datagram);
}

function onUpstreamError(this: UpstreamSocket, error: NodeJS.ErrnoException): void {
  const session = this[kSession]!;
  if (session.upstream === this && !session.closed) session.upstreamFailed(error);
}

function onSessionIdle(session: UdpSession): void {
  // proxy_timeout of silence in both directions (spec 3.8).
  session.close();
}
