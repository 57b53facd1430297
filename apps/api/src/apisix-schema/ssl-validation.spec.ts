import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { validateSsl } from './index';
import {
  createSelfSignedCertificate,
  createSignedCertificate,
  type TestCertificate,
} from './test-certificates';

function rejected(message: string) {
  return { ok: false, message };
}

// A PEM block whose body is not a certificate (t/admin/ssl2.t TEST 6 uses a truncated one).
const GARBAGE_CERT = `-----BEGIN CERTIFICATE-----\n${'MIIEojCCAwqgAwIBAgIJAK253pMhgCkx'.repeat(4)}\n-----END CERTIFICATE-----\n`;
const GARBAGE_KEY = `-----BEGIN RSA PRIVATE KEY-----\n${'MIIG5AIBAAKCAYEAyCM0rqJecvgnCfOw'.repeat(4)}\n-----END RSA PRIVATE KEY-----`;

describe('ssl', () => {
  let server: TestCertificate;
  let second: TestCertificate;
  let ca: TestCertificate;
  let leaf: TestCertificate;

  before(() => {
    server = createSelfSignedCertificate('test.com');
    second = createSelfSignedCertificate('*.test.com', 'ec');
    ca = createSelfSignedCertificate('Strait Test CA');
    leaf = createSignedCertificate('leaf.test.com', ca);
  });

  describe('accepted bodies', () => {
    it('scenario 30: cert, key and sni', () => {
      assert.deepEqual(validateSsl({ cert: server.cert, key: server.key, sni: 'test.com' }), {
        ok: true,
      });
    });

    it('snis, wildcards, extra pairs, client CA and protocols', () => {
      assert.deepEqual(
        validateSsl({
          cert: server.cert,
          key: server.key,
          snis: ['test.com', '*.test.com'],
          certs: [second.cert],
          keys: [second.key],
          client: { ca: ca.cert, depth: 2 },
          ssl_protocols: ['TLSv1.2', 'TLSv1.3'],
          status: 0,
          labels: { team: 'edge' },
        }),
        { ok: true },
      );
    });

    it('a certificate followed by its chain', () => {
      assert.deepEqual(
        validateSsl({ cert: leaf.cert + ca.cert, key: leaf.key, sni: 'leaf.test.com' }),
        { ok: true },
      );
    });

    it('scenario 31: a client certificate needs no sni', () => {
      assert.deepEqual(validateSsl({ type: 'client', cert: server.cert, key: server.key }), {
        ok: true,
      });
    });

    it('secret references are neither length-checked nor parsed', () => {
      assert.deepEqual(
        validateSsl({
          sni: 'test.com',
          cert: '$ENV://APISIX_TEST_SSL_CERT',
          key: '$env://APISIX_TEST_SSL_KEY',
        }),
        { ok: true },
      );
      assert.deepEqual(
        validateSsl({ sni: 'test.com', cert: server.cert, key: '$secret://vault/1/key' }),
        { ok: true },
      );
    });
  });

  describe('schema failures', () => {
    it('scenario 31: then clause did not match for server certificates without sni/snis, or with both', () => {
      const message = rejected('invalid configuration: then clause did not match');
      assert.deepEqual(validateSsl({ sni: 'test.com' }), message);
      assert.deepEqual(validateSsl({ cert: server.cert, key: server.key }), message);
      assert.deepEqual(validateSsl({ sni: 'test.com', certs: [server.cert], keys: [] }), message);
      assert.deepEqual(
        validateSsl({ cert: server.cert, key: server.key, sni: 'a.com', snis: ['a.com'] }),
        message,
      );
    });

    it('else clause did not match for a client certificate without a key', () => {
      assert.deepEqual(
        validateSsl({ type: 'client', cert: server.cert }),
        rejected('invalid configuration: else clause did not match'),
      );
    });

    it('scenario 31: empty snis', () => {
      assert.deepEqual(
        validateSsl({ cert: server.cert, key: server.key, snis: [] }),
        rejected(
          'invalid configuration: property "snis" validation failed: expect array to have at least 1 items',
        ),
      );
    });

    it('scenario 32: TLSv1.0', () => {
      assert.deepEqual(
        validateSsl({
          cert: server.cert,
          key: server.key,
          sni: 'test.com',
          ssl_protocols: ['TLSv1.0'],
        }),
        rejected(
          'invalid configuration: property "ssl_protocols" validation failed: failed to validate item 1: matches none of the enum values',
        ),
      );
    });

    it('a short certificate in certs, even next to secret references (t/admin/ssl.t TEST 23)', () => {
      assert.deepEqual(
        validateSsl({
          sni: 'test.com',
          cert: '$ENV://APISIX_TEST_SSL_CERT',
          key: '$env://APISIX_TEST_SSL_KEY',
          certs: ['https://APISIX_TEST_SSL_CERTS'],
          keys: ['$ENV://APISIX_TEST_SSL_KEYS'],
        }),
        rejected(
          'invalid configuration: property "certs" validation failed: failed to validate item 1: string too short, expected at least 128, got 29',
        ),
      );
    });

    it('fields removed in 3.7 and a name', () => {
      assert.deepEqual(
        validateSsl({ cert: server.cert, key: server.key, sni: 'test.com', exptime: 1 }),
        rejected('invalid configuration: additional properties forbidden, found exptime'),
      );
      assert.deepEqual(
        validateSsl({ cert: server.cert, key: server.key, sni: 'test.com', name: 'x' }),
        rejected('invalid configuration: additional properties forbidden, found name'),
      );
    });
  });

  describe('certificate checks (spec §1.8 ssls 2-6)', () => {
    it('scenario 32: a garbage certificate or key', () => {
      assert.deepEqual(
        validateSsl({ cert: GARBAGE_CERT, key: server.key, sni: 'test.com' }),
        rejected('failed to parse cert: PEM_read_bio_X509_AUX() failed'),
      );
      assert.deepEqual(
        validateSsl({ cert: 'x'.repeat(200), key: server.key, sni: 'test.com' }),
        rejected('failed to parse cert: PEM_read_bio_X509_AUX() failed'),
      );
      assert.deepEqual(
        validateSsl({ cert: server.cert, key: GARBAGE_KEY, sni: 'test.com' }),
        rejected('failed to parse key: PEM_read_bio_PrivateKey() failed'),
      );
    });

    it('a broken certificate later in the chain', () => {
      assert.deepEqual(
        validateSsl({ cert: leaf.cert + GARBAGE_CERT, key: leaf.key, sni: 'leaf.test.com' }),
        rejected('failed to parse cert: PEM_read_bio_X509() failed'),
      );
    });

    it('a client certificate is parsed, then nothing else is checked', () => {
      assert.deepEqual(
        validateSsl({ type: 'client', cert: GARBAGE_CERT, key: server.key }),
        rejected('failed to parse cert: PEM_read_bio_X509_AUX() failed'),
      );
      assert.deepEqual(
        validateSsl({ type: 'client', cert: server.cert, key: server.key, certs: [server.cert] }),
        { ok: true },
      );
    });

    it('scenario 32: mismatched number of certs and keys, after the main pair', () => {
      assert.deepEqual(
        validateSsl({
          cert: server.cert,
          key: server.key,
          sni: 'test.com',
          certs: [server.cert],
          keys: [],
        }),
        rejected('mismatched number of certs and keys'),
      );
    });

    it('numbers bad pairs from 1', () => {
      assert.deepEqual(
        validateSsl({
          cert: server.cert,
          key: server.key,
          sni: 't.com',
          certs: [GARBAGE_CERT],
          keys: [server.key],
        }),
        rejected(
          'failed to handle cert-key pair[1]: failed to parse cert: PEM_read_bio_X509_AUX() failed',
        ),
      );
      assert.deepEqual(
        validateSsl({
          cert: server.cert,
          key: server.key,
          sni: 't.com',
          certs: [server.cert, second.cert],
          keys: [server.key, GARBAGE_KEY],
        }),
        rejected(
          'failed to handle cert-key pair[2]: failed to parse key: PEM_read_bio_PrivateKey() failed',
        ),
      );
    });

    it('a bad client CA', () => {
      assert.deepEqual(
        validateSsl({
          cert: server.cert,
          key: server.key,
          sni: 'test.com',
          client: { ca: GARBAGE_CERT },
        }),
        rejected(
          'failed to validate client_cert: failed to parse cert: PEM_read_bio_X509_AUX() failed',
        ),
      );
    });

    it('an encrypted key that does not decrypt', () => {
      assert.deepEqual(
        validateSsl(
          { cert: server.cert, key: 'A'.repeat(100), sni: 'test.com' },
          { decryptPrivateKey: () => undefined },
        ),
        rejected('failed to decrypt previous encrypted key'),
      );
      assert.deepEqual(
        validateSsl(
          {
            cert: server.cert,
            key: server.key,
            sni: 't.com',
            certs: [second.cert],
            keys: ['B'.repeat(100)],
          },
          { decryptPrivateKey: () => undefined },
        ),
        rejected('failed to handle cert-key pair[1]: failed to decrypt previous encrypted key'),
      );
    });

    it('STRAIT: a key that does not belong to its certificate', () => {
      assert.deepEqual(
        validateSsl({ cert: server.cert, key: second.key, sni: 'test.com' }),
        rejected('private key does not match the certificate'),
      );
      assert.deepEqual(
        validateSsl({
          cert: server.cert,
          key: server.key,
          sni: 't.com',
          certs: [second.cert],
          keys: [server.key],
        }),
        rejected('failed to handle cert-key pair[1]: private key does not match the certificate'),
      );
    });
  });
});
