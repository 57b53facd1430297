import { getSystemErrorMap } from 'node:util';

/**
 * Every error the engine raises or reports carries a stable `code`; callers and tests branch on the
 * code, never on the message text.
 */
export type ProxyErrorCode =
  /** A listener could not bind its address (in use, not available, permission). */
  | 'ERR_BIND'
  /** A listener feature (tls, proxy_protocol) this engine build does not serve yet. */
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
  | 'ERR_INTERNAL';

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
