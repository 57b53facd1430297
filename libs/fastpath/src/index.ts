import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The native fast path (see ../README.md): plain TCP accept, upstream connect and relay (recv/send
 * through a pooled buffer, or splice(2) through a pooled pipe) in C, on Node's own event loop.
 * This module only loads it; `loadFastpath()` returns undefined when the addon is absent, fails to
 * load, or is switched off with `STRAIT_FASTPATH=off`, and the caller then keeps its JavaScript
 * path.
 */

/** Event types passed to the `onEvent` callback of createLoop(). */
export const FastpathEvent = {
  /**
   * (type, count): `count` events are waiting in the buffer given to useEventBuffer(), six
   * doubles each (type, id, then the event's four values); events with strings still come singly.
   */
  Batch: 0,
  /** (type, connId, listenerId, remoteAddr, remotePort, localAddr | undefined) */
  Accept: 1,
  /** (type, connId, connectMicros) */
  Connected: 2,
  /** (type, connId, reason: ConnectFailure, errno (negative, libuv style)) */
  ConnectFailed: 3,
  /** (type, connId, bytesFromClient, bytesToClient, how: CloseHow) */
  Closed: 4,
  /** (type, listenerId, errno (negative), code) — accept failed (EMFILE...), never fatal */
  ListenerError: 5,
  /**
   * TLS listeners (terminateTls): (type, connId, length, hello: Buffer) — the whole ClientHello
   * (or bytes that cannot be one), peeked and still unread. Answer with tlsAccept(), detach(), or
   * destroy().
   */
  ClientHello: 6,
  /** (type, connId, protocol version (0x0304: TLS 1.3), resumed (1 or 0)) */
  TlsEstablished: 7,
  /**
   * (type, connId, OpenSSL reason code, peer verify result (0: ok), errno, reason text) — the
   * handshake failed (the client got OpenSSL's alert); a Closed event follows.
   */
  TlsFailed: 8,
} as const;

export const ConnectFailure = { Refused: 1, Timeout: 2, Error: 3 } as const;

/** How a relayed (or never relayed) connection ended; `Closed` events carry it. */
export const CloseHow = {
  /** Both sides sent FIN. */
  Normal: 0,
  /** Nothing moved either way for the idle timeout. */
  IdleTimeout: 1,
  /** One side reset; the reset was passed on to the other. */
  Reset: 2,
  /** Another socket error; both sides were closed. */
  Error: 3,
  /** close()/destroy() was called. */
  Aborted: 4,
} as const;

/**
 * One callback for every event of a loop, numbers first: no object is built per event. The meaning
 * of `a`..`d` depends on `type` (see FastpathEvent).
 */
export type FastpathEventHandler = (
  type: number,
  id: number,
  a: number,
  b: number | string | Buffer | undefined,
  c: number | undefined,
  d: string | undefined,
) => void;

export interface ListenTcpOptions {
  /** listen(2) backlog; Node's 511 by default. */
  backlog?: number;
  /** SO_REUSEPORT: several sockets (processes) bind one port and the kernel spreads connections. */
  reusePort?: boolean;
  /** IPV6_V6ONLY for an IPv6 address. */
  ipv6Only?: boolean;
  /**
   * listenTcp only: poll a copy of this listening socket (from openTcpListenSocket, possibly in
   * another process) instead of binding; host and port then only name it in errors. Each new
   * connection wakes one of the processes waiting on the socket (EPOLLEXCLUSIVE), so a busy or
   * stuck one takes none.
   */
  fd?: number;
}

export interface BoundTcpListener {
  listenerId: number;
  port: number;
  /** The bound address as the OS spells it (`::` for `0::0`). */
  address: string;
}

export interface FastpathStats {
  connections: number;
  listeners: number;
  relay: RelayMode;
  /** Buffers (pipes in splice mode) holding bytes in flight now, and idle ones kept for reuse. */
  buffersInUse: number;
  buffersPooled: number;
  bufferSize: number;
  accepted: number;
  relayed: number;
  relayedBytes: number;
  /** Connections with a pending connect or idle deadline. */
  deadlines: number;
  /**
   * The thread's first loop sleeps on its own epoll set (which holds libuv's); any other loop of
   * the thread has its set polled by libuv.
   */
  ownsThread: boolean;
  shutDown: boolean;
}

export interface FastpathLoop {
  /**
   * Binds and listens; accepted connections arrive as Accept events, not read from until
   * connect()+relay(). Throws an Error with `code` (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...),
   * `errno` (negative), `syscall`, `address` and `port`, like Node's own bind errors.
   */
  listenTcp(host: string, port: number, options?: ListenTcpOptions): BoundTcpListener;
  /** Stops accepting on that listener; open connections continue. */
  closeListener(listenerId: number): boolean;
  /**
   * Connects an accepted connection to `host` (an IP literal; nothing is resolved) within
   * `connectTimeoutMs` (0: no limit). The outcome is a Connected or ConnectFailed event; after a
   * failure connect() may be called again. With `relayIdleMs` (>= 0) relaying starts as soon as
   * the connect succeeds, as if relay() had been called then. Returns false for an unknown or
   * closed connection, or one that already has an upstream.
   */
  connect(
    connId: number,
    host: string,
    port: number,
    connectTimeoutMs: number,
    relayIdleMs?: number,
  ): boolean;
  /** Starts relaying a connected connection both ways (idle timeout 0: none). */
  relay(connId: number, idleTimeoutMs: number): boolean;
  /**
   * Closes both sockets (a plain close(), no SO_LINGER reset) and drops bytes in flight; a Closed
   * event (how Aborted) follows. `destroy` is the same call, named for closing a client that was
   * never relayed.
   */
  close(connId: number): boolean;
  destroy(connId: number): boolean;
  /**
   * Removes a connection that is not relaying from the loop and returns its client descriptor
   * (-1 when it cannot): the caller owns it (`new net.Socket({ fd })`), nothing was read from it,
   * and no further event names the connection. An upstream being connected is closed.
   */
  detach(connId: number): number;
  /**
   * Connections this listener accepts from now on start with a TLS handshake that must be done
   * within `handshakeTimeoutMs` (else they close with CloseHow.IdleTimeout): ClientHello, then
   * TlsEstablished or TlsFailed, then connect/relay as usual with the client's records decrypted
   * and encrypted in C. Copy mode only: false in splice mode.
   */
  terminateTls(listenerId: number, handshakeTimeoutMs: number): boolean;
  /** Answers a ClientHello: the handshake goes on with `context` (createTlsContext). */
  tlsAccept(connId: number, context: TlsContext): boolean;
  /** [bytesFromClient, bytesToClient, bufferedToUpstream, bufferedToClient] */
  counters(connId: number, out: Float64Array): boolean;
  counters(connId: number): [number, number, number, number] | undefined;
  stats(): FastpathStats;
  /**
   * Delivers all-numeric events in batches: written into `buffer` (six doubles per event) and
   * announced by one Batch call, instead of one call each. False when the buffer is unusable.
   */
  useEventBuffer(buffer: Float64Array): boolean;
  /** Closes every listener and connection (no events) and releases the loop. */
  shutdown(): void;
}

/**
 * `copy`: recv/send through a buffer taken from a pool while bytes are in flight (the default:
 * on loopback it moves more per second than splice, at nginx's CPU per byte). `splice`: splice(2)
 * through a pooled pipe, so bytes never enter user space (least CPU per byte in the proxy; the
 * peers' side of loopback then works harder, see ../README.md).
 */
export type RelayMode = 'copy' | 'splice';

export interface CreateLoopOptions {
  relay?: RelayMode;
  /**
   * The most bytes in flight per relay direction: the buffer size, or the pipe capacity
   * (F_SETPIPE_SZ, best effort). 256 KiB by default; 4 KiB to 64 MiB.
   */
  bufferSize?: number;
}

/** Event types passed to the `onEvent` callback of createUdpRelay(). */
export const UdpRelayEvent = {
  /** (type, sessionId, listenerId, clientAddr, clientPort): a datagram from a new client. */
  NewSession: 1,
  /** (type, sessionId): the node answered for the first time. */
  FirstReply: 2,
  /**
   * (type, sessionId, code, retryable): the node failed (ECONNREFUSED from an ICMP unreachable…);
   * its socket is closed. `retryable`: nothing was received yet and every datagram was kept, so
   * connect() to another node replays them.
   */
  UpstreamError: 3,
  /** (type, sessionId): nothing moved either way for the idle timeout. */
  Idle: 4,
} as const;

export type UdpRelayEventHandler = (
  type: number,
  sessionId: number,
  a: number | string | undefined,
  b: string | boolean | undefined,
  c: number | undefined,
) => void;

/**
 * UDP listeners and sessions in C (udp_relay.c): a datagram of a known client goes to its node,
 * and a reply back to the client, without entering JavaScript. A session is created by the relay
 * for a new client (NewSession) and ends only when close() is called.
 */
export interface UdpRelay {
  /**
   * Binds a UDP socket (IPV6_V6ONLY as asked for an IPv6 address); throws an Error with `code`
   * (EADDRINUSE…). Returns [listenerId, port, the bound address as the OS spells it].
   */
  listen(
    host: string,
    port: number,
    reusePort: boolean,
    ipv6Only: boolean,
  ): [number, number, string];
  /**
   * Connects the session to a node (an IP literal) and sends what it kept so far; the idle
   * timeout runs from now. Returns the error code when that node cannot be used at all.
   */
  connect(sessionId: number, host: string, port: number, idleTimeoutMs: number): string | undefined;
  /** Ends the session: [bytesFromClient, bytesToClient, bytesKeptUnsent], undefined if unknown. */
  close(sessionId: number): [number, number, number] | undefined;
  counters(sessionId: number): [number, number, number] | undefined;
  /** New clients' datagrams are dropped from now on (draining). */
  stopAccepting(listenerId: number): void;
  /** Closes the socket and forgets its sessions without events (close them first). */
  closeListener(listenerId: number): void;
  /** Closes everything; the relay cannot be used afterwards. */
  shutdown(): void;
}

/** An OpenSSL server context made by createTlsContext (opaque). */
export type TlsContext = object & { readonly __tlsContext: unique symbol };

export interface TlsContextOptions {
  /** One PEM chain (leaf first) per key type, and the matching PEM keys. */
  certs: readonly string[];
  keys: readonly string[];
  /** mTLS: the PEM bundle a client certificate must chain to (one is then required). */
  clientCa?: string;
  /** OpenSSL verify depth for client certificates (1 by default). */
  verifyDepth?: number;
  /** Protocol bounds as wire versions (0x0303 TLS 1.2, 0x0304 TLS 1.3). */
  minVersion?: number;
  maxVersion?: number;
  /** SSL_OP_* flags (crypto.constants), e.g. SSL_OP_NO_TLSv1_2 for a gap in the list. */
  options?: number;
  /** OpenSSL cipher list (TLS 1.2 and below) and TLS 1.3 suites. */
  cipherList?: string;
  cipherSuites?: string;
  /** Sessions resume only into a context with the same id context (at most 32 bytes). */
  sessionIdContext?: string;
  /**
   * 80 bytes (16 name, 32 HMAC, 32 AES): contexts with the same keys, in any process, resume
   * each other's session tickets. OpenSSL's random keys per context when unset.
   */
  ticketKeys?: Buffer;
}

export interface FastpathBinding {
  createLoop(onEvent: FastpathEventHandler, options?: CreateLoopOptions): FastpathLoop;
  createUdpRelay(onEvent: UdpRelayEventHandler): UdpRelay;
  /**
   * A bound, listening TCP socket that nothing polls yet: its file descriptor, for processes
   * that share one listener (each adopts it with listenTcp's `fd`). Errors as listenTcp's.
   */
  openTcpListenSocket(host: string, port: number, options?: ListenTcpOptions): number;
  /** Builds an OpenSSL server context from PEM; throws with OpenSSL's reason. */
  createTlsContext(options: TlsContextOptions): TlsContext;
  readonly abiVersion: number;
}

export interface FastpathStatus {
  loaded: boolean;
  /** Why not, when not loaded. */
  reason?: string;
  /** Where the addon is looked for. */
  path: string;
}

/** Where node-gyp puts the addon (tools/build-native.mjs). */
export const ADDON_PATH = join(__dirname, '..', 'build', 'Release', 'strait_fastpath.node');

let loaded: { binding: FastpathBinding | undefined; reason?: string } | undefined;

/** `STRAIT_FASTPATH=off` (or 0, false, no) forces the JavaScript path. */
export function fastpathDisabledByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.STRAIT_FASTPATH?.trim().toLowerCase();
  return value === 'off' || value === '0' || value === 'false' || value === 'no';
}

/**
 * Loop options from the environment, for tuning without a config change: `STRAIT_FASTPATH=splice`
 * (or `copy`, the default) picks the relay mode, `STRAIT_FASTPATH_BUFFER` the bytes in flight per
 * direction.
 */
export function loopOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CreateLoopOptions {
  const options: CreateLoopOptions = {};
  if (env.STRAIT_FASTPATH?.trim().toLowerCase() === 'splice') options.relay = 'splice';
  const size = Number(env.STRAIT_FASTPATH_BUFFER);
  if (Number.isInteger(size) && size >= 4096) options.bufferSize = size;
  return options;
}

function tryLoad(): { binding: FastpathBinding | undefined; reason?: string } {
  if (process.platform !== 'linux') {
    return { binding: undefined, reason: `not available on ${process.platform} (Linux only)` };
  }
  if (!existsSync(ADDON_PATH)) {
    return { binding: undefined, reason: `not built (${ADDON_PATH} is missing)` };
  }
  try {
    const module = { exports: {} as Partial<FastpathBinding> };
    process.dlopen(module, ADDON_PATH);
    const binding = module.exports;
    if (typeof binding.createLoop !== 'function' || binding.abiVersion !== 4) {
      return { binding: undefined, reason: 'the addon does not match this loader (rebuild it)' };
    }
    return { binding: binding as FastpathBinding };
  } catch (error) {
    return {
      binding: undefined,
      reason: `failed to load: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/**
 * The addon, or undefined (absent, not loadable, or STRAIT_FASTPATH=off in `env`). Loaded once
 * per process.
 */
export function loadFastpath(env: NodeJS.ProcessEnv = process.env): FastpathBinding | undefined {
  if (fastpathDisabledByEnv(env)) return undefined;
  loaded ??= tryLoad();
  return loaded.binding;
}

/** Whether loadFastpath(env) gives the addon, and why not. */
export function fastpathStatus(env: NodeJS.ProcessEnv = process.env): FastpathStatus {
  if (fastpathDisabledByEnv(env)) {
    return { loaded: false, reason: 'disabled by STRAIT_FASTPATH=off', path: ADDON_PATH };
  }
  loaded ??= tryLoad();
  return loaded.binding
    ? { loaded: true, path: ADDON_PATH }
    : { loaded: false, reason: loaded.reason, path: ADDON_PATH };
}
