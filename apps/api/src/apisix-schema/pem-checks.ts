/**
 * PEM checks of apisix/ssl.lua `validate(cert, key)`, with node:crypto standing in for
 * lua-resty-core's `ngx.ssl.parse_pem_cert` / `parse_pem_priv_key`, whose OpenSSL call names
 * appear in the texts.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

/**
 * Turns a stored (encrypted, base64) private key back into PEM; undefined when it cannot. APISIX
 * treats every key that does not start with `---` as encrypted with the `data_encryption` keyring.
 */
export type DecryptPrivateKey = (stored: string) => string | undefined;

/**
 * STRAIT DEVIATION (deliberate): APISIX has `-- TODO: check if key & cert match` and accepts a
 * mismatched pair, which then fails every handshake. Strait rejects it with this text, returned
 * where APISIX would return a parse error (so `certs[i]` pairs read
 * `failed to handle cert-key pair[i]: private key does not match the certificate`).
 */
export const KEY_MISMATCH_MESSAGE = 'private key does not match the certificate';

const FIRST_CERTIFICATE_LABELS = new Set([
  'CERTIFICATE',
  'TRUSTED CERTIFICATE',
  'X509 CERTIFICATE',
]);
const CHAIN_CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE']);
const PEM_BLOCK = /-----BEGIN ([^\r\n-]+)-----[\s\S]*?-----END \1-----/g;

function tryCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/**
 * `ngx_http_lua_ffi_parse_pem_cert`: the first certificate through PEM_read_bio_X509_AUX, then the
 * rest of the chain through PEM_read_bio_X509 until a clean end of input (other PEM blocks, such as
 * an appended key, are skipped by OpenSSL).
 */
function parseCertificateChain(pem: string): X509Certificate | string {
  const leaf = tryCertificate(pem);
  if (leaf === undefined) return 'PEM_read_bio_X509_AUX() failed';
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  const leafIndex = blocks.findIndex((block) => FIRST_CERTIFICATE_LABELS.has(block[1]));
  let end =
    leafIndex === -1 ? pem.length : (blocks[leafIndex].index ?? 0) + blocks[leafIndex][0].length;
  for (const block of blocks.slice(leafIndex + 1)) {
    end = (block.index ?? 0) + block[0].length;
    if (CHAIN_CERTIFICATE_LABELS.has(block[1]) && tryCertificate(block[0]) === undefined) {
      return 'PEM_read_bio_X509() failed';
    }
  }
  // A BEGIN line without its END is a read error, not the clean "no start line" end of a chain.
  if (pem.slice(end).includes('-----BEGIN ')) return 'PEM_read_bio_X509() failed';
  return leaf;
}

function parsePrivateKey(pem: string): KeyObject | undefined {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return undefined;
  }
}

function keysMatch(certificate: X509Certificate, key: KeyObject): boolean {
  try {
    return certificate.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/**
 * apisix/ssl.lua `validate(cert, key)`; `key` undefined checks the certificate alone (client CA).
 * Returns undefined when valid, else APISIX's text (`failed to parse cert: ...`).
 */
export function validateCertificateAndKey(
  cert: string,
  key: string | undefined,
  decryptPrivateKey?: DecryptPrivateKey,
): string | undefined {
  const certificate = parseCertificateChain(cert);
  if (typeof certificate === 'string') return `failed to parse cert: ${certificate}`;
  if (key === undefined) return undefined;

  let plainKey = key;
  if (!key.startsWith('---') && decryptPrivateKey !== undefined) {
    const decrypted = decryptPrivateKey(key);
    if (decrypted === undefined) return 'failed to decrypt previous encrypted key';
    plainKey = decrypted;
  }
  const privateKey = parsePrivateKey(plainKey);
  if (privateKey === undefined) return 'failed to parse key: PEM_read_bio_PrivateKey() failed';
  return keysMatch(certificate, privateKey) ? undefined : KEY_MISMATCH_MESSAGE;
}
