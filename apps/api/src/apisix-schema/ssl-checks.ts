/**
 * apisix/ssl.lua `check_ssl_conf` after the schema, in its order.
 */
import { isJsonObject } from './lua-values';
import { validateCertificateAndKey, type DecryptPrivateKey } from './pem-checks';
import { isSecretReference } from './secret-reference';

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function validatePair(
  cert: unknown,
  key: unknown,
  decryptPrivateKey?: DecryptPrivateKey,
): string | undefined {
  // Secret references are resolved at handshake time; if either side is one, neither is parsed.
  if (isSecretReference(cert) || isSecretReference(key) || typeof cert !== 'string') {
    return undefined;
  }
  return validateCertificateAndKey(cert, optionalString(key), decryptPrivateKey);
}

/**
 * `cert`/`key` parse; `type: client` stops there; `certs`/`keys` counts match and each pair parses
 * (1-based index in the text); `client.ca` parses. `conf` is the schema-checked, defaulted copy.
 */
export function checkSslCertificates(
  conf: unknown,
  decryptPrivateKey?: DecryptPrivateKey,
): string | undefined {
  if (!isJsonObject(conf)) return undefined;
  const mainError = validatePair(conf.cert, conf.key, decryptPrivateKey);
  if (mainError !== undefined) return mainError;
  if (conf.type === 'client') return undefined;

  const certs = Array.isArray(conf.certs) ? conf.certs : [];
  const keys = Array.isArray(conf.keys) ? conf.keys : [];
  if (certs.length !== keys.length) return 'mismatched number of certs and keys';
  for (const [index, cert] of certs.entries()) {
    const error = validatePair(cert, keys[index], decryptPrivateKey);
    if (error !== undefined) return `failed to handle cert-key pair[${index + 1}]: ${error}`;
  }

  const ca = isJsonObject(conf.client) ? conf.client.ca : undefined;
  if (typeof ca === 'string' && !isSecretReference(ca)) {
    const error = validateCertificateAndKey(ca, undefined);
    if (error !== undefined) return `failed to validate client_cert: ${error}`;
  }
  return undefined;
}
