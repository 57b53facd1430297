import { X509Certificate } from 'node:crypto';
import { ProxyError } from '../engine/errors';

/** What the control plane shows about a certificate (admin listings, expiry warnings). */
export interface CertificateDescription {
  /** DNS names from subjectAltName, or the subject CN when there are none (RFC 6125 fallback). */
  names: string[];
  subject: string;
  issuer: string;
  serialNumber: string;
  /** `AB:CD:...`, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint256: string;
  /** ISO-8601. */
  validFrom: string;
  validTo: string;
  /** `rsa`, `ec`, `ed25519`... */
  keyType: string | undefined;
  /** True for a CA certificate (basicConstraints CA:TRUE). */
  isCa: boolean;
}

/**
 * Describes the first certificate of a PEM (a chain's leaf). Throws ProxyError
 * `ERR_TLS_CERTIFICATE_INVALID` when the text is not a parsable certificate.
 */
export function describeCertificate(pem: string): CertificateDescription {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (cause) {
    throw new ProxyError('ERR_TLS_CERTIFICATE_INVALID', 'not a PEM X.509 certificate', { cause });
  }
  const dnsNames = subjectAltDnsNames(certificate.subjectAltName);
  const commonName = /^CN=(.*)$/m.exec(certificate.subject)?.[1];
  return {
    names: dnsNames.length > 0 ? dnsNames : commonName ? [commonName] : [],
    subject: certificate.subject.replace(/\n/g, ', '),
    issuer: certificate.issuer.replace(/\n/g, ', '),
    serialNumber: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
    validFrom: new Date(certificate.validFrom).toISOString(),
    validTo: new Date(certificate.validTo).toISOString(),
    keyType: certificate.publicKey.asymmetricKeyType,
    isCa: certificate.ca,
  };
}

/**
 * `DNS:a.test.com, DNS:"odd,name", IP Address:10.0.0.1`: since Node 17.3 names containing a comma
 * or quote are JSON-quoted, so the list is split outside quotes only.
 */
function subjectAltDnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const names: string[] = [];
  for (const entry of subjectAltName.match(/(?:[^,"]|"(?:\\.|[^"])*")+/g) ?? []) {
    const trimmed = entry.trim();
    if (!trimmed.startsWith('DNS:')) continue;
    const value = trimmed.slice(4);
    names.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return names;
}
