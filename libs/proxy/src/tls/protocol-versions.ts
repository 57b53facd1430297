import { constants } from 'node:crypto';
import type { SecureVersion } from 'node:tls';
import type { CertificateSpec } from '../config';

type ProtocolName = NonNullable<CertificateSpec['protocols']>[number];

/** Lowest to highest; the secureOptions bit that switches each one off inside a min..max range. */
const VERSIONS: readonly { name: ProtocolName; disable: number }[] = [
  { name: 'TLSv1.1', disable: constants.SSL_OP_NO_TLSv1_1 },
  { name: 'TLSv1.2', disable: constants.SSL_OP_NO_TLSv1_2 },
  { name: 'TLSv1.3', disable: constants.SSL_OP_NO_TLSv1_3 },
];

export interface ProtocolVersionOptions {
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  /** SSL_OP_NO_* bits for versions left out between min and max (`[TLSv1.1, TLSv1.3]`). */
  secureOptions: number;
}

/** apisix.ssl.ssl_protocols default `TLSv1.2 TLSv1.3` (spec 3.1). */
const DEFAULT_VERSIONS: ProtocolVersionOptions = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  secureOptions: 0,
};

/**
 * `ssl_protocols` of an SSL object as OpenSSL version bounds. nginx turns the list into
 * SSL_OP_NO_* flags, so a list with a hole (`TLSv1.1` and `TLSv1.3`) really refuses 1.2; min/max
 * alone cannot say that, hence the extra bits (OpenSSL's server version choice honours them).
 *
 * TLS 1.1 is offered only when listed. OpenSSL 3 refuses it anyway at the default security level
 * 1 (SHA-1/MD5 handshake signatures count as too weak: the server fails with
 * `no suitable signature algorithm`, the client sees an internal_error alert). APISIX documents
 * the same and asks for TLS 1.1 ciphers in `ssl_ciphers`; here that is
 * `ProxyEngineOptions.tlsCiphers` with `@SECLEVEL=0`.
 */
export function protocolVersionOptions(
  protocols: CertificateSpec['protocols'],
): ProtocolVersionOptions {
  if (!protocols || protocols.length === 0) return DEFAULT_VERSIONS;
  const enabled = VERSIONS.map((version) => protocols.includes(version.name));
  const low = enabled.indexOf(true);
  const high = enabled.lastIndexOf(true);
  if (low === -1) return DEFAULT_VERSIONS; // only unknown names: the schema prevents this
  let secureOptions = 0;
  for (let index = low; index <= high; index++) {
    if (!enabled[index]) secureOptions |= VERSIONS[index].disable;
  }
  return { minVersion: VERSIONS[low].name, maxVersion: VERSIONS[high].name, secureOptions };
}
