/**
 * Admin API, stream_routes: apisix-stream-spec §1 and scenarios 1–20 and 23 of §5.2, plus every
 * curl body of the seed document (docs/en/latest/stream-proxy.md), against the real AppModule.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResourceStore } from '../store/resource-store';
import {
  assertError,
  assertExactJson,
  assertJson,
  assertKeyNotFound,
  assertStoredItem,
  assertTimestamp,
  assertWriteResult,
  eventually,
  listKeys,
  nextSecond,
  rawStoredValue,
  startStreamApp,
  upstream,
} from '../testing/admin-assertions';
import { createSelfSignedCertificate } from '../apisix-schema/test-certificates';
import { startTestApp, type TestApp } from '../testing/test-app';

const ROUTES = '/apisix/admin/stream_routes';

describe('stream_routes: create, read, list, delete (scenarios 1-8)', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
    await test.request('PUT', '/apisix/admin/upstreams/1', upstream());
  });
  after(() => test.close());

  it('scenario 3: an empty store lists {"list":[],"total":0}', async () => {
    const reply = await test.request('GET', ROUTES);
    assertExactJson(reply, 200, { list: [], total: 0 });
    assert.equal(reply.headers.get('x-api-version'), 'v3');
  });

  it('scenario 1: PUT creates (201), echoes the stored object without indexes or defaults', async () => {
    const body = { remote_addr: '127.0.0.1', desc: 'new route', upstream: upstream() };
    const reply = await test.request('PUT', `${ROUTES}/1`, body);
    const value = assertWriteResult(reply, 201, '/apisix/stream_routes/1', { ...body, id: '1' });
    assert.equal(reply.headers.get('x-api-version'), 'v3');
    assert.equal(reply.json.createdIndex, undefined);
    const inline = value.upstream as Record<string, unknown>;
    for (const injected of ['scheme', 'pass_host', 'hash_on', 'retries']) {
      assert.equal(inline[injected], undefined, `${injected} must not be written back`);
    }
    // Same key again: replaced, 200.
    const again = await test.request('PUT', `${ROUTES}/1`, body);
    assertWriteResult(again, 200, '/apisix/stream_routes/1', { ...body, id: '1' });
  });

  it('scenario 2: GET one has the same value plus integer createdIndex/modifiedIndex', async () => {
    const reply = await test.request('GET', `${ROUTES}/1`);
    const value = assertStoredItem(reply, '/apisix/stream_routes/1');
    const { create_time: created, update_time: updated, ...rest } = value;
    assertTimestamp(created);
    assertTimestamp(updated);
    assert.deepEqual(rest, {
      remote_addr: '127.0.0.1',
      desc: 'new route',
      upstream: upstream(),
      id: '1',
    });
  });

  it('scenario 3: GET list is {list:[{key,value,createdIndex,modifiedIndex}],total}', async () => {
    const one = await test.request('GET', `${ROUTES}/1`);
    const reply = await test.request('GET', ROUTES);
    assertJson(reply, 200, { list: [one.json], total: 1 });
    assert.equal(reply.headers.get('x-api-version'), 'v3');
  });

  it('scenario 4: DELETE answers {"deleted":"1","key":...}; then 404 Key not found', async () => {
    await test.request('PUT', `${ROUTES}/del`, { upstream: upstream() });
    const reply = await test.request('DELETE', `${ROUTES}/del`);
    assertExactJson(reply, 200, { deleted: '1', key: '/apisix/stream_routes/del' });
    assert.equal(reply.headers.get('x-api-version'), 'v3');
    assertKeyNotFound(await test.request('DELETE', `${ROUTES}/del`));
    assertKeyNotFound(await test.request('GET', `${ROUTES}/del`));
  });

  it('scenario 5: POST generates increasing 20-digit ids', async () => {
    const body = { remote_addr: '127.0.0.1', upstream: upstream() };
    const first = await test.request('POST', ROUTES, body);
    assert.equal(first.status, 201, first.text);
    assert.match(first.json.key, /^\/apisix\/stream_routes\/\d{20}$/);
    const id = (first.json.key as string).split('/').pop() as string;
    assertWriteResult(first, 201, `/apisix/stream_routes/${id}`, { ...body, id });
    const second = await test.request('POST', ROUTES, body);
    const secondId = second.json.value.id as string;
    assert.match(secondId, /^\d{20}$/);
    assert.ok(BigInt(secondId) > BigInt(id), `${secondId} > ${id}`);
    assertStoredItem(
      await test.request('GET', `${ROUTES}/${secondId}`),
      `/apisix/stream_routes/${secondId}`,
    );
  });

  it('scenario 6: POST with an id (URL or body) is refused', async () => {
    assertError(
      await test.request('POST', `${ROUTES}/1`, { upstream: upstream() }),
      'wrong stream route id, do not need it',
    );
    assertError(
      await test.request('POST', ROUTES, { id: '3', upstream: upstream() }),
      'wrong stream route id, do not need it',
    );
  });

  it('scenario 7: id in the body must match the URL; PUT on the collection takes it', async () => {
    assertError(
      await test.request('PUT', `${ROUTES}/1`, { id: '2', upstream: upstream() }),
      'wrong stream route id',
    );
    assertError(
      await test.request('PUT', ROUTES, { upstream: upstream() }),
      'missing stream route id',
    );
    assertWriteResult(
      await test.request('PUT', ROUTES, { id: 'abc', upstream: upstream() }),
      201,
      '/apisix/stream_routes/abc',
      { id: 'abc', upstream: upstream() },
    );
    // An integer body id is stored as an integer (the key is its string form).
    assertWriteResult(
      await test.request('PUT', ROUTES, { id: 7, upstream: upstream() }),
      201,
      '/apisix/stream_routes/7',
      { id: 7, upstream: upstream() },
    );
    assert.equal(
      assertStoredItem(await test.request('GET', `${ROUTES}/7`), '/apisix/stream_routes/7').id,
      7,
    );
    // A body id equal to the URL id (even as a number) is accepted; the URL string wins.
    assertWriteResult(
      await test.request('PUT', `${ROUTES}/1`, { id: 1, upstream: upstream() }),
      200,
      '/apisix/stream_routes/1',
      { id: '1', upstream: upstream() },
    );
  });

  it('scenario 8: id syntax (1-64 of [a-zA-Z0-9-_.])', async () => {
    assertWriteResult(
      await test.request('PUT', `${ROUTES}/a-b-c-ABC_0123`, { upstream: upstream() }),
      201,
      '/apisix/stream_routes/a-b-c-ABC_0123',
      { id: 'a-b-c-ABC_0123', upstream: upstream() },
    );
    assertExactJson(await test.request('DELETE', `${ROUTES}/a-b-c-ABC_0123`), 200, {
      deleted: '1',
      key: '/apisix/stream_routes/a-b-c-ABC_0123',
    });
    const invalid =
      'invalid configuration: property "id" validation failed: object matches none of the required';
    assertError(await test.request('PUT', `${ROUTES}/*invalid`, { upstream: upstream() }), invalid);
    assertError(
      await test.request('PUT', `${ROUTES}/invalid_id$`, { upstream: upstream() }),
      invalid,
    );
    assertError(
      await test.request('PUT', `${ROUTES}/${'a'.repeat(65)}`, { upstream: upstream() }),
      invalid,
    );
    assertError(await test.request('PUT', ROUTES, { id: 0, upstream: upstream() }), invalid);
    assert.equal(
      (await test.request('PUT', `${ROUTES}/${'a'.repeat(64)}`, { upstream: upstream() })).status,
      201,
    );
    assertKeyNotFound(await test.request('GET', `${ROUTES}/*invalid`));
  });

  it('DELETE without an id is refused', async () => {
    assertError(await test.request('DELETE', ROUTES), 'missing stream route id');
  });
});

describe('stream_routes: validation (scenarios 9-17)', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
    await test.request('PUT', '/apisix/admin/upstreams/1', upstream());
    await test.request('PUT', `${ROUTES}/1`, { upstream: upstream() });
  });
  after(() => test.close());

  it('scenario 9: PATCH is 405 on stream routes, with or without id and sub-path', async () => {
    const message = 'not supported `PATCH` method for stream route';
    assertError(await test.request('PATCH', `${ROUTES}/1`, { desc: 'x' }), message, 405);
    assertError(await test.request('PATCH', `${ROUTES}/1/desc`, '"x"'), message, 405);
    assertError(await test.request('PATCH', ROUTES, { desc: 'x' }), message, 405);
    assertError(await test.request('PATCH', `${ROUTES}/404`, { desc: 'x' }), message, 405);
    assert.equal(
      assertStoredItem(await test.request('GET', `${ROUTES}/1`), '/apisix/stream_routes/1').desc,
      undefined,
    );
  });

  it('scenario 10: remote_addr passes the schema regex but not the IP check', async () => {
    assertError(
      await test.request('PUT', `${ROUTES}/1`, { remote_addr: ':/8', upstream_id: '1' }),
      'invalid remote_addr: :/8',
    );
    assertError(
      await test.request('PUT', `${ROUTES}/1`, { server_addr: ':/8', upstream_id: '1' }),
      'invalid server_addr: :/8',
    );
  });

  it('scenario 11: CIDR and IPv6 forms are accepted', async () => {
    assertWriteResult(
      await test.request('PUT', `${ROUTES}/11`, { remote_addr: '127.0.0.1/26', upstream_id: '1' }),
      201,
      '/apisix/stream_routes/11',
      { remote_addr: '127.0.0.1/26', upstream_id: '1', id: '11' },
    );
    assertWriteResult(
      await test.request('PUT', `${ROUTES}/11`, {
        remote_addr: '::1',
        server_addr: '::1',
        upstream_id: '1',
      }),
      200,
      '/apisix/stream_routes/11',
      { remote_addr: '::1', server_addr: '::1', upstream_id: '1', id: '11' },
    );
    assert.equal(
      (await test.request('PUT', `${ROUTES}/11`, { remote_addr: '::1/128', upstream_id: '1' }))
        .status,
      200,
    );
  });

  it('scenario 12: server_port above 65535', async () => {
    assertError(
      await test.request('PUT', `${ROUTES}/1`, { server_port: 70000, upstream: upstream() }),
      'invalid configuration: property "server_port" validation failed: expected 70000 to be at most 65535',
    );
  });

  it('scenario 13: unknown properties', async () => {
    assertError(
      await test.request('PUT', `${ROUTES}/1`, { foo: 1, upstream: upstream() }),
      'invalid configuration: additional properties forbidden, found foo',
    );
  });

  it('scenario 14: unknown plugin', async () => {
    assertError(
      await test.request('PUT', `${ROUTES}/1`, {
        remote_addr: '127.0.0.1',
        plugins: { 'mqttt-proxy': {} },
      }),
      'unknown plugin [mqttt-proxy]',
    );
  });

  it('scenario 15: a plugin conf failing its schema', async () => {
    assertError(
      await test.request('PUT', `${ROUTES}/1`, {
        plugins: { 'ip-restriction': {} },
        upstream_id: '1',
      }),
      'failed to check the configuration of stream plugin [ip-restriction]: value should match only one schema, but matches none',
    );
    assertWriteResult(
      await test.request('PUT', `${ROUTES}/15`, {
        plugins: { 'ip-restriction': { whitelist: ['127.0.0.0/24'] } },
        upstream_id: '1',
      }),
      201,
      '/apisix/stream_routes/15',
      {
        plugins: { 'ip-restriction': { whitelist: ['127.0.0.0/24'] } },
        upstream_id: '1',
        id: '15',
      },
    );
  });

  it('scenario 16: upstream_id and service_id must exist', async () => {
    assertError(
      await test.request('PUT', `${ROUTES}/1`, { upstream_id: '999' }),
      'failed to fetch upstream info by upstream id [999], response code: 404',
    );
    assertError(
      await test.request('PUT', `${ROUTES}/1`, { service_id: '999' }),
      'failed to fetch service info by service id [999], response code: 404',
    );
  });

  it('scenario 17: create_time and update_time are forbidden in PUT and POST bodies', async () => {
    assertError(
      await test.request('PUT', `${ROUTES}/1`, { create_time: 1, upstream: upstream() }),
      'the property is forbidden:  create_time',
    );
    assertError(
      await test.request('PUT', `${ROUTES}/1`, { update_time: 1, upstream: upstream() }),
      'the property is forbidden:  update_time',
    );
    assertError(
      await test.request('POST', ROUTES, { create_time: 1, upstream: upstream() }),
      'the property is forbidden:  create_time',
    );
    assertError(
      await test.request('PUT', `${ROUTES}/1`, { upstream: { ...upstream(), update_time: 1 } }),
      'the property is forbidden:  upstream.update_time',
    );
    assertError(
      await test.request('PUT', `${ROUTES}/1`, {
        plugins: { create_time: 1 },
        upstream: upstream(),
      }),
      'the property is forbidden:  plugins.create_time',
    );
  });

  it('a stream route with no upstream at all is accepted (closed at runtime)', async () => {
    assertWriteResult(
      await test.request('PUT', `${ROUTES}/empty`, { remote_addr: '127.0.0.1' }),
      201,
      '/apisix/stream_routes/empty',
      { remote_addr: '127.0.0.1', id: 'empty' },
    );
  });

  it('non-object bodies and missing bodies', async () => {
    assertError(await test.request('PUT', `${ROUTES}/1`), 'missing configurations');
    assertError(
      await test.request('PUT', `${ROUTES}/1`, '[1]'),
      'invalid configuration: wrong type: expected object, got table',
    );
    assertError(
      await test.request('PUT', `${ROUTES}/1`, '"text"'),
      'invalid configuration: wrong type: expected object, got string',
    );
  });
});

describe('stream_routes: revisions, timestamps and ttl', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('modifiedIndex grows on every write, createdIndex stays; both are store-wide', async () => {
    await test.request('PUT', `${ROUTES}/1`, { upstream: upstream() });
    const first = await test.request('GET', `${ROUTES}/1`);
    await test.request('PUT', '/apisix/admin/upstreams/u', upstream());
    await test.request('PUT', `${ROUTES}/1`, { desc: 'second', upstream: upstream() });
    const second = await test.request('GET', `${ROUTES}/1`);
    assert.equal(second.json.createdIndex, first.json.createdIndex);
    assert.ok(
      second.json.modifiedIndex > first.json.modifiedIndex + 1,
      'another key was written between',
    );
    await test.request('PUT', `${ROUTES}/2`, { upstream: upstream() });
    const other = await test.request('GET', `${ROUTES}/2`);
    assert.ok(other.json.createdIndex > second.json.modifiedIndex);
    assert.equal(other.json.createdIndex, other.json.modifiedIndex);
    // Deleting and creating again starts a new createdIndex.
    await test.request('DELETE', `${ROUTES}/2`);
    await test.request('PUT', `${ROUTES}/2`, { upstream: upstream() });
    const recreated = await test.request('GET', `${ROUTES}/2`);
    assert.ok(recreated.json.createdIndex > other.json.createdIndex);
  });

  it('PUT replace keeps create_time and moves update_time', async () => {
    const created = await test.request('PUT', `${ROUTES}/t`, { upstream: upstream() });
    assert.equal(created.status, 201);
    await nextSecond();
    const replaced = await test.request('PUT', `${ROUTES}/t`, { desc: 'x', upstream: upstream() });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.json.value.create_time, created.json.value.create_time);
    assert.ok(replaced.json.value.update_time > created.json.value.update_time);
    const stored = assertStoredItem(
      await test.request('GET', `${ROUTES}/t`),
      '/apisix/stream_routes/t',
    );
    assert.equal(stored.create_time, created.json.value.create_time);
    assert.equal(stored.update_time, replaced.json.value.update_time);
  });

  it('?ttl=abc is refused on PUT and POST', async () => {
    const message = 'invalid argument ttl: should be a number';
    assertError(
      await test.request('PUT', `${ROUTES}/ttl?ttl=abc`, { upstream: upstream() }),
      message,
    );
    assertError(await test.request('POST', `${ROUTES}?ttl=abc`, { upstream: upstream() }), message);
    assertError(await test.request('PUT', `${ROUTES}/ttl?ttl=`, { upstream: upstream() }), message);
    assertError(
      await test.request('PUT', `${ROUTES}/ttl?ttl=1&ttl=2`, { upstream: upstream() }),
      message,
    );
    assertKeyNotFound(await test.request('GET', `${ROUTES}/ttl`));
  });

  it('?ttl=1 stores the object with a lease: gone after about a second', async () => {
    const started = Date.now();
    const put = await test.request('PUT', `${ROUTES}/ttl?ttl=1`, { upstream: upstream() });
    assert.equal(put.status, 201, put.text);
    const posted = await test.request('POST', `${ROUTES}?ttl=1`, { upstream: upstream() });
    assert.equal(posted.status, 201, posted.text);
    const postedId = posted.json.value.id as string;
    assertStoredItem(await test.request('GET', `${ROUTES}/ttl`), '/apisix/stream_routes/ttl');
    await eventually(
      async () => (await test.request('GET', `${ROUTES}/ttl`)).status === 404,
      3000,
      'the ttl=1 stream route expires',
    );
    const lived = Date.now() - started;
    assert.ok(lived >= 995, `expired after ${lived} ms, not before its second`);
    assertKeyNotFound(await test.request('GET', `${ROUTES}/ttl`));
    await eventually(
      async () => (await test.request('GET', `${ROUTES}/${postedId}`)).status === 404,
      1000,
      'the ttl=1 POSTed stream route expires too',
    );
    assertKeyNotFound(await test.request('GET', `${ROUTES}/${postedId}`));
    assert.ok(!listKeys(await test.request('GET', ROUTES)).includes('/apisix/stream_routes/ttl'));
    // A replaced object without ttl keeps living.
    await test.request('PUT', `${ROUTES}/keep?ttl=1`, { upstream: upstream() });
    await test.request('PUT', `${ROUTES}/keep`, { upstream: upstream() });
    await new Promise((resolve) => setTimeout(resolve, 1300));
    assertStoredItem(await test.request('GET', `${ROUTES}/keep`), '/apisix/stream_routes/keep');
  });
});

describe('stream_routes: listing order, filters and pagination (scenarios 18-19)', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
    await test.request('PUT', '/apisix/admin/services/1', { upstream: upstream() });
    await test.request('PUT', '/apisix/admin/upstreams/1', upstream());
    // Created in the order 11, 10, ..., 1 so creation order differs from key order.
    for (let id = 11; id >= 1; id--) {
      const body =
        id % 2 === 0
          ? { server_port: 5432, service_id: '1' }
          : { server_port: 5432, upstream_id: '1' };
      const reply = await test.request('PUT', `${ROUTES}/${id}`, body);
      assert.equal(reply.status, 201, reply.text);
    }
  });
  after(() => test.close());

  it('unpaginated lists are in byte order of the key ("10" before "2")', async () => {
    const reply = await test.request('GET', ROUTES);
    assert.deepEqual(
      listKeys(reply),
      ['1', '10', '11', '2', '3', '4', '5', '6', '7', '8', '9'].map(
        (id) => `/apisix/stream_routes/${id}`,
      ),
    );
    assert.equal(reply.json.total, 11);
    for (const item of reply.json.list as Record<string, unknown>[]) {
      assert.deepEqual(Object.keys(item), ['key', 'value', 'createdIndex', 'modifiedIndex']);
    }
  });

  it('scenario 18: filter=service_id%3D1 and filter=upstream_id%3D1', async () => {
    const byService = await test.request('GET', `${ROUTES}?filter=service_id%3D1`);
    assert.deepEqual(
      listKeys(byService),
      ['10', '2', '4', '6', '8'].map((id) => `/apisix/stream_routes/${id}`),
    );
    assert.equal(byService.json.total, 5);
    const byUpstream = await test.request('GET', `${ROUTES}?filter=upstream_id%3D1`);
    assert.equal(listKeys(byUpstream).length, 6);
    assert.equal(byUpstream.json.total, 6);
    // AND-ed, and keys other than service_id/upstream_id are ignored.
    const both = await test.request('GET', `${ROUTES}?filter=service_id%3D1%26upstream_id%3D1`);
    assertJson(both, 200, { list: [], total: 0 });
    assert.equal(
      listKeys(await test.request('GET', `${ROUTES}?filter=server_port%3D1`)).length,
      11,
    );
    assert.equal(listKeys(await test.request('GET', `${ROUTES}?filter=service_id%3D2`)).length, 0);
  });

  it('scenario 19: page_size outside 10..500 is a plain-text 400', async () => {
    for (const size of ['2', '9', '501']) {
      const reply = await test.request('GET', `${ROUTES}?page=1&page_size=${size}`);
      assert.equal(reply.status, 400);
      assert.equal(reply.text, 'page_size must be between 10 and 500');
      assert.equal(reply.headers.get('content-type'), 'application/json');
    }
    assert.equal((await test.request('GET', `${ROUTES}?page=1&page_size=500`)).status, 200);
  });

  it('scenario 19: pages are sorted by createdIndex; total counts before slicing', async () => {
    const first = await test.request('GET', `${ROUTES}?page=1&page_size=10`);
    assert.equal(first.json.total, 11);
    assert.deepEqual(
      listKeys(first),
      ['11', '10', '9', '8', '7', '6', '5', '4', '3', '2'].map(
        (id) => `/apisix/stream_routes/${id}`,
      ),
    );
    const second = await test.request('GET', `${ROUTES}?page=2&page_size=10`);
    assert.deepEqual(listKeys(second), ['/apisix/stream_routes/1']);
    assert.equal(second.json.total, 11);
    // Past the end: an empty array (APISIX encodes {}; Strait's README promises []).
    assertJson(await test.request('GET', `${ROUTES}?page=3&page_size=10`), 200, {
      list: [],
      total: 11,
    });
    // page < 1 is page 1; page alone (or a non-number) means no pagination.
    assert.deepEqual(
      listKeys(await test.request('GET', `${ROUTES}?page=0&page_size=10`)),
      listKeys(first),
    );
    assert.deepEqual(
      listKeys(await test.request('GET', `${ROUTES}?page=-3&page_size=10`)),
      listKeys(first),
    );
    assert.equal(listKeys(await test.request('GET', `${ROUTES}?page=1`)).length, 11);
    assert.equal(listKeys(await test.request('GET', `${ROUTES}?page=x&page_size=10`)).length, 11);
    // Filters apply before pagination.
    const filtered = await test.request(
      'GET',
      `${ROUTES}?page=1&page_size=10&filter=upstream_id%3D1`,
    );
    assert.equal(filtered.json.total, 6);
    assert.equal(listKeys(filtered).length, 6);
  });

  it('name (regex on value.name) and label (key present) filters, AND-ed', async () => {
    await test.request('PUT', `${ROUTES}/n1`, { name: 'route-one', labels: { env: 'prod' } });
    await test.request('PUT', `${ROUTES}/n2`, { name: 'route-two', labels: { team: 'edge' } });
    await test.request('PUT', `${ROUTES}/n3`, { name: 'other', labels: { env: 'dev' } });
    assert.deepEqual(listKeys(await test.request('GET', `${ROUTES}?name=^route-`)), [
      '/apisix/stream_routes/n1',
      '/apisix/stream_routes/n2',
    ]);
    assert.deepEqual(listKeys(await test.request('GET', `${ROUTES}?name=two$`)), [
      '/apisix/stream_routes/n2',
    ]);
    assert.deepEqual(listKeys(await test.request('GET', `${ROUTES}?label=env`)), [
      '/apisix/stream_routes/n1',
      '/apisix/stream_routes/n3',
    ]);
    // The label value is not compared; an empty label matches nothing.
    assert.deepEqual(listKeys(await test.request('GET', `${ROUTES}?label=prod`)), []);
    assert.deepEqual(listKeys(await test.request('GET', `${ROUTES}?label=`)), []);
    assert.deepEqual(listKeys(await test.request('GET', `${ROUTES}?name=route&label=env`)), [
      '/apisix/stream_routes/n1',
    ]);
    const paged = await test.request('GET', `${ROUTES}?name=o&page=1&page_size=10`);
    assert.equal(paged.json.total, 3);
    for (const id of ['n1', 'n2', 'n3']) await test.request('DELETE', `${ROUTES}/${id}`);
  });

  it('repeated list arguments are a 400, not a crash', async () => {
    assertError(
      await test.request('GET', `${ROUTES}?filter=service_id%3D1&filter=upstream_id%3D1`),
      'invalid argument filter: should be a single value',
    );
    assertError(
      await test.request('GET', `${ROUTES}?name[x]=1`),
      'invalid argument name: should be a single value',
    );
  });
});

describe('stream_routes: proxy_mode http disables them (scenario 20)', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({ apisixYaml: 'proxy_mode: http' });
  });
  after(() => test.close());

  it('every method answers 400 after the token check and before the lookup', async () => {
    const message = 'stream mode is disabled, can not add stream routes';
    assertError(await test.request('PUT', `${ROUTES}/1`, { upstream: upstream() }), message);
    assertError(await test.request('GET', `${ROUTES}/1`), message);
    assertError(await test.request('GET', ROUTES), message);
    assertError(await test.request('POST', ROUTES, { upstream: upstream() }), message);
    assertError(await test.request('DELETE', `${ROUTES}/1`), message);
    assertError(await test.request('PATCH', `${ROUTES}/1`, { desc: 'x' }), message);
    const unauthenticated = await test.request('GET', `${ROUTES}/1`, undefined, { key: null });
    assertExactJson(unauthenticated, 401, {
      error_msg: 'failed to check token',
      description: 'missing apikey',
    });
    // The other resources are unaffected.
    assertJson(await test.request('GET', '/apisix/admin/upstreams'), 200, { list: [], total: 0 });
  });
});

describe('stream_routes: protocol.superior_id (scenario 23)', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('self reference, missing superior, unknown protocol', async () => {
    assertError(
      await test.request('PUT', `${ROUTES}/10`, {
        protocol: { name: 'redis', superior_id: '10' },
        upstream: upstream(),
      }),
      'stream route can not set itself as superior_id',
    );
    assertError(
      await test.request('PUT', `${ROUTES}/10`, {
        protocol: { name: 'redis', superior_id: '11' },
        upstream: upstream(),
      }),
      'failed to fetch stream routes[11], response code: 404',
    );
    assertError(
      await test.request('PUT', `${ROUTES}/10`, {
        protocol: { name: 'xxx' },
        upstream: upstream(),
      }),
      'unknown protocol [xxx]',
    );
    // No xRPC protocol is enabled in Strait's configuration, so redis is unknown too.
    assertError(
      await test.request('PUT', `${ROUTES}/10`, {
        protocol: { name: 'redis' },
        upstream: upstream(),
      }),
      'unknown protocol [redis]',
    );
  });

  it('protocol mismatch with, and DELETE of, a superior route', async () => {
    // Stored behind the admin API's back: Strait enables no xRPC protocol to create them with.
    await test.app.get(ResourceStore).write(async (session) => {
      await session.save('stream_routes', '1', {
        id: '1',
        protocol: { name: 'redis' },
        upstream: upstream(),
      });
      await session.save('stream_routes', '2', {
        id: '2',
        protocol: { name: 'redis', superior_id: '1' },
        upstream: upstream(),
      });
    });
    assertError(
      await test.request('PUT', `${ROUTES}/3`, {
        protocol: { name: 'dubbo', superior_id: '1' },
        upstream: upstream(),
      }),
      'protocol mismatch: subordinate protocol [dubbo] does not match superior protocol [redis]',
    );
    assertError(
      await test.request('DELETE', `${ROUTES}/1`),
      'can not delete this stream route directly, stream route [2] is still using it as superior_id',
    );
    assertError(
      await test.request('DELETE', `${ROUTES}/1?force=yes`),
      'can not delete this stream route directly, stream route [2] is still using it as superior_id',
    );
    assertExactJson(await test.request('DELETE', `${ROUTES}/1?force=true`), 200, {
      deleted: '1',
      key: '/apisix/stream_routes/1',
    });
  });
});

describe('stream_routes: the seed document curl bodies', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  // Sent byte for byte as `curl -X PUT -d '...'` does, form Content-Type included.
  const bodies: [string, Record<string, unknown>][] = [
    [
      '\n{\n"remote_addr": "127.0.0.1",\n"upstream": {\n"nodes": {\n"127.0.0.1:1995": 1\n},\n"type": "roundrobin"\n}\n}',
      {
        remote_addr: '127.0.0.1',
        upstream: { nodes: { '127.0.0.1:1995': 1 }, type: 'roundrobin' },
      },
    ],
    [
      '\n{\n"server_addr": "127.0.0.1",\n"server_port": 2000,\n"upstream": {\n"nodes": {\n"127.0.0.1:1995": 1\n},\n"type": "roundrobin"\n}\n}',
      {
        server_addr: '127.0.0.1',
        server_port: 2000,
        upstream: { nodes: { '127.0.0.1:1995': 1 }, type: 'roundrobin' },
      },
    ],
    [
      '\n {\n "server_addr": "127.0.0.10",\n "server_port": 9101,\n "upstream": {\n "nodes": {\n "127.0.0.1:3306": 1\n },\n "type": "roundrobin"\n }\n }',
      {
        server_addr: '127.0.0.10',
        server_port: 9101,
        upstream: { nodes: { '127.0.0.1:3306': 1 }, type: 'roundrobin' },
      },
    ],
    [
      '\n{\n"upstream": {\n"nodes": {\n"127.0.0.1:1995": 1\n},\n"type": "roundrobin"\n}\n}',
      { upstream: { nodes: { '127.0.0.1:1995': 1 }, type: 'roundrobin' } },
    ],
    [
      '\n{\n"sni": "a.test.com",\n"upstream": {\n"nodes": {\n"127.0.0.1:5991": 1\n},\n"type": "roundrobin"\n}\n}',
      { sni: 'a.test.com', upstream: { nodes: { '127.0.0.1:5991': 1 }, type: 'roundrobin' } },
    ],
    [
      '\n{\n"upstream": {\n"scheme": "tls",\n"nodes": {\n"127.0.0.1:1995": 1\n},\n"type": "roundrobin"\n}\n}',
      { upstream: { scheme: 'tls', nodes: { '127.0.0.1:1995': 1 }, type: 'roundrobin' } },
    ],
  ];

  it('every body is accepted on /stream_routes/1 and read back unchanged', async () => {
    let status = 201;
    for (const [raw, parsed] of bodies) {
      const reply = await test.request('PUT', `${ROUTES}/1`, raw, {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      assertWriteResult(reply, status, '/apisix/stream_routes/1', { ...parsed, id: '1' });
      const stored = assertStoredItem(
        await test.request('GET', `${ROUTES}/1`),
        '/apisix/stream_routes/1',
      );
      const { create_time: _created, update_time: _updated, ...rest } = stored;
      assert.deepEqual(rest, { ...parsed, id: '1' });
      status = 200;
    }
  });
});

describe('stream_routes: inline upstream private keys at rest', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('upstream.tls.client_key is encrypted in the store and never returned as PEM', async () => {
    const client = createSelfSignedCertificate('client.test.com');
    const reply = await test.request('PUT', `${ROUTES}/1`, {
      upstream: {
        ...upstream(),
        scheme: 'tls',
        tls: { client_cert: client.cert, client_key: client.key },
      },
    });
    assert.equal(reply.status, 201, reply.text);
    const written = reply.json.value.upstream.tls as { client_cert: string; client_key: string };
    assert.equal(written.client_cert, client.cert);
    assert.notEqual(written.client_key, client.key);
    assert.doesNotMatch(written.client_key, /PRIVATE KEY/);
    assert.match(written.client_key, /^[A-Za-z0-9+/]+=*$/);
    const stored = assertStoredItem(
      await test.request('GET', `${ROUTES}/1`),
      '/apisix/stream_routes/1',
    );
    assert.equal(
      (stored.upstream as { tls: { client_key: string } }).tls.client_key,
      written.client_key,
    );
    const raw = (await rawStoredValue(test, 'stream_routes', '1')) as string;
    assert.ok(raw.includes(written.client_key));
    assert.ok(!raw.includes('PRIVATE KEY'));
    assert.ok(!raw.includes(client.key.split('\n')[1]));
  });
});
