import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BoundListener, UpstreamNodeSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import { isWildcardAddress, unwrapMappedAddress } from './addresses';
import type { LiveConnection } from './connection-events';
import type { EngineRuntime } from './engine-runtime';
import type { UpstreamPlan } from './route-plans';
import { readIntoRelayBuffers, relayChunk, releaseRelayBuffer } from './relay-buffers';
import { TcpSessionCore, type InboundDetails } from './tcp-session-core';
import {
  classifyConnectError,
  isResetError,
  readyEventOf,
  resetSocket,
} from './upstream-connector';

export type { InboundDetails } from './tcp-session-core';

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
  const context: ConnectionContext = {
    protocol: 'tcp',
    remoteAddr: unwrapMappedAddress(remoteAddress),
    remotePort: inbound?.remotePort ?? client.remotePort ?? 0,
    // A listener bound to one address knows $server_addr already; only wildcard listeners
    // pay for getsockname().
    serverAddr: isWildcardAddress(listener.host)
      ? unwrapMappedAddress(client.localAddress ?? listener.host)
      : listener.host,
    serverPort: listener.port,
    sni: sni ?? runtime.state.fallbackSni,
  };
  new TcpSession(runtime, listener, client as SessionSocket, context, sni, inbound).start();
}

/**
 * Carries on, over net.Socket, a connection another transport accepted, registered and routed
 * (the native fast path, when preread chose an upstream only JavaScript can reach): balancing
 * starts over `upstream` with the same id, route and preread state. `client` must be unread.
 */
export function continueTcpSession(
  from: TcpSessionCore,
  client: net.Socket,
  upstream: UpstreamPlan,
): void {
  const session = new TcpSession(
    from.runtime,
    from.listener,
    client as SessionSocket,
    from.context,
    undefined,
    from.inbound,
  );
  session.continueAt(from, upstream);
}

/** The net.Socket transport of a TCP connection (TcpSessionCore holds the decisions). */
class TcpSession extends TcpSessionCore {
  upstream: SessionSocket | undefined;
  upstreamClosed = false;
  /** performance.now() when the current connect attempt started (the native path times in C). */
  attemptStartedHr = 0;
  /**
   * The FIN to this side was sent by closing the socket rather than by shutdown() (see
   * passFin): both directions ended gracefully, as with end().
   */
  clientFinByClose = false;
  upstreamFinByClose = false;

  constructor(
    runtime: EngineRuntime,
    listener: BoundListener,
    readonly client: SessionSocket,
    context: ConnectionContext,
    /** The handshake SNI of a TLS client; undefined for plain TCP. */
    readonly clientSni: string | undefined,
    inbound: InboundDetails | undefined,
  ) {
    super(runtime, listener, context, inbound);
    client[kSession] = this;
    client.on('error', onClientError);
    client.on('close', onClientClose);
  }

  continueAt(from: TcpSessionCore, upstream: UpstreamPlan): void {
    this.continueFrom(from);
    // Same id: the registry entry (and its place in the listing) now points here.
    this.runtime.registry.add(this);
    this.balance(upstream, upstream.problem);
  }

  protected closeClient(): void {
    this.client.destroy();
  }

  protected prereadClient(): net.Socket {
    return this.client;
  }

  openUpstream(node: UpstreamNodeSpec): void {
    let socket: SessionSocket;
    this.attemptStartedHr = performance.now();
    try {
      socket = this.runtime.connectUpstream(
        node,
        this.plan!.upstream,
        this.plan!.connectTimeoutMs,
        this.clientSni,
      );
    } catch {
      // net.connect throws synchronously on an invalid port; that node is as dead as a refusal.
      return this.connectFailed('error');
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
    this.connectFailed(reason);
  }

  upstreamReady(): void {
    const upstream = this.upstream!;
    const client = this.client;
    this.upstreamConnected(performance.now() - this.attemptStartedHr);
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
    this.finish();
  }

  abort(): void {
    if (this.finished) return;
    this.reason ??= 'ERR_CLOSED_BY_ENGINE';
    this.client.destroy();
    this.upstream?.destroy();
  }

  protected describeTransport(row: LiveConnection): void {
    const client = this.client;
    const upstream = this.upstream;
    row.bufferedToUpstream = client.readableLength + (upstream ? upstream.writableLength : 0);
    row.bufferedToClient = client.writableLength + (upstream ? upstream.readableLength : 0);
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
