import type * as net from 'node:net';
import * as tls from 'node:tls';
import type { BoundListener } from '../config';
import type { CertificateSelection } from '../tls/certificate-index';
import type { CertificateContext } from '../tls/certificate-contexts';
import { chainLongerThanDepth } from '../tls/client-certificate-chain';
import { MAX_CLIENT_HELLO_LENGTH, scanClientHello } from '../tls/client-hello';
import { normaliseServerName } from '../tls/server-name';
import { peerVerifyError, releaseTlsControl } from '../tls/tls-socket-internals';
import {
  HANDSHAKE_FAILURE_ALERT,
  INTERNAL_ERROR_ALERT,
  UNRECOGNIZED_NAME_ALERT,
} from '../tls/tls-alerts';
import { TlsTermination } from '../tls/tls-termination';
import { unwrapMappedAddress } from './addresses';
import type { HandshakeErrorEvent, HandshakeStats, ProxyProtocolInfo } from './connection-events';
import type { EngineRuntime } from './engine-runtime';
import { ProxyError, type ProxyErrorCode } from './errors';
import { scanProxyHeader, type ProxiedAddresses } from './proxy-protocol';
import { SlotSet, type Slotted } from './slot-set';
import { handleTcpConnection, type InboundDetails } from './tcp-session';

/**
 * Everything between accept() and routing on `tls` and `proxyProtocol` listeners:
 *
 *   accept (paused) → PROXY header? → ClientHello? → certificate by SNI → TLS handshake
 *     → client-certificate checks → handleTcpConnection(…, sni, details)
 *
 * One deadline (handshakeTimeout) covers all of it, from accept to routing: a client that trickles
 * a byte at a time cannot stretch it the way an idle timeout could be stretched.
 *
 * Why not tls.Server + SNICallback: Node applies an SNICallback context by copying only its
 * *current* certificate and key into the connection (TLSWrap::CertCbDone → UseSNIContext), so an
 * object with RSA and ECDSA pairs offers just the last one (an RSA-only client then fails with
 * handshake_failure), and the context's min/max version are ignored (the version is already
 * negotiated when the callback runs); requestCert is per server, not per certificate. APISIX
 * decides all three in ssl_client_hello_by_lua, before OpenSSL looks at the hello. The same here:
 * the ClientHello is read from the raw socket, the certificate object selected, and a TLSSocket is
 * created over the socket with that object's whole SecureContext and client-certificate options,
 * the bytes already read handed back first (`unshift`; TLSSocket feeds a wrapped socket's buffered
 * data to OpenSSL before reading the handle). It is also no slower: tls.Server creates the same
 * TLSSocket per connection, and the hello scan replaces its asynchronous SNI round trip.
 *
 * A refusal before OpenSSL is involved (no SNI, unknown name) writes a fatal alert record so the
 * client gets a reason, then closes. Nothing here reaches an upstream: connections enter the
 * route/connect path only after every check passed.
 */

export interface HandshakeFrontOptions {
  handshakeTimeoutMs: number;
  /**
   * Whether a PROXY header from this TCP peer may replace the remote address (realIpFrom);
   * undefined: every peer is believed.
   */
  believesProxyHeaderFrom?(peerAddr: string): boolean;
  /** Called for every failure (counted here); the engine turns it into `handshake:error`. */
  onError(event: HandshakeErrorEvent): void;
  /** Whether anyone listens, so failure payloads are built only when they will be read. */
  wantsErrorEvents(): boolean;
}

/**
 * What may be buffered while waiting for the ClientHello: the message (bounded by
 * MAX_CLIENT_HELLO_LENGTH) plus its record headers, even when cut into tiny records.
 */
const MAX_HELLO_BUFFER = MAX_CLIENT_HELLO_LENGTH * 2;

const kHandshake = Symbol('strait.handshake');
type FrontSocket = net.Socket & { [kHandshake]?: PendingHandshake };

type Stage = 'proxy_protocol' | 'client_hello' | 'tls' | 'done';

export class HandshakeFront {
  /** Swapped by apply(); read once per ClientHello. */
  termination: TlsTermination = TlsTermination.empty;
  readonly stats: Omit<HandshakeStats, 'pending'> = { completed: 0, resumed: 0, failed: {} };
  /** Handshakes in flight, so close({ force }) can cut them too (a SlotSet: no Set churn). */
  readonly pending = new SlotSet<PendingHandshakeEntry>();

  constructor(
    readonly runtime: EngineRuntime,
    readonly options: HandshakeFrontOptions,
  ) {}

  /** Takes over a paused socket accepted on a tls and/or proxyProtocol listener. */
  accept(listener: BoundListener, raw: net.Socket): void {
    const handshake = new PendingHandshake(this, listener, raw as FrontSocket);
    this.pending.add(handshake);
    handshake.start();
  }

  abortAll(): void {
    for (const handshake of this.pending.values()) {
      handshake.fail('ERR_HANDSHAKE_ABORTED', 'closed by the engine');
    }
  }

  /**
   * spec 3.3 step 1: the client's SNI (normalised) or else fallback_sni, then the certificate
   * object (spec 3.5) and its context; or why the handshake must be refused, with the alert.
   */
  selectCertificate(serverName: string | undefined): CertificateChoice {
    const sni = serverName ?? this.runtime.state.fallbackSni;
    const termination = this.termination;
    const selection: CertificateSelection = termination.select(sni);
    if (!selection.ok) {
      if (selection.reason === 'no_sni') {
        return refusal(
          sni,
          undefined,
          'ERR_TLS_NO_SNI',
          'failed to find SNI',
          HANDSHAKE_FAILURE_ALERT,
        );
      }
      const detail =
        selection.reason === 'wildcard_too_deep'
          ? ` (${selection.matchedName} covers one label only)`
          : '';
      return refusal(
        sni,
        undefined,
        'ERR_TLS_NO_CERTIFICATE',
        `failed to match any SSL certificate by SNI: ${sni}${detail}`,
        UNRECOGNIZED_NAME_ALERT,
      );
    }
    const certificateId = selection.certificate.id;
    const context = termination.contextFor(selection.certificate);
    if (!context || context.error) {
      return refusal(
        sni,
        certificateId,
        'ERR_TLS_CERTIFICATE_INVALID',
        context?.error?.message ?? 'no context for the selected certificate',
        INTERNAL_ERROR_ALERT,
        context?.error,
      );
    }
    return { ok: true, sni, certificateId, context };
  }

  /** A failure of any tls/proxyProtocol handshake, counted by code. */
  countFailure(code: ProxyErrorCode): void {
    this.stats.failed[code] = (this.stats.failed[code] ?? 0) + 1;
  }

  /** A handshake that reached routing. */
  countCompleted(resumed: boolean): void {
    this.stats.completed++;
    if (resumed) this.stats.resumed++;
  }
}

/** What a ClientHello selects (HandshakeFront.selectCertificate). */
export type CertificateChoice =
  | {
      readonly ok: true;
      /** What the certificate was selected by: the client's SNI, else fallback_sni. */
      readonly sni: string | undefined;
      readonly certificateId: string;
      readonly context: CertificateContext;
    }
  | {
      readonly ok: false;
      readonly sni: string | undefined;
      readonly certificateId: string | undefined;
      readonly code: ProxyErrorCode;
      readonly message: string;
      readonly cause?: unknown;
      /** The fatal alert record the client gets before the close. */
      readonly alert: Buffer;
    };

function refusal(
  sni: string | undefined,
  certificateId: string | undefined,
  code: ProxyErrorCode,
  message: string,
  alert: Buffer,
  cause?: unknown,
): CertificateChoice {
  return { ok: false, sni, certificateId, code, message, alert, cause };
}

/** What HandshakeFront.pending holds: handshakes of the JavaScript path and of the fast path. */
export interface PendingHandshakeEntry extends Slotted {
  fail(code: ProxyErrorCode, message: string): void;
}

/** Fields are public because the module-level socket handlers below use them. */
class PendingHandshake implements PendingHandshakeEntry {
  /** Place in HandshakeFront.pending. */
  slot = -1;
  stage: Stage;
  timer: NodeJS.Timeout | undefined;
  /** Bytes read but not yet consumed by the current stage (only when a stage needs more). */
  buffered: Buffer[] | undefined;
  bufferedLength = 0;
  /** The ClientHello scan cannot end before this many bytes are buffered. */
  needed = 0;
  proxied: ProxiedAddresses | undefined;
  /** What the ClientHello said (normalised); fallback_sni is not in here. */
  clientServerName: string | undefined;
  /** What the certificate was selected by: the client's SNI, else fallback_sni. */
  sni: string | undefined;
  certificateId: string | undefined;
  context: CertificateContext | undefined;
  secure: FrontSocket | undefined;

  constructor(
    readonly front: HandshakeFront,
    readonly listener: BoundListener,
    readonly raw: FrontSocket,
  ) {
    this.stage = listener.proxyProtocol ? 'proxy_protocol' : 'client_hello';
  }

  start(): void {
    const raw = this.raw;
    raw[kHandshake] = this;
    raw.on('error', onRawError);
    raw.on('close', onRawClose);
    // Sockets are allowHalfOpen (the relay passes half-closes on), so a client that leaves
    // mid-handshake shows up as 'end' only: without these handlers it would linger until the
    // deadline (tls.Server sockets are not half-open and get 'close' instead).
    raw.on('end', onRawEnd);
    raw.on('data', onRawData);
    this.timer = setTimeout(onDeadline, this.front.options.handshakeTimeoutMs, this);
    raw.resume();
  }

  receive(chunk: Buffer): void {
    let data = chunk;
    if (this.buffered) {
      this.buffered.push(chunk);
      this.bufferedLength += chunk.length;
      // A hello arriving in small pieces is joined and scanned again only once it can be whole
      // (or its next record can): not once per piece, which would copy it over and over.
      if (this.bufferedLength < this.needed && this.bufferedLength <= MAX_HELLO_BUFFER) return;
      data = Buffer.concat(this.buffered, this.bufferedLength);
      this.buffered = undefined;
    }
    if (this.stage === 'proxy_protocol') {
      const scan = scanProxyHeader(data);
      if (scan.kind === 'incomplete') {
        this.keep(data); // scanProxyHeader bounds this (107 bytes v1, 4 KiB v2)
        return;
      }
      if (scan.kind === 'invalid') return this.fail('ERR_PROXY_PROTOCOL', scan.reason);
      this.proxied = scan.addresses;
      data = data.subarray(scan.length);
      if (!this.listener.tls) return this.handOff(this.raw, data);
      this.stage = 'client_hello';
      if (data.length === 0) return;
    }
    if (this.stage !== 'client_hello') return;
    const scan = scanClientHello(data);
    if (scan.kind === 'incomplete') {
      if (data.length > MAX_HELLO_BUFFER) {
        return this.fail('ERR_TLS_NOT_CLIENT_HELLO', 'ClientHello fragmented beyond bounds');
      }
      this.keep(data, scan.needed);
      return;
    }
    if (scan.kind === 'invalid') return this.fail('ERR_TLS_NOT_CLIENT_HELLO', scan.reason);
    const serverName =
      scan.serverName === undefined ? undefined : normaliseServerName(scan.serverName);
    this.startTls(data, serverName);
  }

  /** Buffers what a stage could not use yet; the next scan waits for `needed` bytes. */
  private keep(data: Buffer, needed = 0): void {
    this.buffered = [data];
    this.bufferedLength = data.length;
    this.needed = needed;
  }

  /** spec 3.3 step 1: SNI or fallback_sni, then the certificate object (spec 3.5). */
  private startTls(hello: Buffer, serverName: string | undefined): void {
    this.clientServerName = serverName;
    const choice = this.front.selectCertificate(serverName);
    this.sni = choice.sni;
    this.certificateId = choice.certificateId;
    if (!choice.ok) return this.fail(choice.code, choice.message, choice.cause, choice.alert);
    const context = choice.context;
    this.context = context;
    const raw = this.raw;
    raw.off('data', onRawData);
    raw.pause();
    raw.unshift(hello);
    this.stage = 'tls';
    const secure = new tls.TLSSocket(raw, context.socketOptions) as FrontSocket;
    this.secure = secure;
    secure[kHandshake] = this;
    secure.on('secure', onSecure);
    secure.on('error', onSecureError);
    secure.on('close', onSecureClose);
    secure.on('end', onSecureClose);
  }

  /** The TLS handshake finished: enforce the object's client-certificate policy, then route. */
  secured(): void {
    const secure = this.secure as tls.TLSSocket;
    const authority = this.context!.clientAuthority;
    if (authority) {
      const verifyError = peerVerifyError(secure);
      if (verifyError) {
        return this.fail(
          'ERR_TLS_CLIENT_CERT_REJECTED',
          `client certificate verification is not passed: ${verifyError.code ?? verifyError.message}`,
          verifyError,
        );
      }
      const peer = secure.getPeerX509Certificate();
      if (!peer) {
        return this.fail('ERR_TLS_CLIENT_CERT_MISSING', 'client certificate was not present');
      }
      if (chainLongerThanDepth(peer, authority.trusted, authority.depth)) {
        return this.fail(
          'ERR_TLS_CLIENT_CERT_REJECTED',
          `client certificate verification is not passed: chain longer than depth ${authority.depth}`,
        );
      }
    }
    // 'secure' fires inside OpenSSL's read, before TLSWrap writes the server's last handshake
    // flight (TLS 1.2 Finished, TLS 1.3 tickets), and a nextTick still runs before that write. A
    // session that closes at once (no route, a plugin refusing) would drop the flight and the
    // client would see a reset mid-handshake instead of a completed handshake and a close, as
    // APISIX gives; so routing starts on the next turn of the event loop.
    secure.pause();
    // From here a FIN is the client half-closing after the handshake (say, a request and then
    // end()), which the session relays; only 'close' or 'error' in the gap is an abort.
    secure.off('end', onSecureClose);
    setImmediate(routeSecured, this);
  }

  /** Second half of secured(), one tick later; the client may have left in between. */
  routeSecured(): void {
    if (this.stage !== 'tls') return;
    const secure = this.secure as tls.TLSSocket;
    secure.off('secure', onSecure);
    secure.off('error', onSecureError);
    secure.off('close', onSecureClose);
    releaseTlsControl(secure);
    const resumed = secure.isSessionReused();
    this.handOff(secure, undefined, resumed, {
      certificateId: this.certificateId!,
      protocol: secure.getProtocol(),
      resumed,
    });
  }

  /** Hands the socket (paused, unread bytes back in its buffer) to the TCP session. */
  private handOff(
    socket: FrontSocket,
    unread: Buffer | undefined,
    resumed = false,
    tlsInfo?: InboundDetails['tls'],
  ): void {
    this.finish();
    const raw = this.raw;
    raw.off('data', onRawData);
    raw.off('close', onRawClose);
    raw.off('end', onRawEnd);
    // The error handler stays: a TLS-wrapped raw socket may still report its own errors.
    raw.pause();
    if (unread && unread.length > 0) raw.unshift(unread);
    socket.pause();
    this.front.countCompleted(resumed);
    // The session routes on `sni ?? fallback_sni` and sends the client's own SNI upstream
    // (spec 3.7: `apisix_backend` when it sent none), so only the client's name is passed.
    handleTcpConnection(
      this.front.runtime,
      this.listener,
      socket,
      this.clientServerName,
      this.inboundDetails(tlsInfo),
    );
  }

  private inboundDetails(tlsInfo: InboundDetails['tls']): InboundDetails | undefined {
    const proxied = this.proxied;
    if (!proxied) return tlsInfo ? { tls: tlsInfo } : undefined;
    const peerAddr = unwrapMappedAddress(this.raw.remoteAddress ?? '');
    const proxyProtocol: ProxyProtocolInfo = {
      peerAddr,
      peerPort: this.raw.remotePort ?? 0,
      sourceAddr: proxied.sourceAddr,
      sourcePort: proxied.sourcePort,
      destinationAddr: proxied.destinationAddr,
      destinationPort: proxied.destinationPort,
    };
    // nginx realip: only a trusted peer's header changes $remote_addr.
    const believed = this.front.options.believesProxyHeaderFrom?.(peerAddr) ?? true;
    return believed
      ? {
          remoteAddr: proxied.sourceAddr,
          remotePort: proxied.sourcePort,
          proxyProtocol,
          tls: tlsInfo,
        }
      : { proxyProtocol, tls: tlsInfo };
  }

  private finish(): void {
    this.stage = 'done';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.buffered = undefined;
    this.front.pending.delete(this);
  }

  /** Turns the client away (alert first when given), counts and reports. Idempotent. */
  fail(code: ProxyErrorCode, message: string, cause?: unknown, alert?: Buffer): void {
    if (this.stage === 'done') return;
    const stage = this.stage;
    this.finish();
    this.front.countFailure(code);
    const raw = this.raw;
    raw.off('data', onRawData);
    // getpeername fails once the socket is destroyed, so the address is read first (and only
    // when someone listens).
    const options = this.front.options;
    const wanted = options.wantsErrorEvents();
    const peerAddr = wanted ? unwrapOptional(raw.remoteAddress) : undefined;
    const proxied =
      this.proxied && (options.believesProxyHeaderFrom?.(peerAddr ?? '') ?? true)
        ? this.proxied
        : undefined;
    const remoteAddr = wanted ? (proxied?.sourceAddr ?? peerAddr) : undefined;
    const remotePort = wanted ? (proxied?.sourcePort ?? raw.remotePort) : undefined;
    if (this.secure) {
      this.secure.destroy();
    } else if (alert && stage === 'client_hello' && raw.writable) {
      // The whole ClientHello was read, so closing leaves nothing unread: the client sees the
      // alert, then FIN (not a reset that could discard the alert).
      raw.end(alert, () => raw.destroy());
    } else {
      raw.destroy();
    }
    if (!wanted) return;
    options.onError({
      listenerId: this.listener.id,
      remoteAddr,
      remotePort,
      sni: this.sni,
      certificateId: this.certificateId,
      error: new ProxyError(code, message, cause === undefined ? undefined : { cause }),
    });
  }

  /** Node's TLS errors mapped onto the engine's codes. */
  tlsFailed(error: NodeJS.ErrnoException): void {
    const code = error.code;
    if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') {
      return this.fail('ERR_TLS_CLIENT_CERT_MISSING', 'client certificate was not present', error);
    }
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      return this.fail('ERR_HANDSHAKE_ABORTED', 'client reset during the TLS handshake', error);
    }
    this.fail('ERR_TLS_HANDSHAKE', `TLS handshake failed: ${code ?? error.message}`, error);
  }
}

function unwrapOptional(address: string | undefined): string | undefined {
  return address === undefined ? undefined : unwrapMappedAddress(address);
}

function onRawData(this: FrontSocket, chunk: Buffer): void {
  this[kHandshake]?.receive(chunk);
}

function onRawError(this: FrontSocket, error: NodeJS.ErrnoException): void {
  const handshake = this[kHandshake];
  if (!handshake || handshake.stage === 'tls') return; // the TLS socket reports it
  handshake.fail(
    'ERR_HANDSHAKE_ABORTED',
    `client failed before the handshake: ${error.code}`,
    error,
  );
}

function onRawClose(this: FrontSocket): void {
  const handshake = this[kHandshake];
  if (!handshake || handshake.stage === 'tls') return;
  handshake.fail('ERR_HANDSHAKE_ABORTED', 'client closed before the handshake completed');
}

function onRawEnd(this: FrontSocket): void {
  const handshake = this[kHandshake];
  if (!handshake || handshake.stage === 'tls') return;
  handshake.fail('ERR_HANDSHAKE_ABORTED', 'client ended before the handshake completed');
}

function onDeadline(handshake: PendingHandshake): void {
  const what =
    handshake.stage === 'proxy_protocol'
      ? 'PROXY protocol header'
      : handshake.stage === 'client_hello'
        ? 'TLS ClientHello'
        : 'TLS handshake';
  handshake.fail(
    'ERR_HANDSHAKE_TIMEOUT',
    `${what} not completed within ${handshake.front.options.handshakeTimeoutMs} ms`,
  );
}

function onSecure(this: FrontSocket): void {
  this[kHandshake]?.secured();
}

function routeSecured(handshake: PendingHandshake): void {
  handshake.routeSecured();
}

function onSecureError(this: FrontSocket, error: NodeJS.ErrnoException): void {
  this[kHandshake]?.tlsFailed(error);
}

function onSecureClose(this: FrontSocket): void {
  this[kHandshake]?.fail('ERR_HANDSHAKE_ABORTED', 'client closed during the TLS handshake');
}
