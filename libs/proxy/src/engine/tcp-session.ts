import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BoundListener, StreamRouteSpec, UpstreamNodeSpec } from '../config';
import type { NodeAttempts } from '../balancing/types';
import type { ConnectionContext } from '../routing/types';
import { nodeLabelOf, roundMs, isWildcardAddress, unwrapMappedAddress } from './addresses';
import type {
  ConnectionInfo,
  ConnectionPhase,
  ProxyProtocolInfo,
  TlsConnectionInfo,
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
import { readIntoRelayBuffers, relayChunk, releaseRelayBuffer } from './relay-buffers';
import {
  classifyConnectError,
  isResetError,
  readyEventOf,
  resetSocket,
} from './upstream-connector';

/**
 * The socket handlers below are plain module functions that find their session through this
 * symbol: a connection costs one session object and no closures, and nothing is allocated per
 * chunk on the relay path.
 */
const kSession = Symbol('strait.tcpSession');
type SessionSocket = net.Socket & { [kSession]?: TcpSession };

/**
 * Takes over an accepted client socket. The socket must be paused (net.Server `pauseOnConnect`,
 * or pause() on a TLS socket before calling): whatever the client sends before the upstream is
 * connected stays in the kernel's receive buffer (or the bounded readable buffer), so it is
 * delivered, in order, once relaying starts and nothing is held without bound.
 */
export function handleTcpConnection(
  runtime: EngineRuntime,
  listener: BoundListener,
  client: net.Socket,
  sni?: string,
  inbound?: InboundDetails,
): void {
  const remoteAddress = inbound?.remoteAddr ?? client.remoteAddress;
  if (remoteAddress === undefined) {
    // The peer reset between accept() and now; getpeername fails, there is nothing to route.
    client.on('error', ignoreError);
    client.destroy();
    return;
  }
  new TcpSession(runtime, listener, client as SessionSocket, remoteAddress, sni, inbound).start();
}

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

/** Fields are public because the module-level socket handlers below read and write them. */
class TcpSession implements TrackedConnection, ReportableConnection {
  readonly id: number;
  readonly startedAt = Date.now();
  readonly startedHr = performance.now();
  readonly context: ConnectionContext;
  phase: ConnectionPhase = 'routing';
  route: StreamRouteSpec | undefined;
  plan: UpstreamPlan | undefined;
  attempts: NodeAttempts | undefined;
  /** The node being tried, then the node relaying. */
  node: UpstreamNodeSpec | undefined;
  nodeLabel: string | undefined;
  upstream: SessionSocket | undefined;
  attemptCount = 0;
  attemptStartedHr = 0;
  connectMs: number | undefined;
  status: ConnectionStatus = 200;
  reason: ProxyErrorCode | undefined;
  bytesFromClient = 0;
  bytesToClient = 0;
  clientClosed = false;
  upstreamClosed = false;
  /**
   * The FIN to this side was sent by closing the socket rather than by shutdown() (see
   * passFin): both directions ended gracefully, as with end().
   */
  clientFinByClose = false;
  upstreamFinByClose = false;
  finished = false;
  /** Set when preread started: the steps whose finish() (log phase) runs at the end. */
  prereadSteps: readonly PrereadStep[] | undefined;
  prereadSession: PrereadSession | undefined;

  constructor(
    readonly runtime: EngineRuntime,
    readonly listener: BoundListener,
    readonly client: SessionSocket,
    remoteAddress: string,
    /** The handshake SNI of a TLS client; undefined for plain TCP. */
    readonly clientSni: string | undefined,
    readonly inbound: InboundDetails | undefined,
  ) {
    this.id = runtime.registry.nextId();
    client[kSession] = this;
    client.on('error', onClientError);
    client.on('close', onClientClose);
    this.context = {
      protocol: 'tcp',
      remoteAddr: unwrapMappedAddress(remoteAddress),
      remotePort: inbound?.remotePort ?? client.remotePort ?? 0,
      // A listener bound to one address knows $server_addr already; only wildcard listeners
      // pay for getsockname().
      serverAddr: isWildcardAddress(listener.host)
        ? unwrapMappedAddress(client.localAddress ?? listener.host)
        : listener.host,
      serverPort: listener.port,
      sni: clientSni ?? runtime.state.fallbackSni,
    };
  }

  start(): void {
    const state = this.runtime.state;
    let route: StreamRouteSpec | undefined;
    try {
      route = state.table.match(this.context);
    } catch {
      route = undefined;
      this.status = 500;
      this.reason = 'ERR_INTERNAL';
    }
    this.route = route;
    this.runtime.registry.add(this);
    this.runtime.connectionOpened(this);
    if (this.reason) return this.refuse(500, 'ERR_INTERNAL');
    // APISIX: `not hit any route` → ngx.exit(1), nothing is written to the client (spec 3.3).
    if (!route) return this.refuse(503, 'ERR_NO_ROUTE');
    const plan = state.planFor(route);
    if (plan.preread.length === 0) return this.balance(plan.upstream, plan.problem);
    this.runPreread(plan, state);
  }

  private runPreread(plan: RoutePlan, state: RuntimeState): void {
    const routeUpstream = plan.upstream;
    if (!routeUpstream) return this.refuse(503, plan.problem ?? 'ERR_UPSTREAM_MISSING');
    const session: PrereadSession = {
      id: this.id,
      context: this.context,
      route: plan.route,
      upstream: routeUpstream.upstream,
      client: this.client,
    };
    this.prereadSteps = plan.preread;
    this.prereadSession = session;
    runPreread(plan.preread, session, (outcome: PrereadOutcome, error?: unknown) => {
      if (this.clientClosed) return; // closed by the engine while a step was pending
      if (error !== undefined) return this.refuse(500, 'ERR_INTERNAL');
      if (outcome) return this.refuse(outcome.status, 'ERR_PREREAD_REJECTED');
      // A step may have switched the upstream (traffic-split); plan the one it chose.
      const upstream =
        session.upstream === routeUpstream.upstream
          ? routeUpstream
          : state.planUpstream(session.upstream);
      this.balance(upstream, upstream.problem);
    });
  }

  private balance(plan: UpstreamPlan | undefined, problem: ProxyErrorCode | undefined): void {
    if (problem || !plan) return this.refuse(503, problem ?? 'ERR_UPSTREAM_MISSING');
    this.plan = plan;
    try {
      this.attempts = this.runtime.balancers.begin(plan.upstream, this.context);
    } catch {
      return this.refuse(500, 'ERR_INTERNAL');
    }
    this.phase = 'connecting';
    this.connectNext();
  }

  /**
   * One connect attempt per node the balancer hands out (spec 3.9): retries happen only here,
   * before any byte was relayed, never once relaying started.
   */
  connectNext(): void {
    const attempts = this.attempts!;
    const node = attempts.next();
    if (!node) return this.refuse(502, 'ERR_UPSTREAM_CONNECT');
    this.node = node;
    this.attemptCount++;
    this.attemptStartedHr = performance.now();
    let socket: SessionSocket;
    try {
      socket = this.runtime.connectUpstream(
        node,
        this.plan!.upstream,
        this.plan!.connectTimeoutMs,
        this.clientSni,
      );
    } catch {
      // net.connect throws synchronously on an invalid port; that node is as dead as a refusal.
      attempts.failed(node, 'error');
      return this.connectNext();
    }
    socket[kSession] = this;
    this.upstream = socket;
    this.upstreamClosed = false;
    socket.on('error', onUpstreamError);
    socket.on('close', onUpstreamClose);
    socket.on('timeout', onUpstreamTimeout);
    // 'connect' / 'secureConnect' fire once per socket: on() spares the once() wrapper.
    socket.on(readyEventOf(socket), onUpstreamReady);
  }

  attemptFailed(reason: 'refused' | 'timeout' | 'error'): void {
    const socket = this.upstream!;
    // Detach first: the dead socket's own close event must not end this session.
    this.upstream = undefined;
    socket.destroy();
    this.attempts!.failed(this.node!, reason);
    if (this.clientClosed) return this.maybeFinish();
    this.connectNext();
  }

  upstreamReady(): void {
    const upstream = this.upstream!;
    const client = this.client;
    this.connectMs = performance.now() - this.attemptStartedHr;
    this.nodeLabel = nodeLabelOf(this.node!);
    this.attempts!.connected(this.node!, this.connectMs);
    this.phase = 'relaying';
    // proxy_timeout: one idle timer is enough, because every relayed byte is either read from or
    // written to the upstream socket, and both reset its timer.
    upstream.setTimeout(this.plan!.idleTimeoutMs);
    // Reads land in engine-owned buffers where the sockets allow it (relay-buffers.ts); 'data'
    // events otherwise (TLS, a client read before routing, a connector's own socket type).
    if (!readIntoRelayBuffers(client, onClientRead)) client.on('data', onClientData);
    client.on('end', onClientEnd);
    client.on('drain', onClientDrain);
    if (!readIntoRelayBuffers(upstream, onUpstreamRead)) upstream.on('data', onUpstreamData);
    upstream.on('end', onUpstreamEnd);
    upstream.on('drain', onUpstreamDrain);
    client.resume();
    upstream.resume();
    // A client that was read before routing (TLS handshake, PROXY header) may have sent its FIN
    // already: Node then emits 'end' at once, paused or not (onStreamRead pushes null and calls
    // read(0)), so the listener above came too late and the FIN is passed on here.
    if (client.readableEnded) upstream.end();
  }

  /** Closes the client without writing a byte. */
  refuse(status: ConnectionStatus, reason: ProxyErrorCode): void {
    this.status = status;
    this.reason = reason;
    this.phase = 'closing';
    // A plain close(), as nginx does after ngx.exit(): the kernel sends FIN, or RST when the
    // client's bytes are still unread in the receive buffer (they are, since the socket was
    // paused from accept) — the same thing a client of APISIX sees.
    this.client.destroy();
  }

  onClientClosed(): void {
    this.clientClosed = true;
    const upstream = this.upstream;
    if (upstream && !this.upstreamClosed) {
      // A graceful end of both directions leaves the upstream to flush what it still holds;
      // anything else (error, destroy, close before relaying) takes the upstream down with it.
      const client = this.client;
      if (
        this.phase !== 'relaying' ||
        !(client.readableEnded && (client.writableFinished || this.clientFinByClose))
      ) {
        upstream.destroy();
      }
    }
    this.maybeFinish();
  }

  onUpstreamClosed(): void {
    this.upstreamClosed = true;
    const upstream = this.upstream!;
    if (
      !this.clientClosed &&
      !(upstream.readableEnded && (upstream.writableFinished || this.upstreamFinByClose))
    ) {
      this.client.destroy();
    }
    this.maybeFinish();
  }

  maybeFinish(): void {
    if (this.finished || !this.clientClosed) return;
    if (this.upstream && !this.upstreamClosed) return;
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

  abort(): void {
    if (this.finished) return;
    this.reason ??= 'ERR_CLOSED_BY_ENGINE';
    this.client.destroy();
    this.upstream?.destroy();
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
    const summary: ConnectionSummary = this.info() as ConnectionSummary;
    summary.node = this.nodeLabel;
    summary.status = this.status;
    summary.reason = this.reason;
    summary.bytesFromClient = this.bytesFromClient;
    summary.bytesToClient = this.bytesToClient;
    summary.durationMs = roundMs(performance.now() - this.startedHr);
    summary.connectMs = this.connectMs === undefined ? undefined : roundMs(this.connectMs);
    summary.attempts = this.attemptCount;
    return summary;
  }

  describe(now: number): LiveConnection {
    const row = this.info() as LiveConnection;
    const client = this.client;
    const upstream = this.upstream;
    row.node = this.nodeLabel;
    row.phase = this.phase;
    row.bytesFromClient = this.bytesFromClient;
    row.bytesToClient = this.bytesToClient;
    row.ageMs = now - this.startedAt;
    row.bufferedToUpstream = client.readableLength + (upstream ? upstream.writableLength : 0);
    row.bufferedToClient = client.writableLength + (upstream ? upstream.readableLength : 0);
    return row;
  }
}

function ignoreError(): void {}

function onClientData(this: SessionSocket, chunk: Buffer): void {
  const session = this[kSession]!;
  session.bytesFromClient += chunk.length;
  // Back-pressure: stop reading the client until the upstream drains, so at most one socket
  // high-water mark plus one read is held per direction however slow the reader is.
  if (!session.upstream!.write(chunk)) this.pause();
}

function onUpstreamData(this: SessionSocket, chunk: Buffer): void {
  const session = this[kSession]!;
  session.bytesToClient += chunk.length;
  if (!session.client.write(chunk)) this.pause();
}

function onClientRead(this: SessionSocket, nread: number, buffer: Buffer): boolean {
  const session = this[kSession]!;
  session.bytesFromClient += nread;
  return relayChunk(this, session.upstream!, nread, buffer);
}

function onUpstreamRead(this: SessionSocket, nread: number, buffer: Buffer): boolean {
  const session = this[kSession]!;
  session.bytesToClient += nread;
  return relayChunk(this, session.client, nread, buffer);
}

function onUpstreamDrain(this: SessionSocket): void {
  const session = this[kSession]!;
  if (session.upstream === this) session.client.resume();
}

function onClientDrain(this: SessionSocket): void {
  this[kSession]!.upstream?.resume();
}

// Half-close: a FIN from one side becomes a FIN to the other; the reverse direction keeps flowing
// (both sockets are allowHalfOpen), as nginx stream does.
function onClientEnd(this: SessionSocket): void {
  const session = this[kSession]!;
  const upstream = session.upstream;
  if (upstream && passFin(upstream)) session.upstreamFinByClose = true;
}

function onUpstreamEnd(this: SessionSocket): void {
  const session = this[kSession]!;
  if (session.upstream === this && passFin(session.client)) session.clientFinByClose = true;
}

/**
 * Sends FIN to `socket`: end() (shutdown), or, when its peer has ended already and nothing is
 * left to write, close() at once, which sends the same FIN after what the kernel still holds and
 * saves the shutdown call (the usual case for the second FIN of a connection). Returns true when
 * it closed the socket.
 */
function passFin(socket: SessionSocket): boolean {
  if (
    socket.readableEnded &&
    !socket.writableEnded &&
    socket.writableLength === 0 &&
    !socket.destroyed &&
    (socket as { encrypted?: boolean }).encrypted !== true
  ) {
    socket.destroy();
    return true;
  }
  socket.end();
  return false;
}

function onClientError(this: SessionSocket, error: NodeJS.ErrnoException): void {
  const upstream = this[kSession]!.upstream;
  if (!upstream || upstream.destroyed) return;
  // A reset from the client is passed on as a reset; any other failure closes the upstream.
  if (isResetError(error)) resetSocket(upstream);
  else upstream.destroy();
}

function onClientClose(this: SessionSocket): void {
  releaseRelayBuffer(this);
  this[kSession]!.onClientClosed();
}

function onUpstreamReady(this: SessionSocket): void {
  const session = this[kSession]!;
  if (session.upstream === this) session.upstreamReady();
}

function onUpstreamError(this: SessionSocket, error: NodeJS.ErrnoException): void {
  const session = this[kSession]!;
  if (session.upstream !== this) return;
  if (session.phase === 'connecting') return session.attemptFailed(classifyConnectError(error));
  if (isResetError(error)) resetSocket(session.client);
  else session.client.destroy();
}

function onUpstreamTimeout(this: SessionSocket): void {
  const session = this[kSession]!;
  if (session.upstream !== this) return;
  if (session.phase === 'connecting') return session.attemptFailed('timeout');
  // proxy_timeout expired: nothing moved either way for the idle period; close both sides.
  this.destroy();
  session.client.destroy();
}

function onUpstreamClose(this: SessionSocket): void {
  releaseRelayBuffer(this);
  const session = this[kSession]!;
  if (session.upstream === this) session.onUpstreamClosed();
}
