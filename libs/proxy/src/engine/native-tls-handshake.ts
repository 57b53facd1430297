import { CloseHow } from '@strait/fastpath';
import type { ConnectionContext } from '../routing/types';
import { scanClientHello } from '../tls/client-hello';
import { protocolName } from '../tls/native-context-options';
import { normaliseServerName } from '../tls/server-name';
import { verifyErrorName } from '../tls/verify-errors';
import { ProxyError, type ProxyErrorCode } from './errors';
import type { PendingHandshakeEntry } from './handshake-front';
import type { NativeListenerRecord, NativeTcpFront } from './native-tcp-front';
import { matchRoute } from './session-start';

/** OpenSSL's SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: mTLS and the client sent none. */
const PEER_DID_NOT_RETURN_A_CERTIFICATE = 199;
/** X509_V_ERR_CERT_CHAIN_TOO_LONG: the chain is longer than the object's client.depth. */
const CERT_CHAIN_TOO_LONG = 22;

type Stage = 'client_hello' | 'tls' | 'done';

/**
 * A connection on a `tls` listener of the fast path, from accept until routing. The addon waits
 * for the whole ClientHello and hands over its bytes, still unread in the socket; from them this
 * object decides, as handshake-front.ts does for the JavaScript path, which certificate object
 * serves the name (HandshakeFront.selectCertificate, the same code), and then either
 *
 * - lets the addon run the handshake with that object's OpenSSL context (tlsAccept), after which
 *   the connection is an ordinary NativeTcpSession whose client side the addon decrypts and
 *   encrypts in C; or
 * - detaches the socket and hands it to the JavaScript path from the start, which reads the same
 *   ClientHello again: for every refusal (no SNI, no certificate, a hello that does not parse:
 *   that path writes the alert), for a route the fast path cannot serve (its steps read the
 *   client, its upstream speaks TLS), and for a context OpenSSL would not build here.
 *
 * Counting and `handshake:error` events go through the engine's HandshakeFront, so both paths
 * report the same codes; pending handshakes of both are aborted together on a forced close.
 */
export class NativeTlsHandshake implements PendingHandshakeEntry {
  slot = -1;
  stage: Stage = 'client_hello';
  /** What the ClientHello said (normalised); fallback_sni is not in here. */
  clientServerName: string | undefined;
  sni: string | undefined;
  certificateId: string | undefined;
  /** mTLS: the selected object's client.depth (for the refusal's words). */
  clientDepth: number | undefined;

  constructor(
    readonly front: NativeTcpFront,
    readonly record: NativeListenerRecord,
    readonly connId: number,
    readonly context: ConnectionContext,
  ) {}

  /** FastpathEvent.ClientHello: the whole hello (or bytes that are not one). */
  hello(bytes: Buffer): void {
    if (this.stage !== 'client_hello') return;
    const scan = scanClientHello(bytes);
    if (scan.kind !== 'complete') return this.front.handHandshakeOver(this);
    const serverName =
      scan.serverName === undefined ? undefined : normaliseServerName(scan.serverName);
    const choice = this.front.handshakes.selectCertificate(serverName);
    if (!choice.ok || !this.routeStaysNative(choice.sni)) {
      return this.front.handHandshakeOver(this);
    }
    const native = this.front.nativeTlsContext(choice.context);
    if (native === undefined) return this.front.handHandshakeOver(this);
    this.clientServerName = serverName;
    this.sni = choice.sni;
    this.certificateId = choice.certificateId;
    this.clientDepth = choice.context.clientAuthority?.depth;
    this.stage = 'tls';
    // False when the connection is gone already (handHandshakeOver then only releases it) or
    // OpenSSL could not make a session for it (the JavaScript path then tries).
    if (!this.front.loop.tlsAccept(this.connId, native)) this.front.handHandshakeOver(this);
  }

  /**
   * Whether the route this connection will take (as far as the hello tells) can be served with
   * the TLS session in the addon, which cannot move to JavaScript afterwards.
   */
  private routeStaysNative(sni: string | undefined): boolean {
    const state = this.front.runtime.state;
    const route = matchRoute(state, { ...this.context, sni });
    const plan = route ? state.planFor(route) : undefined;
    return plan === undefined || !this.front.needsJavaScriptBehindTls(plan);
  }

  /** FastpathEvent.TlsEstablished: routing starts (NativeTcpSession). */
  established(wireVersion: number, resumed: boolean): void {
    if (this.stage !== 'tls') return;
    this.leave();
    this.front.handshakes.countCompleted(resumed);
    this.front.startTlsSession(this, {
      certificateId: this.certificateId!,
      protocol: protocolName(wireVersion),
      resumed,
    });
  }

  /** FastpathEvent.TlsFailed: OpenSSL refused the handshake (the client got its alert). */
  failed(reason: number, verifyResult: number, text: string): void {
    if (reason === PEER_DID_NOT_RETURN_A_CERTIFICATE) {
      return this.fail('ERR_TLS_CLIENT_CERT_MISSING', 'client certificate was not present');
    }
    if (verifyResult !== 0) {
      // The same words as the JavaScript path, which checks the depth itself.
      const why =
        verifyResult === CERT_CHAIN_TOO_LONG
          ? `chain longer than depth ${this.clientDepth}`
          : verifyErrorName(verifyResult);
      return this.fail(
        'ERR_TLS_CLIENT_CERT_REJECTED',
        `client certificate verification is not passed: ${why}`,
      );
    }
    this.fail('ERR_TLS_HANDSHAKE', `TLS handshake failed: ${text}`);
  }

  /** FastpathEvent.Closed before the handshake was done: the deadline, or the client left. */
  closed(how: number): void {
    const what = this.stage === 'client_hello' ? 'TLS ClientHello' : 'TLS handshake';
    if (how === CloseHow.IdleTimeout) {
      const limit = this.front.handshakes.options.handshakeTimeoutMs;
      return this.fail('ERR_HANDSHAKE_TIMEOUT', `${what} not completed within ${limit} ms`);
    }
    this.fail(
      'ERR_HANDSHAKE_ABORTED',
      this.stage === 'client_hello'
        ? 'client closed before the handshake completed'
        : 'client closed during the TLS handshake',
    );
  }

  /** Turns the client away (if it is still there), counts and reports. Idempotent. */
  fail(code: ProxyErrorCode, message: string): void {
    if (this.stage === 'done') return;
    this.leave();
    this.front.loop.destroy(this.connId);
    this.front.forgetHandshake(this);
    const handshakes = this.front.handshakes;
    handshakes.countFailure(code);
    if (!handshakes.options.wantsErrorEvents()) return;
    handshakes.options.onError({
      listenerId: this.record.bound.id,
      remoteAddr: this.context.remoteAddr,
      remotePort: this.context.remotePort,
      sni: this.sni,
      certificateId: this.certificateId,
      error: new ProxyError(code, message),
    });
  }

  /** No longer pending: routed, handed over or failed. */
  leave(): void {
    this.stage = 'done';
    this.front.handshakes.pending.delete(this);
  }
}
