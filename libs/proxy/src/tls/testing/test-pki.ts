/**
 * Test support: certificates made at test time with the openssl CLI (Node 20 can make keys but
 * cannot issue X.509 certificates). Keys come from node:crypto; each certificate is one
 * `openssl req -x509 -CA` call (~20 ms). Not exported from the package.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateSpec } from '../../config';

export type TestKeyType = 'ec' | 'rsa';

export interface TestKeyPair {
  readonly cert: string;
  readonly key: string;
  /** To tell which certificate a client was served. */
  readonly fingerprint256: string;
}

/** Whether the openssl CLI is installed (it is in the dev image and CI). */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function privateKeyPem(type: TestKeyType): string {
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A config with no defaults of its own, so only the -addext extensions are written. */
const MINIMAL_CONFIG = '[req]\ndistinguished_name = dn\n[dn]\n';

interface IssueOptions {
  commonName: string;
  dnsNames?: readonly string[];
  keyType?: TestKeyType;
  isCa?: boolean;
  usage?: 'server' | 'client';
}

/** A CA that issues server, client and intermediate certificates into one temp directory. */
export class TestCertificateAuthority implements TestKeyPair {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint256: string;

  private constructor(
    private readonly directory: string,
    pair: TestKeyPair,
  ) {
    this.cert = pair.cert;
    this.key = pair.key;
    this.fingerprint256 = pair.fingerprint256;
  }

  static create(directory: string, commonName: string): TestCertificateAuthority {
    return new TestCertificateAuthority(
      directory,
      issue(directory, { commonName, isCa: true }, undefined),
    );
  }

  /** A server certificate whose SAN lists `names` (CN = the first name). */
  server(names: readonly string[], keyType: TestKeyType = 'ec'): TestKeyPair {
    return issue(
      this.directory,
      { commonName: names[0], dnsNames: names, keyType, usage: 'server' },
      this,
    );
  }

  client(commonName: string): TestKeyPair {
    return issue(this.directory, { commonName, usage: 'client' }, this);
  }

  intermediate(commonName: string): TestCertificateAuthority {
    return new TestCertificateAuthority(
      this.directory,
      issue(this.directory, { commonName, isCa: true }, this),
    );
  }
}

function issue(
  directory: string,
  options: IssueOptions,
  issuer: TestKeyPair | undefined,
): TestKeyPair {
  const id = randomBytes(6).toString('hex');
  const paths = {
    config: join(directory, 'minimal.cnf'),
    key: join(directory, `${id}.key`),
    cert: join(directory, `${id}.pem`),
    issuerCert: join(directory, `${id}-issuer.pem`),
    issuerKey: join(directory, `${id}-issuer.key`),
  };
  const key = privateKeyPem(options.keyType ?? 'ec');
  writeFileSync(paths.config, MINIMAL_CONFIG);
  writeFileSync(paths.key, key);
  const args = ['req', '-x509', '-new', '-config', paths.config, '-key', paths.key];
  args.push('-subj', `/CN=${options.commonName}`, '-days', '2', '-out', paths.cert);
  if (issuer) {
    writeFileSync(paths.issuerCert, issuer.cert);
    writeFileSync(paths.issuerKey, issuer.key);
    args.push('-CA', paths.issuerCert, '-CAkey', paths.issuerKey);
  }
  if (options.isCa) {
    args.push('-addext', 'basicConstraints=critical,CA:TRUE');
    args.push('-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  } else {
    args.push('-addext', 'basicConstraints=CA:FALSE');
    args.push(
      '-addext',
      `extendedKeyUsage=${options.usage === 'client' ? 'clientAuth' : 'serverAuth'}`,
    );
  }
  if (options.dnsNames && options.dnsNames.length > 0) {
    args.push(
      '-addext',
      `subjectAltName=${options.dnsNames.map((name) => `DNS:${name}`).join(',')}`,
    );
  }
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const cert = readFileSync(paths.cert, 'utf8');
  return { cert, key, fingerprint256: new X509Certificate(cert).fingerprint256 };
}

/** Everything the TLS specs use, generated once per test process. */
export interface TestPki {
  readonly ca: TestCertificateAuthority;
  readonly otherCa: TestCertificateAuthority;
  readonly intermediate: TestCertificateAuthority;
  readonly exact: TestKeyPair; // a.test.com
  readonly wildcardTest: TestKeyPair; // *.test.com
  readonly wildcardApi7: TestKeyPair; // *.api7.dev
  readonly specificApi7: TestKeyPair; // specific.api7.dev
  readonly catchAll: TestKeyPair; // *
  readonly dualRsa: TestKeyPair; // dual.test, RSA
  readonly dualEcdsa: TestKeyPair; // dual.test, ECDSA
  readonly localhost: TestKeyPair; // localhost
  readonly client: TestKeyPair; // from ca
  readonly clientOfOtherCa: TestKeyPair;
  /** From `intermediate`; send `cert + intermediate.cert` as the chain. */
  readonly clientViaIntermediate: TestKeyPair;
}

let cached: TestPki | undefined;

export function testPki(): TestPki {
  if (cached) return cached;
  const directory = mkdtempSync(join(tmpdir(), 'strait-pki-'));
  try {
    const ca = TestCertificateAuthority.create(directory, 'Strait Test CA');
    const otherCa = TestCertificateAuthority.create(directory, 'Other Test CA');
    const intermediate = ca.intermediate('Strait Test Intermediate');
    cached = {
      ca,
      otherCa,
      intermediate,
      exact: ca.server(['a.test.com']),
      wildcardTest: ca.server(['*.test.com']),
      wildcardApi7: ca.server(['*.api7.dev']),
      specificApi7: ca.server(['specific.api7.dev']),
      catchAll: ca.server(['*']),
      dualRsa: ca.server(['dual.test'], 'rsa'),
      dualEcdsa: ca.server(['dual.test'], 'ec'),
      localhost: ca.server(['localhost']),
      client: ca.client('client.strait'),
      clientOfOtherCa: otherCa.client('client.strait'),
      clientViaIntermediate: intermediate.client('deep.client.strait'),
    };
    return cached;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** A CertificateSpec for tests: one or more pairs under `snis`. */
export function certificateSpec(
  id: string,
  snis: string[],
  pairs: readonly TestKeyPair[],
  extra: Partial<CertificateSpec> = {},
): CertificateSpec {
  return { id, snis, pairs: pairs.map(({ cert, key }) => ({ cert, key })), ...extra };
}
