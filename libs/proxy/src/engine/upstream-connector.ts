import * as net from 'node:net';
import * as tls from 'node:tls';
import type { UpstreamNodeSpec, UpstreamSpec } from '../config';

/**
 * Opens the socket toward one node. The returned socket must carry the connect timeout (its
 * 'timeout' event before it is ready counts as a connect timeout) and emit 'connect' (plain TCP)
 * or 'secureConnect' (a TLSSocket, `encrypted === true`) once it can carry payload.
 *
 * Replaceable so PROXY protocol to upstream can be added as another connector, and so tests can
 * observe or simulate connects. `clientSni` is the SNI of a TLS client, undefined for plain TCP.
 */
export type UpstreamConnector = (
  node: UpstreamNodeSpec,
  upstream: UpstreamSpec,
  connectTimeoutMs: number,
  clientSni: string | undefined,
) => net.Socket;

export const connectPlainTcp: UpstreamConnector = (node, _upstream, connectTimeoutMs) =>
  net.connect({
    host: node.host,
    port: node.port,
    // Half-close is relayed, not collapsed: the upstream may keep sending after the client's FIN.
    allowHalfOpen: true,
    // Stream proxies forward small writes as they come (nginx sets TCP_NODELAY on both sides).
    noDelay: true,
    timeout: connectTimeoutMs,
  });

/**
 * Upstream scheme `tls` (spec 3.7): the SNI sent is the client's when it spoke TLS, else the
 * literal `apisix_backend`; the certificate is not verified unless `tls.verify` asks for it
 * (nginx proxy_ssl_verify is off by default); `clientCert`/`clientKey` give upstream mTLS. A
 * failed handshake is a failed connect, so the next node is tried, as nginx does.
 */
export const connectTls: UpstreamConnector = (node, upstream, connectTimeoutMs, clientSni) => {
  const spec = upstream.tls;
  // tls.connect hands allowHalfOpen to the TLSSocket at run time; @types/node omits it.
  const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
    host: node.host,
    port: node.port,
    servername: clientSni ?? UPSTREAM_DEFAULT_SNI,
    rejectUnauthorized: spec?.verify === true,
    ca: spec?.ca,
    cert: spec?.clientCert,
    key: spec?.clientKey,
    allowHalfOpen: true,
    timeout: connectTimeoutMs,
  };
  const socket = tls.connect(options);
  socket.setNoDelay(true);
  return socket;
};

/** APISIX's `proxy_ssl_name` default when the client sent no SNI (spec 3.1). */
export const UPSTREAM_DEFAULT_SNI = 'apisix_backend';

/** UDP never reaches here; scheme `tls` gets a TLS connection, anything else plain TCP. */
export const connectByScheme: UpstreamConnector = (node, upstream, connectTimeoutMs, clientSni) =>
  upstream.scheme === 'tls'
    ? connectTls(node, upstream, connectTimeoutMs, clientSni)
    : connectPlainTcp(node, upstream, connectTimeoutMs, clientSni);

/** The event after which the socket can carry payload. */
export function readyEventOf(socket: net.Socket): 'connect' | 'secureConnect' {
  return (socket as tls.TLSSocket).encrypted === true ? 'secureConnect' : 'connect';
}

/** Connect failures as the balancer vocabulary sees them. */
export function classifyConnectError(
  error: NodeJS.ErrnoException,
): 'refused' | 'timeout' | 'error' {
  if (error.code === 'ECONNREFUSED') return 'refused';
  if (error.code === 'ETIMEDOUT') return 'timeout';
  return 'error';
}

/** A peer's RST shows up as ECONNRESET on read and as EPIPE or ECONNRESET on write. */
export function isResetError(error: NodeJS.ErrnoException | undefined): boolean {
  return error?.code === 'ECONNRESET' || error?.code === 'EPIPE';
}

/**
 * Passes a reset on: resetAndDestroy() closes with SO_LINGER 0 so the peer sees RST, as it would
 * through nginx when the other side reset. Only plain TCP handles can do that (a TLSWrap handle
 * throws ERR_INVALID_HANDLE_TYPE), so TLS sockets are just destroyed.
 */
export function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if ((socket as tls.TLSSocket).encrypted === true) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
