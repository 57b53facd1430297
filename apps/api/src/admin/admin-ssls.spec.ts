/**
 * Admin API, ssls: apisix-stream-spec §1.8 (ssls), §2.4 and scenarios 30–33 of §5.2, with
 * certificates made by openssl at test time, plus the deliberate improvement (a key that does not
 * match its certificate is a 400).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createSelfSignedCertificate,
  createSignedCertificate,
  type TestCertificate,
} from '../apisix-schema/test-certificates';
import {
  assertError,
  assertExactJson,
  assertKeyNotFound,
  assertStoredItem,
  assertWriteResult,
  listKeys,
  rawStoredValue,
  startStreamApp,
} from '../testing/admin-assertions';
import type { TestApp } from '../testing/test-app';
import type { Reply } from '../testing/admin-assertions';

const SSLS = '/apisix/admin/ssls';
const BASE64 = /^[A-Za-z0-9+/]+=*$/;
const GARBAGE_CERT = `-----BEGIN CERTIFICATE-----\n${'MIIEojCCAwqgAwIBAgIJAK253pMhgCkx'.repeat(4)}\n-----END CERTIFICATE-----\n`;
const GARBAGE_KEY = `-----BEGIN RSA PRIVATE KEY-----\n${'MIIG5AIBAAKCAYEAyCM0rqJecvgnCfOw'.repeat(4)}\n-----END RSA PRIVATE KEY-----`;

/** The body lines of a PEM, the part that must never appear in the store. */
function pemBody(pem: string): string {
  return pem.split('\n')[1];
}

/**
 * A PUT/POST/PATCH answer of an ssl: `key` (and every `keys[i]`) is the encrypted base64 text,
 * never the PEM; the rest of value must equal `expected` plus the id and timestamps.
 */
function assertSslWrite(
  reply: Reply,
  status: number,
  id: string,
  expected: Record<string, unknown>,
): string {
  assert.equal(reply.status, status, reply.text);
  const { key, keys, ...visible } = reply.json.value as Record<string, unknown>;
  assert.equal(typeof key, 'string');
  assert.match(key as string, BASE64);
  for (const extra of (keys as string[] | undefined) ?? []) assert.match(extra, BASE64);
  assertWriteResult(
    { ...reply, json: { ...reply.json, value: visible } },
    status,
    `/apisix/ssls/${id}`,
    {
      ...expected,
      id,
    },
  );
  return key as string;
}

describe('ssls', () => {
  let test: TestApp;
  let server: TestCertificate;
  let other: TestCertificate;
  let ca: TestCertificate;
  let leaf: TestCertificate;
  before(async () => {
    server = createSelfSignedCertificate('test.com');
    other = createSelfSignedCertificate('*.test.com', 'ec');
    ca = createSelfSignedCertificate('Strait Test CA');
    leaf = createSignedCertificate('leaf.test.com', ca);
    test = await startStreamApp();
  });
  after(() => test.close());

  it('scenario 30: PUT answers the encrypted key; GET and list strip key and keys', async () => {
    const reply = await test.request('PUT', `${SSLS}/1`, {
      cert: server.cert,
      key: server.key,
      sni: 'test.com',
    });
    const encrypted = assertSslWrite(reply, 201, '1', { cert: server.cert, sni: 'test.com' });
    assert.notEqual(encrypted, server.key);
    const stored = assertStoredItem(await test.request('GET', `${SSLS}/1`), '/apisix/ssls/1');
    assert.equal(stored.key, undefined);
    assert.equal(stored.sni, 'test.com');
    assert.equal(stored.cert, server.cert);
    const raw = (await rawStoredValue(test, 'ssls', '1')) as string;
    assert.ok(raw.includes(encrypted as string));
    assert.ok(!raw.includes(pemBody(server.key)));
    // Replacing answers 200.
    const again = await test.request('PUT', `${SSLS}/1`, {
      cert: server.cert,
      key: server.key,
      sni: 'test.com',
    });
    assert.equal(again.status, 200, again.text);
  });

  it('extra certs/keys pairs: keys encrypted, never listed', async () => {
    const reply = await test.request('PUT', `${SSLS}/2`, {
      cert: server.cert,
      key: server.key,
      snis: ['test.com', '*.test.com'],
      certs: [other.cert],
      keys: [other.key],
    });
    assert.equal(reply.status, 201, reply.text);
    const keys = reply.json.value.keys as string[];
    assert.equal(keys.length, 1);
    assert.match(keys[0], BASE64);
    assert.notEqual(keys[0], other.key);
    const list = await test.request('GET', SSLS);
    assert.deepEqual(listKeys(list), ['/apisix/ssls/1', '/apisix/ssls/2']);
    for (const item of list.json.list as { value: Record<string, unknown> }[]) {
      assert.equal(item.value.key, undefined);
      assert.equal(item.value.keys, undefined);
      assert.ok(typeof item.value.cert === 'string');
    }
    assert.deepEqual((list.json.list as { value: Record<string, unknown> }[])[1].value.certs, [
      other.cert,
    ]);
    const raw = (await rawStoredValue(test, 'ssls', '2')) as string;
    assert.ok(!raw.includes(pemBody(other.key)));
    assert.ok(!raw.includes(pemBody(server.key)));
  });

  it('a CA-signed leaf with its chain, and an mTLS client CA, are accepted', async () => {
    const reply = await test.request('PUT', `${SSLS}/chain`, {
      cert: leaf.cert + ca.cert,
      key: leaf.key,
      sni: 'leaf.test.com',
      client: { ca: ca.cert, depth: 2 },
      ssl_protocols: ['TLSv1.2', 'TLSv1.3'],
    });
    assert.equal(reply.status, 201, reply.text);
    assertError(
      await test.request('PUT', `${SSLS}/chain`, {
        cert: leaf.cert,
        key: leaf.key,
        sni: 'leaf.test.com',
        client: { ca: GARBAGE_CERT },
      }),
      'failed to validate client_cert: failed to parse cert: PEM_read_bio_X509_AUX() failed',
    );
  });

  it('scenario 31: sni/snis rules for server and client types', async () => {
    assertError(
      await test.request('PUT', `${SSLS}/3`, { cert: server.cert, key: server.key }),
      'invalid configuration: then clause did not match',
    );
    assertError(
      await test.request('PUT', `${SSLS}/3`, { sni: 'test.com' }),
      'invalid configuration: then clause did not match',
    );
    assertError(
      await test.request('PUT', `${SSLS}/3`, {
        cert: server.cert,
        key: server.key,
        sni: 'test.com',
        snis: ['test.com'],
      }),
      'invalid configuration: then clause did not match',
    );
    assertSslWrite(
      await test.request('PUT', `${SSLS}/client`, {
        type: 'client',
        cert: server.cert,
        key: server.key,
      }),
      201,
      'client',
      { type: 'client', cert: server.cert },
    );
    assertError(
      await test.request('PUT', `${SSLS}/3`, { cert: server.cert, key: server.key, snis: [] }),
      'invalid configuration: property "snis" validation failed: expect array to have at least 1 items',
    );
  });

  it('scenario 32: certificate and key parsing, pairs and protocols', async () => {
    assertError(
      await test.request('PUT', `${SSLS}/4`, {
        cert: GARBAGE_CERT,
        key: server.key,
        sni: 'test.com',
      }),
      'failed to parse cert: PEM_read_bio_X509_AUX() failed',
    );
    assertError(
      await test.request('PUT', `${SSLS}/4`, {
        cert: server.cert,
        key: GARBAGE_KEY,
        sni: 'test.com',
      }),
      'failed to parse key: PEM_read_bio_PrivateKey() failed',
    );
    assertError(
      await test.request('PUT', `${SSLS}/4`, {
        cert: server.cert,
        key: server.key,
        sni: 'test.com',
        certs: [other.cert],
        keys: [],
      }),
      'mismatched number of certs and keys',
    );
    assertError(
      await test.request('PUT', `${SSLS}/4`, { sni: 'test.com', certs: [other.cert], keys: [] }),
      'invalid configuration: then clause did not match',
    );
    assertError(
      await test.request('PUT', `${SSLS}/4`, {
        cert: server.cert,
        key: server.key,
        sni: 'test.com',
        ssl_protocols: ['TLSv1.0'],
      }),
      'invalid configuration: property "ssl_protocols" validation failed: failed to validate item 1: matches none of the enum values',
    );
    assertError(
      await test.request('PUT', `${SSLS}/4`, { cert: 'short', key: server.key, sni: 'test.com' }),
      'invalid configuration: property "cert" validation failed: string too short, expected at least 128, got 5',
    );
    // Fields APISIX 3.7 removed, and `name` (ssls have none), are unknown properties.
    for (const field of ['validity_end', 'exptime', 'name']) {
      assertError(
        await test.request('PUT', `${SSLS}/4`, {
          cert: server.cert,
          key: server.key,
          sni: 'test.com',
          [field]: field === 'name' ? 'x' : 1,
        }),
        `invalid configuration: additional properties forbidden, found ${field}`,
      );
    }
    assertKeyNotFound(await test.request('GET', `${SSLS}/4`));
  });

  it('a key that does not match its certificate is a 400 (deliberate improvement)', async () => {
    assertError(
      await test.request('PUT', `${SSLS}/5`, {
        cert: server.cert,
        key: other.key,
        sni: 'test.com',
      }),
      'private key does not match the certificate',
    );
    assertError(
      await test.request('PUT', `${SSLS}/5`, {
        cert: server.cert,
        key: server.key,
        sni: 'test.com',
        certs: [other.cert],
        keys: [server.key],
      }),
      'failed to handle cert-key pair[1]: private key does not match the certificate',
    );
    assertKeyNotFound(await test.request('GET', `${SSLS}/5`));
  });

  it('scenario 33: /ssl is not a v3 resource; PATCH snis sub-path', async () => {
    assertError(
      await test.request('GET', '/apisix/admin/ssl/1'),
      'Unsupported resource type: ssl',
      404,
    );
    assertError(
      await test.request('PUT', '/apisix/admin/ssl/1', {
        cert: server.cert,
        key: server.key,
        sni: 'x.com',
      }),
      'Unsupported resource type: ssl',
      404,
    );
    await test.request('PUT', `${SSLS}/6`, {
      cert: server.cert,
      key: server.key,
      snis: ['test.com'],
    });
    const reply = await test.request('PATCH', `${SSLS}/6/snis`, '["update1.com","update2.com"]');
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json.value.snis, ['update1.com', 'update2.com']);
    assert.match(reply.json.value.key, BASE64);
    const stored = assertStoredItem(await test.request('GET', `${SSLS}/6`), '/apisix/ssls/6');
    assert.deepEqual(stored.snis, ['update1.com', 'update2.com']);
    assert.equal(stored.key, undefined);
  });

  it('PATCH: the merged object is re-validated; a new key is encrypted again', async () => {
    // Both sni and snis: the server-type oneOf fails.
    assertError(
      await test.request('PATCH', `${SSLS}/6`, { sni: 'x.com' }),
      'invalid configuration: then clause did not match',
    );
    const swapped = await test.request('PATCH', `${SSLS}/6`, {
      cert: other.cert,
      key: other.key,
      snis: ['*.test.com'],
    });
    const encrypted = assertSslWrite(swapped, 200, '6', { cert: other.cert, snis: ['*.test.com'] });
    assert.notEqual(encrypted, other.key);
    const raw = (await rawStoredValue(test, 'ssls', '6')) as string;
    assert.ok(!raw.includes(pemBody(other.key)));
    const keyOnly = await test.request('PATCH', `${SSLS}/6/key`, JSON.stringify(other.key));
    assert.equal(keyOnly.status, 200, keyOnly.text);
    assert.match(keyOnly.json.value.key, BASE64);
    assert.ok(!((await rawStoredValue(test, 'ssls', '6')) as string).includes(pemBody(other.key)));
    // The stored (encrypted) key still matches on a later unrelated PATCH.
    assert.equal((await test.request('PATCH', `${SSLS}/6`, { desc: 'still valid' })).status, 200);
    // A mismatched key through PATCH is refused too.
    assertError(
      await test.request('PATCH', `${SSLS}/6/key`, JSON.stringify(server.key)),
      'private key does not match the certificate',
    );
    assertError(
      await test.request('PATCH', `${SSLS}/6`, { status: 2 }),
      'invalid configuration: property "status" validation failed: matches none of the enum values',
    );
  });

  it('ssls have no reference check on DELETE; ids follow the ssl wording', async () => {
    await test.request('PUT', '/apisix/admin/upstreams/u', {
      nodes: { '127.0.0.1:1': 1 },
      tls: { client_cert_id: 'client' },
    });
    assertExactJson(await test.request('DELETE', `${SSLS}/client`), 200, {
      deleted: '1',
      key: '/apisix/ssls/client',
    });
    assertError(
      await test.request('PUT', `${SSLS}/1`, {
        id: '9',
        cert: server.cert,
        key: server.key,
        sni: 'a.com',
      }),
      'wrong ssl id',
    );
    assertError(
      await test.request('PUT', SSLS, { cert: server.cert, key: server.key, sni: 'a.com' }),
      'missing ssl id',
    );
    const posted = await test.request('POST', SSLS, {
      cert: server.cert,
      key: server.key,
      sni: 'a.com',
    });
    assert.equal(posted.status, 201, posted.text);
    assert.match(posted.json.key, /^\/apisix\/ssls\/\d{20}$/);
    assert.match(posted.json.value.key, BASE64);
    assertError(
      await test.request('POST', `${SSLS}/1`, { cert: server.cert, key: server.key, sni: 'a.com' }),
      'wrong ssl id, do not need it',
    );
  });
});
