/**
 * Plugin and schema discovery (apisix-stream-spec §1.2 "Other endpoints", scenario 22) and how
 * `stream_plugins` of the configuration gates stream route plugins (§1.8 step 5).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertAdminHeaders,
  assertError,
  assertExactJson,
  assertWriteResult,
  startStreamApp,
} from '../testing/admin-assertions';
import type { TestApp } from '../testing/test-app';

const PLUGINS = '/apisix/admin/plugins';

describe('plugins and schemas (scenario 22)', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('plugins/list?subsystem=stream: enabled names, highest priority first', async () => {
    const reply = await test.request('GET', `${PLUGINS}/list?subsystem=stream`);
    assertExactJson(reply, 200, [
      'ip-restriction',
      'limit-conn',
      'mqtt-proxy',
      'traffic-split',
      'syslog',
    ]);
    assert.equal(reply.headers.get('x-api-version'), 'v3');
    // The default subsystem is http, where Strait has no plugins.
    assertExactJson(await test.request('GET', `${PLUGINS}/list`), 200, []);
    assertExactJson(await test.request('GET', `${PLUGINS}/list?subsystem=http`), 200, []);
  });

  it('plugins/list with another subsystem: plain-text 400', async () => {
    const reply = await test.request('GET', `${PLUGINS}/list?subsystem=foo`);
    assert.equal(reply.status, 400);
    assert.equal(reply.text, 'invalid subsystem passed');
    assertAdminHeaders(reply);
  });

  it('plugins/{name}: the schema with the injected _meta and $comment', async () => {
    const reply = await test.request('GET', `${PLUGINS}/limit-conn?subsystem=stream`);
    assert.equal(reply.status, 200, reply.text);
    assertAdminHeaders(reply);
    assert.equal(reply.json.$comment, 'this is a mark for our injected plugin schema');
    assert.equal(reply.json.type, 'object');
    assert.deepEqual(reply.json.required, ['conn', 'burst', 'default_conn_delay', 'key']);
    assert.equal(reply.json.properties._meta.type, 'object');
    assert.ok('disable' in reply.json.properties._meta.properties);
    // Without subsystem Strait looks in the stream plugins (it has no HTTP ones).
    assert.deepEqual((await test.request('GET', `${PLUGINS}/limit-conn`)).json, reply.json);
    assertError(
      await test.request('GET', `${PLUGINS}/http-logger?subsystem=stream`),
      'plugin not found in subsystem stream',
      404,
    );
    assertError(
      await test.request('GET', `${PLUGINS}/limit-conn?subsystem=http`),
      'plugin not found in subsystem http',
      404,
    );
    assertError(
      await test.request('GET', `${PLUGINS}/limit-conn?subsystem=asdf`),
      'unsupported subsystem: asdf',
    );
  });

  it('plugins?all=true&subsystem=stream: every enabled plugin with priority and schema', async () => {
    const reply = await test.request('GET', `${PLUGINS}?all=true&subsystem=stream`);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(Object.keys(reply.json as object).sort(), [
      'ip-restriction',
      'limit-conn',
      'mqtt-proxy',
      'syslog',
      'traffic-split',
    ]);
    const priorities = Object.fromEntries(
      Object.entries(reply.json as Record<string, { priority: number; schema: object }>).map(
        ([name, summary]) => [name, summary.priority],
      ),
    );
    assert.deepEqual(priorities, {
      'ip-restriction': 3000,
      'limit-conn': 1003,
      'mqtt-proxy': 1000,
      'traffic-split': 966,
      syslog: 401,
    });
    assert.equal(reply.json.syslog.schema.type, 'object');
    assert.deepEqual(reply.json.syslog.metadata_schema.properties.log_format, { type: 'object' });
  });

  it('schema/{name} and schema/validate/{resource}', async () => {
    for (const name of ['stream_route', 'upstream', 'ssl']) {
      const reply = await test.request('GET', `/apisix/admin/schema/${name}`);
      assert.equal(reply.status, 200, name);
      assert.equal(reply.json.type, 'object');
    }
    const route = (await test.request('GET', '/apisix/admin/schema/stream_route')).json;
    assert.equal(route.additionalProperties, false);
    for (const absent of ['priority', 'status', 'timeout'])
      assert.equal(route.properties[absent], undefined);
    assertError(await test.request('GET', '/apisix/admin/schema/nope'), 'not found schema: nope');

    const valid = await test.request('POST', '/apisix/admin/schema/validate/stream_routes', {
      server_port: 9100,
    });
    assert.equal(valid.status, 200);
    assert.equal(valid.text, '');
    // Raw jsonschema text: no prefix, and none of the later checks.
    assertError(
      await test.request('POST', '/apisix/admin/schema/validate/stream_routes', { foo: 1 }),
      'additional properties forbidden, found foo',
    );
    for (const body of [
      { remote_addr: ':/8' },
      { upstream_id: '999' },
      { plugins: { nope: {} } },
    ]) {
      assert.equal(
        (await test.request('POST', '/apisix/admin/schema/validate/stream_routes', body)).status,
        200,
        JSON.stringify(body),
      );
    }
    assert.equal(
      (
        await test.request('POST', '/apisix/admin/schema/validate/upstreams', {
          nodes: {},
          type: 'chash',
        })
      ).status,
      200,
    );
    assertError(
      await test.request('POST', '/apisix/admin/schema/validate/ssls', { sni: 'a.com' }),
      'then clause did not match',
    );
    assertError(
      await test.request('POST', '/apisix/admin/schema/validate/nope', {}),
      'Unsupported resource type: nope',
      404,
    );
  });

  it('plugin confs on stream routes: non-objects, _meta.disable', async () => {
    assertError(
      await test.request('PUT', '/apisix/admin/stream_routes/1', {
        plugins: { 'ip-restriction': 1 },
      }),
      'invalid plugin conf 1 for plugin [ip-restriction]',
    );
    // A conf failing its schema is still accepted when the plugin is disabled through _meta.
    assertWriteResult(
      await test.request('PUT', '/apisix/admin/stream_routes/1', {
        plugins: { 'ip-restriction': { _meta: { disable: true } } },
      }),
      201,
      '/apisix/stream_routes/1',
      { plugins: { 'ip-restriction': { _meta: { disable: true } } }, id: '1' },
    );
    assertError(
      await test.request('PUT', '/apisix/admin/stream_routes/1', {
        plugins: { 'limit-conn': { conn: 1, burst: 1, default_conn_delay: 1 } },
      }),
      'failed to check the configuration of stream plugin [limit-conn]: property "key" is required',
    );
  });
});

describe('plugins: stream_plugins from the configuration', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp({ extraYaml: 'stream_plugins: [syslog, ip-restriction]' });
  });
  after(() => test.close());

  it('only the listed plugins are enabled, still sorted by priority', async () => {
    assertExactJson(await test.request('GET', `${PLUGINS}/list?subsystem=stream`), 200, [
      'ip-restriction',
      'syslog',
    ]);
    assertError(
      await test.request('GET', `${PLUGINS}/limit-conn?subsystem=stream`),
      'plugin not found in subsystem stream',
      404,
    );
    assertError(
      await test.request('PUT', '/apisix/admin/stream_routes/1', {
        plugins: { 'limit-conn': { conn: 1, burst: 1, default_conn_delay: 1, key: 'remote_addr' } },
      }),
      'unknown plugin [limit-conn]',
    );
    // plugin_metadata accepts every shipped plugin, enabled or not.
    assert.equal(
      (await test.request('PUT', '/apisix/admin/plugin_metadata/limit-conn', {})).status,
      201,
    );
  });
});
