import type { TlsContextOptions } from '@strait/fastpath';
import * as tls from 'node:tls';
import type { CertificateSpec } from '../config';
import type { ProtocolVersionOptions } from './protocol-versions';

/** Protocol names as Node spells them (`getProtocol()`), by wire version. */
const NAMES_BY_WIRE = new Map<number, string>([
  [0x0301, 'TLSv1'],
  [0x0302, 'TLSv1.1'],
  [0x0303, 'TLSv1.2'],
  [0x0304, 'TLSv1.3'],
]);
const WIRE_BY_NAME = new Map([...NAMES_BY_WIRE].map(([wire, name]) => [name, wire]));

/** `TLSv1.3` for 0x0304, as TLSSocket.getProtocol() reports it. */
export function protocolName(wireVersion: number): string {
  return NAMES_BY_WIRE.get(wireVersion) ?? 'unknown';
}

/** What the SecureContext of the same object was built with (certificate-contexts.ts). */
export interface NativeContextDecisions {
  versions: ProtocolVersionOptions;
  /** OpenSSL cipher string; Node's default when unset. */
  ciphers: string | undefined;
  sessionIdContext: string;
  /** mTLS: the trusted bundle; undefined when no client certificate is asked for. */
  clientCa: string | undefined;
  clientDepth: number;
  /** The engine's ticket keys in OpenSSL's format (80 bytes). */
  ticketKeys: Buffer;
}

/**
 * The same server context the JavaScript path builds with tls.createSecureContext, for the fast
 * path's OpenSSL (libs/fastpath createTlsContext): pairs, client CA and depth, version bounds,
 * ciphers split as Node splits them (TLS 1.3 suites apart), the session id context, and the
 * engine's session-ticket keys in OpenSSL's format.
 */
export function nativeContextOptions(
  certificate: CertificateSpec,
  decided: NativeContextDecisions,
): TlsContextOptions {
  const { versions, ciphers, sessionIdContext, clientCa, clientDepth, ticketKeys } = decided;
  const names = (ciphers ?? tls.DEFAULT_CIPHERS).split(':').filter((name) => name.length > 0);
  return {
    certs: certificate.pairs.map((pair) => pair.cert),
    keys: certificate.pairs.map((pair) => pair.key),
    clientCa,
    verifyDepth: clientDepth,
    minVersion: WIRE_BY_NAME.get(versions.minVersion),
    maxVersion: WIRE_BY_NAME.get(versions.maxVersion),
    options: versions.secureOptions,
    cipherList: names.filter((name) => !name.startsWith('TLS_')).join(':'),
    cipherSuites: names.filter((name) => name.startsWith('TLS_')).join(':'),
    sessionIdContext,
    ticketKeys,
  };
}
