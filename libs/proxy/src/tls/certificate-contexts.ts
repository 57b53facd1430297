import type { TlsContextOptions } from '@strait/fastpath';
import { createHash, hkdfSync, randomBytes, type X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import type { CertificateSpec } from '../config';
import { ProxyError } from '../engine/errors';
import { parseCertificateBundle } from './client-certificate-chain';
import { nativeContextOptions } from './native-context-options';
import { protocolVersionOptions } from './protocol-versions';

/** APISIX `client.depth` default (spec 2.4). */
const DEFAULT_CLIENT_DEPTH = 1;

/** Everything a handshake for one certificate object needs, built once per distinct content. */
export interface CertificateContext {
  /** Set when the object could not be loaded; handshakes that select it fail. */
  readonly error?: ProxyError;
  /**
   * Handed to `new tls.TLSSocket` as is (it copies the object): the SecureContext with every
   * cert/key pair and the version bounds, and the client-certificate policy of this object.
   */
  readonly socketOptions: tls.TLSSocketOptions;
  /** mTLS: the trusted bundle and the verify depth checked after the handshake. */
  readonly clientAuthority?: {
    readonly trusted: readonly X509Certificate[];
    readonly depth: number;
  };
  /**
   * The same context for the fast path's OpenSSL (TLS listeners on the native loop), built by
   * the loop when a handshake first selects this object.
   */
  readonly native?: TlsContextOptions;
}

export interface CertificateContextOptions {
  /** OpenSSL cipher string for every context (apisix.ssl.ssl_ciphers); Node's default when unset. */
  ciphers?: string;
  /** See ProxyEngineOptions.sessionTicketSecret; random when unset. */
  sessionTicketSecret?: string;
}

/** Ticket keys for both TLS implementations, derived from one secret. */
function ticketKeysFrom(secret: string | undefined): { node: Buffer; openssl: Buffer } {
  const material = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'base64');
  if (material.length < 32) throw new Error('sessionTicketSecret must hold at least 32 bytes');
  const derive = (label: string, length: number): Buffer =>
    Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), label, length));
  // Node's format: 16 bytes of name, 16 HMAC, 16 AES; OpenSSL's own: 16 name, 32 HMAC, 32 AES.
  return { node: derive('strait node tickets', 48), openssl: derive('strait openssl tickets', 80) };
}

/**
 * Builds SecureContexts at apply() time and keeps them across applies while an object's content
 * is unchanged. The control plane maps fresh CertificateSpec objects on every change, so reuse is
 * by content (pairs, CA, depth, protocols), not by identity; parsing keys is the expensive part
 * (an RSA key costs about a millisecond) and a config with thousands of certificates must not
 * pay it again for one edit.
 *
 * Contexts that drop out are only unreferenced: TLS connections that were established with them
 * keep their SSL object (OpenSSL reference-counts the SSL_CTX), so replacing or deleting a
 * certificate never disturbs open connections.
 */
export class CertificateContexts {
  private byContent = new Map<string, CertificateContext>();
  private readonly contentKeys = new WeakMap<CertificateSpec, string>();
  /**
   * One session-ticket key set for every context of the engine, so resumption does not depend on
   * which context object issued the ticket (a context rebuilt for identical content still accepts
   * its tickets). Per-object isolation comes from sessionIdContext below.
   */
  private readonly ticketKeys: { node: Buffer; openssl: Buffer };

  constructor(private readonly options: CertificateContextOptions = {}) {
    this.ticketKeys = ticketKeysFrom(options.sessionTicketSecret);
  }

  /** Contexts for `certificates`; entries of the previous build not used again are dropped. */
  build(certificates: readonly CertificateSpec[]): Map<CertificateSpec, CertificateContext> {
    const previous = this.byContent;
    const next = new Map<string, CertificateContext>();
    const result = new Map<CertificateSpec, CertificateContext>();
    for (const certificate of certificates) {
      const key = this.contentKey(certificate);
      let context = next.get(key) ?? previous.get(key);
      if (!context) context = this.create(certificate, key);
      next.set(key, context);
      result.set(certificate, context);
    }
    this.byContent = next;
    return result;
  }

  private contentKey(certificate: CertificateSpec): string {
    let key = this.contentKeys.get(certificate);
    if (key === undefined) {
      key = createHash('sha256')
        .update(
          JSON.stringify([
            certificate.pairs,
            certificate.clientCa ?? null,
            certificate.clientDepth ?? null,
            certificate.protocols ?? null,
          ]),
        )
        .digest('hex');
      this.contentKeys.set(certificate, key);
    }
    return key;
  }

  private create(certificate: CertificateSpec, contentKey: string): CertificateContext {
    try {
      if (certificate.pairs.length === 0) throw new Error('no certificate/key pair');
      const versions = protocolVersionOptions(certificate.protocols);
      const mutual = certificate.clientCa !== undefined && certificate.clientCa.length > 0;
      const sessionIdContext = contentKey.slice(0, 32);
      const clientDepth = certificate.clientDepth ?? DEFAULT_CLIENT_DEPTH;
      const secureContext = tls.createSecureContext({
        // Arrays: one SecureContext holds every pair, one per key type, and OpenSSL picks the
        // one the client's signature algorithms allow (RSA and ECDSA for the same names).
        cert: certificate.pairs.map((pair) => pair.cert),
        key: certificate.pairs.map((pair) => pair.key),
        ca: mutual ? certificate.clientCa : undefined,
        minVersion: versions.minVersion,
        maxVersion: versions.maxVersion,
        secureOptions: versions.secureOptions,
        ciphers: this.options.ciphers,
        // tls.Server's default; nginx's ssl_prefer_server_ciphers is on in APISIX's template.
        honorCipherOrder: true,
        ticketKeys: this.ticketKeys.node,
        // OpenSSL refuses to resume a session whose id context differs, so a ticket issued for
        // one object (say without mTLS) cannot skip the client-certificate check of another.
        // It is also required: with SSL_VERIFY_PEER and no id context, resumption attempts fail
        // the handshake ("session id context uninitialized").
        sessionIdContext,
      });
      const clientAuthority = mutual
        ? {
            trusted: parseCertificateBundle(certificate.clientCa!),
            depth: clientDepth,
          }
        : undefined;
      return {
        socketOptions: {
          isServer: true,
          secureContext,
          // mTLS is decided per object, which tls.Server cannot do (requestCert is per server):
          // it is a TLSSocket option here. rejectUnauthorized makes OpenSSL fail the handshake
          // when no certificate is sent (SSL_VERIFY_FAIL_IF_NO_PEER_CERT); an untrusted one is
          // refused right after the handshake (see tls-front.ts).
          requestCert: mutual,
          rejectUnauthorized: mutual,
        },
        clientAuthority,
        native: nativeContextOptions(certificate, {
          versions,
          ciphers: this.options.ciphers,
          sessionIdContext,
          clientCa: mutual ? certificate.clientCa : undefined,
          clientDepth,
          ticketKeys: this.ticketKeys.openssl,
        }),
      };
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      return {
        error: new ProxyError(
          'ERR_TLS_CERTIFICATE_INVALID',
          `certificate ${certificate.id} cannot be loaded: ${reason}`,
          { cause },
        ),
        socketOptions: {},
      };
    }
  }
}
