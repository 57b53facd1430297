import { X509Certificate } from 'node:crypto';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle (X509Certificate reads only the first block). */
export function parseCertificateBundle(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERTIFICATE) ?? []).map((block) => new X509Certificate(block));
}

/**
 * `client.depth` as OpenSSL's verify depth (SSL_CTX_set_verify_depth, which nginx's
 * ssl_verify_depth sets): at most `depth` intermediate CAs between the client certificate and the
 * trust anchor, so a chain holds at most depth + 2 certificates (`openssl verify -verify_depth 0`
 * accepts a leaf issued directly by the root and refuses one with an intermediate).
 *
 * Node cannot set the verify depth, so OpenSSL verifies with its default (100) and this check runs
 * right after the handshake, before the connection is routed. It only counts: the signatures were
 * already verified by OpenSSL. The peer's chain (leaf, then the intermediates it sent) is followed
 * as far as it goes, then continued through the trusted bundle up to a self-issued root, the path
 * OpenSSL itself builds when intermediates are trusted rather than sent.
 */
export function chainLongerThanDepth(
  leaf: X509Certificate,
  trusted: readonly X509Certificate[],
  depth: number,
): boolean {
  const limit = depth + 2;
  let length = 1;
  let current = leaf;
  while (!current.checkIssued(current)) {
    const issuer = current.issuerCertificate ?? findIssuer(current, trusted);
    if (!issuer || issuer === current) break;
    if (++length > limit) return true;
    current = issuer;
  }
  return false;
}

function findIssuer(
  certificate: X509Certificate,
  trusted: readonly X509Certificate[],
): X509Certificate | undefined {
  for (const candidate of trusted) {
    if (certificate.checkIssued(candidate) && certificate.verify(candidate.publicKey)) {
      return candidate;
    }
  }
  return undefined;
}
