import type * as tls from 'node:tls';

/**
 * The two places where a server TLSSocket made with `new tls.TLSSocket` (rather than by
 * tls.Server) needs what tls.Server does through non-public members, in one file so a Node
 * upgrade has one place to check. Both are what lib/_tls_wrap.js itself calls in
 * onServerSocketSecure (Node 20); a test covers each.
 */
interface TlsSocketInternals {
  ssl?: { verifyError?: () => Error | null };
  _releaseControl?: () => boolean;
}

/**
 * The chain verification result OpenSSL recorded (for a resumed session, the one recorded when it
 * was established). Node verifies during the handshake but its verify callback always accepts,
 * leaving the decision to JavaScript (tls.Server reads `ssl.verifyError()`); a directly made
 * TLSSocket has no public accessor. Fails closed: without the method every certificate is refused.
 */
export function peerVerifyError(socket: tls.TLSSocket): NodeJS.ErrnoException | null {
  const handle = (socket as unknown as TlsSocketInternals).ssl;
  if (typeof handle?.verifyError !== 'function') {
    return Object.assign(new Error('cannot read the verification result'), {
      code: 'ERR_INTERNAL',
    });
  }
  return handle.verifyError() as NodeJS.ErrnoException | null;
}

/**
 * Until "control is released", a TLSSocket swallows TLS errors raised after the handshake (a
 * corrupt record, a fatal alert): they go to an internal listener and no 'error' is emitted, so
 * the relay would never learn that the client is gone. tls.Server releases control before
 * 'secureConnection' and tls.connect before 'secureConnect'; a server socket made directly must
 * do it itself before the session takes it over.
 */
export function releaseTlsControl(socket: tls.TLSSocket): void {
  (socket as unknown as TlsSocketInternals)._releaseControl?.();
}
