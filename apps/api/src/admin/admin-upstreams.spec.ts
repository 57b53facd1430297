/**
 * Admin API, upstreams: apisix-stream-spec §1.6, §1.8 and scenarios 24–29, 34 and 49 of §5.2,
 * plus Strait's deliberate improvements (unknown type, stream-route references on DELETE).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSelfSignedCertificate } from '../apisix-schema/test-certificates';
import {
  assertError,
  assertExactJson,
  assertKeyNotFound,
  assertStoredItem,
  assertTimestamp,
  assertWriteResult,
  eventually,
  nextSecond,
  rawStoredValue,
  startStreamApp,
} from '../testing/admin-assertions';
import type { TestApp } from '../testing/test-app';

const UPSTREAMS = '/apisix/admin/upstreams';
const NODES = { '127.0.0.1:8080': 1 };

describe('upstreams: create, ids and validation (scenarios 24-27, 49)', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('PUT stores the body as sent (no defaults), GET adds indexes, POST makes a 20-digit id', async () => {
    const body = { nodes: { '127.0.0.1:8080': 1 }, type: 'roundrobin' };
    assertWriteResult(
      await test.request('PUT', `${UPSTREAMS}/1`, body),
      201,
      '/apisix/upstreams/1',
      {
        ...body,
        id: '1',
      },
    );
    const stored = assertStoredItem(
      await test.request('GET', `${UPSTREAMS}/1`),
      '/apisix/upstreams/1',
    );
    for (const injected of ['scheme', 'pass_host', 'hash_on', 'retries', 'keepalive_pool']) {
      assert.equal(stored[injected], undefined, `${injected} must not be written back`);
    }
    const posted = await test.request('POST', UPSTREAMS, body);
    assert.equal(posted.status, 201, posted.text);
    assert.match(posted.json.key, /^\/apisix\/upstreams\/\d{20}$/);
    assert.equal(posted.json.key, `/apisix/upstreams/${posted.json.value.id}`);
  });

  it('id rules use the upstream wording', async () => {
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, { id: '2', nodes: NODES }),
      'wrong upstream id',
    );
    assertError(await test.request('PUT', UPSTREAMS, { nodes: NODES }), 'missing upstream id');
    assertError(
      await test.request('POST', `${UPSTREAMS}/1`, { nodes: NODES }),
      'wrong upstream id, do not need it',
    );
    assertError(
      await test.request('PUT', `${UPSTREAMS}/invalid_id$`, { nodes: NODES }),
      'invalid configuration: property "id" validation failed: object matches none of the required',
    );
    assertError(await test.request('DELETE', UPSTREAMS), 'missing upstream id');
    assertError(await test.request('PATCH', UPSTREAMS, { desc: 'x' }), 'missing upstream id');
  });

  it('scenario 24: chash needs a key matching its hash_on pattern', async () => {
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, { nodes: NODES, type: 'chash' }),
      'missing key',
    );
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, {
        nodes: NODES,
        type: 'chash',
        key: 'not_support',
      }),
      'invalid configuration: failed to match pattern "^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$" with "not_support"',
    );
    assert.equal(
      (
        await test.request('PUT', `${UPSTREAMS}/c`, {
          nodes: NODES,
          type: 'chash',
          key: 'remote_addr',
        })
      ).status,
      201,
    );
  });

  it('scenario 25: timeout, retries and retry_timeout bounds', async () => {
    const zero = await test.request('PUT', `${UPSTREAMS}/1`, {
      nodes: NODES,
      timeout: { connect: 0, send: 0, read: 0 },
    });
    assert.equal(zero.status, 400);
    assert.match(
      zero.json.error_msg,
      /^invalid configuration: property "timeout" validation failed: property "(connect|send|read)" validation failed: expected 0 to be greater than 0$/,
    );
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, {
        nodes: NODES,
        timeout: { connect: 1, send: 1 },
      }),
      'invalid configuration: property "timeout" validation failed: property "read" is required',
    );
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, { nodes: NODES, retries: -1 }),
      'invalid configuration: property "retries" validation failed: expected -1 to be at least 0',
    );
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, { nodes: NODES, retry_timeout: -1 }),
      'invalid configuration: property "retry_timeout" validation failed: expected -1 to be at least 0',
    );
  });

  it('scenario 26: node addresses', async () => {
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, {
        nodes: [{ host: '::1', port: 80, weight: 1 }],
      }),
      "invalid configuration: IPv6 address must be enclosed with '[' and ']'",
    );
    const none =
      'invalid configuration: property "nodes" validation failed: object matches none of the required';
    for (const node of [
      { host: '127.0.0.1', port: 80, weight: -1 },
      { host: '127.0.0.1', port: 0, weight: 1 },
      { port: 80, weight: 1 },
    ]) {
      assertError(await test.request('PUT', `${UPSTREAMS}/1`, { nodes: [node] }), none);
    }
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, { nodes: { '127.0.0.1:99999': 1 } }),
      'invalid port 99999',
    );
    assert.equal(
      (
        await test.request('PUT', `${UPSTREAMS}/v6`, {
          nodes: [{ host: '[::1]', port: 80, weight: 1 }],
        })
      ).status,
      201,
    );
  });

  it('scenario 27: health checks', async () => {
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, {
        nodes: NODES,
        checks: { passive: { unhealthy: { tcp_failures: 1 } } },
      }),
      'invalid configuration: property "checks" validation failed: object matches none of the required: ["active"] or ["active","passive"]',
    );
    const reply = await test.request('PUT', `${UPSTREAMS}/1`, {
      nodes: NODES,
      checks: { active: { healthy: { successes: 255 } } },
    });
    assertError(
      reply,
      'invalid configuration: property "checks" validation failed: property "active" validation failed: property "healthy" validation failed: property "successes" validation failed: expected 255 to be at most 254',
    );
    assert.equal(
      (
        await test.request('PUT', `${UPSTREAMS}/hc`, {
          nodes: NODES,
          retries: 0,
          checks: { active: { type: 'tcp', unhealthy: { tcp_failures: 1, interval: 1 } } },
        })
      ).status,
      201,
    );
  });

  it('scenario 49: empty nodes are accepted', async () => {
    assertWriteResult(
      await test.request('PUT', `${UPSTREAMS}/empty`, { nodes: {} }),
      201,
      '/apisix/upstreams/empty',
      {
        nodes: {},
        id: 'empty',
      },
    );
    assert.equal((await test.request('PUT', `${UPSTREAMS}/empty2`, { nodes: [] })).status, 201);
  });

  it('an unknown type is a 400 (deliberate improvement over APISIX)', async () => {
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, { nodes: NODES, type: 'unknown' }),
      'invalid configuration: property "type" validation failed: matches none of the enum values',
    );
    for (const type of ['roundrobin', 'chash', 'least_conn', 'ewma']) {
      const body =
        type === 'chash' ? { nodes: NODES, type, key: 'remote_addr' } : { nodes: NODES, type };
      assert.equal((await test.request('PUT', `${UPSTREAMS}/t-${type}`, body)).status, 201, type);
    }
  });

  it('concurrent writes are serialised: one PUT creates, POST ids are distinct', async () => {
    const puts = await Promise.all(
      Array.from({ length: 8 }, () => test.request('PUT', `${UPSTREAMS}/race`, { nodes: NODES })),
    );
    assert.deepEqual(
      puts.map((reply) => reply.status).sort(),
      [200, 200, 200, 200, 200, 200, 200, 201],
    );
    const posts = await Promise.all(
      Array.from({ length: 8 }, () => test.request('POST', UPSTREAMS, { nodes: NODES })),
    );
    assert.equal(new Set(posts.map((reply) => reply.json.value.id as string)).size, 8);
    const race = await test.request('GET', `${UPSTREAMS}/race`);
    assert.ok(race.json.modifiedIndex >= race.json.createdIndex + 7);
  });

  it('pass_host rewrite needs upstream_host', async () => {
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, { nodes: NODES, pass_host: 'rewrite' }),
      "`upstream_host` can't be empty when `pass_host` is `rewrite`",
    );
  });
});

describe('upstreams: PATCH (scenario 28, spec 1.6)', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('deep merge keeps other fields, moves update_time, keeps create_time', async () => {
    const created = await test.request('PUT', `${UPSTREAMS}/1`, {
      nodes: { '127.0.0.1:8080': 1 },
      type: 'roundrobin',
      labels: { env: 'prod' },
      timeout: { connect: 1, send: 2, read: 3 },
    });
    assert.equal(created.status, 201);
    const before = await test.request('GET', `${UPSTREAMS}/1`);
    await nextSecond();
    const reply = await test.request('PATCH', `${UPSTREAMS}/1`, { desc: 'd' });
    assertWriteResult(reply, 200, '/apisix/upstreams/1', {
      nodes: { '127.0.0.1:8080': 1 },
      type: 'roundrobin',
      labels: { env: 'prod' },
      timeout: { connect: 1, send: 2, read: 3 },
      desc: 'd',
      id: '1',
    });
    assert.equal(reply.json.value.create_time, created.json.value.create_time);
    assert.ok(reply.json.value.update_time > created.json.value.update_time);
    const after = await test.request('GET', `${UPSTREAMS}/1`);
    assert.equal(after.json.createdIndex, before.json.createdIndex);
    assert.ok(after.json.modifiedIndex > before.json.modifiedIndex);
  });

  it('objects merge, null deletes, scalars and arrays replace', async () => {
    const merged = await test.request('PATCH', `${UPSTREAMS}/1`, {
      nodes: { '127.0.0.1:8081': 3 },
      timeout: { read: 9 },
      labels: { env: null, team: 'edge' },
      desc: null,
      type: 'least_conn',
    });
    assertWriteResult(merged, 200, '/apisix/upstreams/1', {
      nodes: { '127.0.0.1:8080': 1, '127.0.0.1:8081': 3 },
      type: 'least_conn',
      labels: { team: 'edge' },
      timeout: { connect: 1, send: 2, read: 9 },
      id: '1',
    });
    await test.request('PUT', `${UPSTREAMS}/arr`, {
      nodes: [
        { host: '127.0.0.1', port: 1, weight: 1 },
        { host: '127.0.0.2', port: 2, weight: 2 },
      ],
    });
    const replaced = await test.request('PATCH', `${UPSTREAMS}/arr`, {
      nodes: [{ host: '127.0.0.3', port: 3, weight: 3 }],
    });
    assert.equal(replaced.status, 200, replaced.text);
    assert.deepEqual(replaced.json.value.nodes, [{ host: '127.0.0.3', port: 3, weight: 3 }]);
  });

  it('a sub-path replaces the value there with the raw JSON body', async () => {
    const desc = await test.request('PATCH', `${UPSTREAMS}/1/desc`, '"new"');
    assert.equal(desc.status, 200, desc.text);
    assert.equal(desc.json.value.desc, 'new');
    assert.equal(desc.json.key, '/apisix/upstreams/1');
    const nodes = await test.request('PATCH', `${UPSTREAMS}/1/nodes`, { '127.0.0.1:9000': 5 });
    assert.deepEqual(nodes.json.value.nodes, { '127.0.0.1:9000': 5 });
    const retries = await test.request('PATCH', `${UPSTREAMS}/1/retries`, '1');
    assert.equal(retries.json.value.retries, 1);
    // Missing intermediate objects are created.
    const created = await test.request('PATCH', `${UPSTREAMS}/arr/labels/env`, '"prod"');
    assert.equal(created.status, 200, created.text);
    assert.deepEqual(created.json.value.labels, { env: 'prod' });
    const nested = await test.request('PATCH', `${UPSTREAMS}/1/timeout/read`, '7');
    assert.deepEqual(nested.json.value.timeout, { connect: 1, send: 2, read: 7 });
    const stored = assertStoredItem(
      await test.request('GET', `${UPSTREAMS}/1`),
      '/apisix/upstreams/1',
    );
    assert.equal(stored.desc, 'new');
    assert.equal(stored.retries, 1);
  });

  it('PATCH may set the timestamps explicitly (t/admin/ssl.t TEST 18)', async () => {
    const reply = await test.request('PATCH', `${UPSTREAMS}/1`, { create_time: 0, update_time: 1 });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json.value.create_time, 0);
    assert.equal(reply.json.value.update_time, 1);
    // Otherwise update_time becomes now; a sub-path PATCH always sets it.
    const whole = await test.request('PATCH', `${UPSTREAMS}/1`, { desc: 'now' });
    assert.equal(whole.json.value.create_time, 0);
    assertTimestamp(whole.json.value.update_time);
    await test.request('PATCH', `${UPSTREAMS}/1`, { update_time: 1 });
    const sub = await test.request('PATCH', `${UPSTREAMS}/1/update_time`, '2');
    assertTimestamp(sub.json.value.update_time);
  });

  it('errors: invalid sub-path, missing or non-object body, missing target, wrong id', async () => {
    assertError(
      await test.request('PATCH', `${UPSTREAMS}/1/desc/x`, '"y"'),
      'invalid sub-path: /desc',
    );
    assertError(
      await test.request('PATCH', `${UPSTREAMS}/1/timeout/read/x`, '1'),
      'invalid sub-path: /timeout/read',
    );
    assertError(await test.request('PATCH', `${UPSTREAMS}/1`), 'missing new configuration');
    assertError(await test.request('PATCH', `${UPSTREAMS}/1/desc`), 'missing new configuration');
    assertError(await test.request('PATCH', `${UPSTREAMS}/1`, '"text"'), 'invalid configuration');
    assertError(await test.request('PATCH', `${UPSTREAMS}/1`, '[1]'), 'invalid configuration');
    // A trailing slash is a whole-object PATCH.
    assertError(await test.request('PATCH', `${UPSTREAMS}/1/`, '"text"'), 'invalid configuration');
    assert.equal(
      (await test.request('PATCH', `${UPSTREAMS}/1/`, { desc: 'slash' })).json.value.desc,
      'slash',
    );
    assertKeyNotFound(await test.request('PATCH', `${UPSTREAMS}/404`, { desc: 'x' }));
    assertKeyNotFound(await test.request('PATCH', `${UPSTREAMS}/404/desc`, '"x"'));
    assertError(await test.request('PATCH', `${UPSTREAMS}/1`, { id: '2' }), 'wrong upstream id');
    assertError(await test.request('PATCH', `${UPSTREAMS}/1/id`, '"2"'), 'wrong upstream id');
    assertError(
      await test.request('PATCH', `${UPSTREAMS}/1?ttl=abc`, { desc: 'x' }),
      'invalid argument ttl: should be a number',
    );
  });

  it('the merged object is fully validated, and a refused PATCH changes nothing', async () => {
    const before = await test.request('GET', `${UPSTREAMS}/1`);
    assertError(
      await test.request('PATCH', `${UPSTREAMS}/1`, { retries: -1 }),
      'invalid configuration: property "retries" validation failed: expected -1 to be at least 0',
    );
    assertError(await test.request('PATCH', `${UPSTREAMS}/1`, { type: 'chash' }), 'missing key');
    assertError(
      await test.request('PATCH', `${UPSTREAMS}/1`, { foo: 1 }),
      'invalid configuration: additional properties forbidden, found foo',
    );
    assertError(
      await test.request('PATCH', `${UPSTREAMS}/1/timeout`, { connect: 1 }),
      'invalid configuration: property "timeout" validation failed: property "send" is required',
    );
    assert.deepEqual((await test.request('GET', `${UPSTREAMS}/1`)).json, before.json);
  });

  it('PATCH with ?ttl= puts the object on a lease', async () => {
    await test.request('PUT', `${UPSTREAMS}/lease`, { nodes: NODES });
    assert.equal(
      (await test.request('PATCH', `${UPSTREAMS}/lease?ttl=1`, { desc: 'x' })).status,
      200,
    );
    await eventually(
      async () => (await test.request('GET', `${UPSTREAMS}/lease`)).status === 404,
      3000,
      'the patched upstream expires',
    );
  });
});

describe('upstreams: DELETE reference checks (scenario 29, deliberate improvement)', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
    for (const id of ['1', '2', '3'])
      await test.request('PUT', `${UPSTREAMS}/${id}`, { nodes: NODES });
  });
  after(() => test.close());

  it('a stream route using the upstream blocks DELETE unless ?force=true', async () => {
    assert.equal(
      (await test.request('PUT', '/apisix/admin/stream_routes/1', { upstream_id: '1' })).status,
      201,
    );
    const message = 'can not delete this upstream, stream_route [1] is still using it now';
    assertError(await test.request('DELETE', `${UPSTREAMS}/1`), message);
    assertError(await test.request('DELETE', `${UPSTREAMS}/1?force=yes`), message);
    assertError(await test.request('DELETE', `${UPSTREAMS}/1?force=1`), message);
    assertStoredItem(await test.request('GET', `${UPSTREAMS}/1`), '/apisix/upstreams/1');
    assertExactJson(await test.request('DELETE', `${UPSTREAMS}/1?force=true`), 200, {
      deleted: '1',
      key: '/apisix/upstreams/1',
    });
    assertKeyNotFound(await test.request('GET', `${UPSTREAMS}/1`));
  });

  it('a service using the upstream blocks DELETE', async () => {
    await test.request('PUT', '/apisix/admin/services/s', { upstream_id: '2' });
    assertError(
      await test.request('DELETE', `${UPSTREAMS}/2`),
      'can not delete this upstream, service [s] is still using it now',
    );
    await test.request('DELETE', '/apisix/admin/services/s');
    assertExactJson(await test.request('DELETE', `${UPSTREAMS}/2`), 200, {
      deleted: '1',
      key: '/apisix/upstreams/2',
    });
  });

  it('a traffic-split plugin pointing at the upstream blocks DELETE', async () => {
    const reply = await test.request('PUT', '/apisix/admin/stream_routes/ts', {
      plugins: {
        'traffic-split': { rules: [{ weighted_upstreams: [{ upstream_id: '3', weight: 1 }] }] },
      },
      upstream: { nodes: NODES, type: 'roundrobin' },
    });
    assert.equal(reply.status, 201, reply.text);
    assertError(
      await test.request('DELETE', `${UPSTREAMS}/3`),
      'can not delete this upstream, plugin in stream_route [ts] is still using it now',
    );
  });

  it('a numeric upstream_id, among routes that do not use it, still blocks DELETE', async () => {
    // The reference check reads only objects whose stored JSON mentions the key: the id's form
    // (number or string) and unrelated objects must not change the answer.
    await test.request('PUT', `${UPSTREAMS}/4`, { nodes: NODES, type: 'roundrobin' });
    for (const id of ['a', 'b']) {
      await test.request('PUT', `/apisix/admin/stream_routes/${id}`, {
        upstream: { nodes: NODES, type: 'roundrobin' },
      });
    }
    const reply = await test.request('PUT', '/apisix/admin/stream_routes/n', { upstream_id: 4 });
    assert.equal(reply.status, 201, reply.text);
    assertError(
      await test.request('DELETE', `${UPSTREAMS}/4`),
      'can not delete this upstream, stream_route [n] is still using it now',
    );
  });

  it('deleting a missing upstream is 404', async () => {
    assertKeyNotFound(await test.request('DELETE', `${UPSTREAMS}/404`));
    assertKeyNotFound(await test.request('DELETE', `${UPSTREAMS}/404?force=true`));
  });
});

describe('upstreams: TLS client certificates (scenario 34)', () => {
  let test: TestApp;
  const client = createSelfSignedCertificate('client.test.com');
  const server = createSelfSignedCertificate('server.test.com');
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('tls.client_cert_id must name an existing ssl of type client', async () => {
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, {
        nodes: NODES,
        tls: { client_cert_id: '9999999' },
      }),
      'failed to fetch ssl info by ssl id [9999999], response code: 404',
    );
    await test.request('PUT', '/apisix/admin/ssls/server', {
      cert: server.cert,
      key: server.key,
      sni: 'server.test.com',
    });
    assertError(
      await test.request('PUT', `${UPSTREAMS}/1`, {
        nodes: NODES,
        tls: { client_cert_id: 'server' },
      }),
      'failed to fetch ssl info by ssl id [server], wrong ssl type',
    );
    const ssl = await test.request('PUT', '/apisix/admin/ssls/client', {
      type: 'client',
      cert: client.cert,
      key: client.key,
    });
    assert.equal(ssl.status, 201, ssl.text);
    assertWriteResult(
      await test.request('PUT', `${UPSTREAMS}/1`, {
        nodes: NODES,
        tls: { client_cert_id: 'client' },
      }),
      201,
      '/apisix/upstreams/1',
      { nodes: NODES, tls: { client_cert_id: 'client' }, id: '1' },
    );
  });

  it('tls.client_key is encrypted at rest and stays usable across PATCH', async () => {
    const reply = await test.request('PUT', `${UPSTREAMS}/mtls`, {
      nodes: NODES,
      scheme: 'tls',
      tls: { client_cert: client.cert, client_key: client.key },
    });
    assert.equal(reply.status, 201, reply.text);
    const encrypted = reply.json.value.tls.client_key as string;
    assert.notEqual(encrypted, client.key);
    assert.doesNotMatch(encrypted, /PRIVATE KEY/);
    const stored = assertStoredItem(
      await test.request('GET', `${UPSTREAMS}/mtls`),
      '/apisix/upstreams/mtls',
    );
    assert.equal((stored.tls as { client_key: string }).client_key, encrypted);
    assert.equal((stored.tls as { client_cert: string }).client_cert, client.cert);
    const raw = (await rawStoredValue(test, 'upstreams', 'mtls')) as string;
    assert.ok(raw.includes(encrypted));
    assert.ok(!raw.includes('PRIVATE KEY'));
    assert.ok(!raw.includes(client.key.split('\n')[1]));
    // A PATCH validates the merged object (decrypting the stored key) and does not re-encrypt it.
    const patched = await test.request('PATCH', `${UPSTREAMS}/mtls`, { desc: 'patched' });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.json.value.tls.client_key, encrypted);
    // A mismatched pair is refused (deliberate improvement).
    assertError(
      await test.request('PUT', `${UPSTREAMS}/bad`, {
        nodes: NODES,
        tls: { client_cert: client.cert, client_key: server.key },
      }),
      'private key does not match the certificate',
    );
    assertError(
      await test.request('PUT', `${UPSTREAMS}/bad`, {
        nodes: NODES,
        tls: { client_cert: client.cert },
      }),
      'invalid configuration: property "tls" validation failed: failed to validate dependent schema for "client_cert": property "client_key" is required',
    );
  });
});
