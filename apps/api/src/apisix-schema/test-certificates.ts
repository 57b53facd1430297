/**
 * Test support: real certificates made at test time. Node 20 can create keys but not X.509
 * certificates, so `openssl` (installed in the dev image) signs them in a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
}

export type TestKeyType = 'rsa' | 'ec';

function generateKey(keyType: TestKeyType): string {
  const pair =
    keyType === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function inTemporaryDirectory<T>(work: (directory: string) => T): T {
  const directory = mkdtempSync(join(tmpdir(), 'strait-cert-'));
  try {
    return work(directory);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** A self-signed certificate for `commonName` and its private key (PKCS#8 PEM). */
export function createSelfSignedCertificate(
  commonName: string,
  keyType: TestKeyType = 'rsa',
): TestCertificate {
  const key = generateKey(keyType);
  const cert = inTemporaryDirectory((directory) => {
    const keyPath = join(directory, 'key.pem');
    const certPath = join(directory, 'cert.pem');
    writeFileSync(keyPath, key);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-key',
        keyPath,
        '-subj',
        `/CN=${commonName}`,
        '-days',
        '1',
        '-out',
        certPath,
      ],
      { stdio: 'ignore' },
    );
    return readFileSync(certPath, 'utf8');
  });
  return { cert, key };
}

/** A leaf certificate for `commonName` signed by `issuer`, and the leaf's private key. */
export function createSignedCertificate(
  commonName: string,
  issuer: TestCertificate,
): TestCertificate {
  const key = generateKey('rsa');
  const cert = inTemporaryDirectory((directory) => {
    const paths = {
      key: join(directory, 'leaf.key'),
      request: join(directory, 'leaf.csr'),
      cert: join(directory, 'leaf.pem'),
      issuerCert: join(directory, 'ca.pem'),
      issuerKey: join(directory, 'ca.key'),
    };
    writeFileSync(paths.key, key);
    writeFileSync(paths.issuerCert, issuer.cert);
    writeFileSync(paths.issuerKey, issuer.key);
    execFileSync(
      'openssl',
      ['req', '-new', '-key', paths.key, '-subj', `/CN=${commonName}`, '-out', paths.request],
      { stdio: 'ignore' },
    );
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        paths.request,
        '-CA',
        paths.issuerCert,
        '-CAkey',
        paths.issuerKey,
        '-set_serial',
        '2',
        '-days',
        '1',
        '-out',
        paths.cert,
      ],
      { stdio: 'ignore' },
    );
    return readFileSync(paths.cert, 'utf8');
  });
  return { cert, key };
}
