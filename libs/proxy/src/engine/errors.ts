import { getSystemErrorMap } from 'node:util';

/**
 * Every error the engine raises or reports carries a stable `code`; callers and tests branch on the
 * code, never on the message text.
 */
export type ProxyErrorCode =
  /** A listener could not bind its address (in use, not available, permission). */
  | 'ERR_BIND'
  /** A listener feature this engine cannot serve (tls or proxy_protocol on a UDP listener). */
  | 'ERR_UNSUPPORTED_LISTENER'
  /** listen()/apply() after close() started. */
  | 'ERR_ENGINE_CLOSED'
  /** No stream route matched the connection; it was closed without a byte. */
  | 'ERR_NO_ROUTE'
  /** The route points at an upstream, service or upstream_id that does not exist. */
  | 'ERR_UPSTREAM_MISSING'
  /** The upstream has no nodes (APISIX logs `no valid upstream node`). */
  | 'ERR_NO_UPSTREAM_NODE'
  /** The upstream's balancer `type` is not one the engine knows (spec 3.10). */
  | 'ERR_UNKNOWN_BALANCER'
  /** Every connect attempt failed (refused, timed out or errored) or the retries ran out. */
  | 'ERR_UPSTREAM_CONNECT'
  /** A preread step (plugin) closed the connection. */
  | 'ERR_PREREAD_REJECTED'
  /** The connection was closed by the operator (closeConnection, closeConnectionsToNode, close). */
  | 'ERR_CLOSED_BY_ENGINE'
  /** A UDP session was evicted because the session table was full. */
  | 'ERR_SESSION_EVICTED'
  /** A bug or an unexpected exception inside the engine. */
  | 'ERR_INTERNAL'
  /** `fastpath: true` was asked for and the native addon is not built, not loadable or off. */
  | 'ERR_FASTPATH_UNAVAILABLE'
  // Before a connection is routed (tls and proxyProtocol listeners): reported by the
  // `handshake:error` event and counted in handshakeStats(), never as connection events.
  /** The PROXY header or the TLS handshake did not complete within handshakeTimeout. */
  | 'ERR_HANDSHAKE_TIMEOUT'
  /** The client closed or reset the connection before the handshake completed. */
  | 'ERR_HANDSHAKE_ABORTED'
  /** A malformed, unsupported or oversized PROXY protocol header (or none at all). */
  | 'ERR_PROXY_PROTOCOL'
  /** The first bytes on a TLS listener are not a TLS ClientHello (plain text, SSLv2, garbage). */
  | 'ERR_TLS_NOT_CLIENT_HELLO'
  /** No SNI in the ClientHello and no fallback_sni ("failed to find SNI", spec 3.3). */
  | 'ERR_TLS_NO_SNI'
  /** No certificate covers the SNI ("failed to match any SSL certificate by SNI", spec 3.5). */
  | 'ERR_TLS_NO_CERTIFICATE'
  /** The selected certificate object cannot be loaded (bad PEM, key not matching the cert). */
  | 'ERR_TLS_CERTIFICATE_INVALID'
  /** mTLS: the client sent no certificate ("client certificate was not present"). */
  | 'ERR_TLS_CLIENT_CERT_MISSING'
  /** mTLS: the client certificate does not chain to the CA, has expired, or the chain is too deep. */
  | 'ERR_TLS_CLIENT_CERT_REJECTED'
  /** Any other handshake failure reported by OpenSSL (no common version or cipher, bad record). */
  | 'ERR_TLS_HANDSHAKE';

export class ProxyError extends Error {
  constructor(
    readonly code: ProxyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProxyError';
  }
}

/** The OS reason for a libuv error ("address already in use"), falling back to its code. */
export function describeSystemError(error: unknown): string {
  const errno = (error as NodeJS.ErrnoException | undefined)?.errno;
  if (typeof errno === 'number') {
    // getSystemErrorMap is keyed by libuv's negative errno and holds strerror-like text.
    const entry = systemErrorMap().get(errno);
    if (entry) return entry[1];
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}

let cachedErrorMap: Map<number, [string, string]> | undefined;
function systemErrorMap(): Map<number, [string, string]> {
  cachedErrorMap ??= getSystemErrorMap();
  return cachedErrorMap;
}
