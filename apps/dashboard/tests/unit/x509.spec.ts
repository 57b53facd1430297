import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { daysUntil, describePrivateKey, summarizePem } from '../../src/lib/x509';

const directory = mkdtempSync(join(tmpdir(), 'strait-x509-'));

function openssl(...args: string[]): string {
  const result = spawnSync('openssl', args, { encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** The certificate's notAfter as openssl prints it, as a Date. */
function opensslNotAfter(path: string): Date {
  return new Date(
    openssl('x509', '-in', path, '-noout', '-enddate').trim().replace('notAfter=', ''),
  );
}

describe('summarizePem', () => {
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('reads names, validity, issuer and key of an RSA certificate with DNS and IP SANs', () => {
    const cert = join(directory, 'rsa.crt');
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(directory, 'rsa.key'),
      '-out',
      cert,
      '-days',
      '45',
      '-subj',
      '/CN=db.example.test/O=Example Ltd',
      '-addext',
      'subjectAltName=DNS:db.example.test,DNS:*.db.example.test,IP:10.0.0.7,IP:2001:db8::1',
    );
    const { certificates, error } = summarizePem(readFileSync(cert, 'utf8'));
    assert.equal(error, undefined);
    assert.equal(certificates.length, 1);
    const [info] = certificates;
    assert.equal(info.subjectCommonName, 'db.example.test');
    assert.equal(info.subject, 'CN=db.example.test, O=Example Ltd');
    assert.deepEqual(info.names, [
      'db.example.test',
      '*.db.example.test',
      '10.0.0.7',
      '2001:db8::1',
    ]);
    assert.equal(info.notAfter.getTime(), opensslNotAfter(cert).getTime());
    assert.ok([44, 45].includes(daysUntil(info.notAfter)));
    assert.equal(info.selfSigned, true);
    assert.equal(info.keyAlgorithm, 'RSA 2048');
  });

  it('reads an ECDSA leaf signed by a CA, followed by the CA in the same PEM (a chain)', () => {
    const caKey = join(directory, 'ca.key');
    const caCert = join(directory, 'ca.crt');
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-384',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      caCert,
      '-days',
      '3650',
      '-subj',
      '/CN=Example Root CA',
    );
    const leafKey = join(directory, 'leaf.key');
    const request = join(directory, 'leaf.csr');
    const leafCert = join(directory, 'leaf.crt');
    openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      leafKey,
      '-out',
      request,
      '-subj',
      '/CN=mqtt.example.test',
    );
    // No extensions at all: the names fall back to the CN.
    openssl(
      'x509',
      '-req',
      '-in',
      request,
      '-CA',
      caCert,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      leafCert,
      '-days',
      '10',
    );
    const chain = readFileSync(leafCert, 'utf8') + readFileSync(caCert, 'utf8');
    const { certificates } = summarizePem(chain);
    assert.equal(certificates.length, 2);
    assert.equal(certificates[0].keyAlgorithm, 'ECDSA P-256');
    assert.deepEqual(certificates[0].altNames, []);
    assert.deepEqual(certificates[0].names, ['mqtt.example.test']);
    assert.equal(certificates[0].issuer, 'CN=Example Root CA');
    assert.equal(certificates[0].selfSigned, false);
    assert.equal(certificates[1].keyAlgorithm, 'ECDSA P-384');
    assert.equal(certificates[1].isCertificateAuthority, true);
    assert.equal(certificates[1].notAfter.getTime(), opensslNotAfter(caCert).getTime());
    assert.match(describePrivateKey(readFileSync(leafKey, 'utf8')) ?? '', /private key/i);
  });

  it('explains input it cannot read instead of throwing', () => {
    assert.deepEqual(summarizePem('   '), { certificates: [] });
    assert.match(summarizePem('hello').error ?? '', /No "BEGIN CERTIFICATE" block/);
    assert.match(
      summarizePem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----').error ?? '',
      /Not a readable certificate/,
    );
    assert.match(summarizePem('$env://TLS_CERT').error ?? '', /secret reference/);
    assert.equal(describePrivateKey('not a key'), undefined);
  });
});
