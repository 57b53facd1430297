/**
 * Admin API, services (as used by stream_route.service_id, spec 3.6 and scenario 47) and
 * plugin_metadata/{plugin} (spec 1.2, 1.8).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertError,
  assertExactJson,
  assertJson,
  assertKeyNotFound,
  assertStoredItem,
  assertWriteResult,
  listKeys,
  startStreamApp,
  upstream,
} from '../testing/admin-assertions';
import type { TestApp } from '../testing/test-app';

const SERVICES = '/apisix/admin/services';
const METADATA = '/apisix/admin/plugin_metadata';

describe('services', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('CRUD with APISIX envelopes', async () => {
    assertJson(await test.request('GET', SERVICES), 200, { list: [], total: 0 });
    assertWriteResult(
      await test.request('PUT', `${SERVICES}/1`, { upstream: upstream(), name: 'svc' }),
      201,
      '/apisix/services/1',
      { upstream: upstream(), name: 'svc', id: '1' },
    );
    const stored = assertStoredItem(
      await test.request('GET', `${SERVICES}/1`),
      '/apisix/services/1',
    );
    assert.deepEqual(stored.upstream, upstream());
    const patched = await test.request('PATCH', `${SERVICES}/1`, { desc: 'patched' });
    assertWriteResult(patched, 200, '/apisix/services/1', {
      upstream: upstream(),
      name: 'svc',
      desc: 'patched',
      id: '1',
    });
    const posted = await test.request('POST', SERVICES, { upstream: upstream() });
    assert.equal(posted.status, 201, posted.text);
    assert.match(posted.json.key, /^\/apisix\/services\/\d{20}$/);
    assert.deepEqual(listKeys(await test.request('GET', `${SERVICES}?name=^svc$`)), [
      '/apisix/services/1',
    ]);
    assertExactJson(
      await test.request('DELETE', posted.json.key.replace('/apisix', '/apisix/admin')),
      200,
      {
        deleted: '1',
        key: posted.json.key,
      },
    );
  });

  it('ids, references and validation use the service wording', async () => {
    assertError(await test.request('PUT', `${SERVICES}/1`, { id: '2' }), 'wrong service id');
    assertError(await test.request('PUT', SERVICES, {}), 'missing service id');
    assertError(
      await test.request('POST', `${SERVICES}/1`, {}),
      'wrong service id, do not need it',
    );
    assertError(
      await test.request('PUT', `${SERVICES}/2`, { upstream_id: '9' }),
      'failed to fetch upstream info by upstream id [9], response code: 404',
    );
    // A service's inline upstream gets the full upstream checks (unlike a stream route's).
    assertError(
      await test.request('PUT', `${SERVICES}/2`, { upstream: { nodes: {}, type: 'chash' } }),
      'missing key',
    );
    assertError(
      await test.request('PUT', `${SERVICES}/2`, { plugins: { 'mqttt-proxy': {} } }),
      'unknown plugin [mqttt-proxy]',
    );
    assertError(
      await test.request('PUT', `${SERVICES}/2`, { create_time: 1 }),
      'the property is forbidden:  create_time',
    );
  });

  it('scenario 47: a service used by a stream route cannot be deleted unless ?force=true', async () => {
    assert.equal(
      (await test.request('PUT', '/apisix/admin/stream_routes/1', { service_id: '1' })).status,
      201,
    );
    const message = 'can not delete this service directly, stream_route [1] is still using it now';
    assertError(await test.request('DELETE', `${SERVICES}/1`), message);
    assertError(await test.request('DELETE', `${SERVICES}/1?force=yes`), message);
    // Updating the service needs no change to the route.
    assert.equal(
      (await test.request('PATCH', `${SERVICES}/1/upstream/nodes`, { '127.0.0.1:1996': 1 })).status,
      200,
    );
    assertExactJson(await test.request('DELETE', `${SERVICES}/1?force=true`), 200, {
      deleted: '1',
      key: '/apisix/services/1',
    });
    assertKeyNotFound(await test.request('GET', `${SERVICES}/1`));
    assertKeyNotFound(await test.request('DELETE', `${SERVICES}/1`));
  });
});

describe('plugin_metadata', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('PUT creates (201) then replaces (200); the id is the plugin name', async () => {
    const body = { log_format: { host: '$host', client_ip: '$remote_addr' } };
    assertWriteResult(
      await test.request('PUT', `${METADATA}/syslog`, body),
      201,
      '/apisix/plugin_metadata/syslog',
      {
        ...body,
        id: 'syslog',
      },
    );
    assertWriteResult(
      await test.request('PUT', `${METADATA}/syslog`, body),
      200,
      '/apisix/plugin_metadata/syslog',
      {
        ...body,
        id: 'syslog',
      },
    );
    const stored = assertStoredItem(
      await test.request('GET', `${METADATA}/syslog`),
      '/apisix/plugin_metadata/syslog',
    );
    assert.deepEqual(stored.log_format, body.log_format);
    assert.deepEqual(listKeys(await test.request('GET', METADATA)), [
      '/apisix/plugin_metadata/syslog',
    ]);
  });

  it('validation: the plugin metadata_schema, plugin names', async () => {
    assertError(
      await test.request('PUT', `${METADATA}/syslog`, { log_format: 'text' }),
      'invalid configuration: property "log_format" validation failed: wrong type: expected object, got string',
    );
    assertError(await test.request('PUT', `${METADATA}/no-such-plugin`, {}), 'invalid plugin name');
    assertError(await test.request('PUT', METADATA, {}), 'missing plugin name');
    // The name comes from the URL only: a body id neither names nor contradicts it.
    assertError(
      await test.request('PUT', METADATA, { id: 'syslog', log_format: {} }),
      'missing plugin name',
    );
    const renamed = await test.request('PUT', `${METADATA}/syslog`, {
      id: 'other',
      log_format: {},
    });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.json.value.id, 'syslog');
    assertError(await test.request('DELETE', METADATA), 'missing plugin name');
    // A plugin without a metadata schema accepts any object.
    assert.equal(
      (await test.request('PUT', `${METADATA}/limit-conn`, { anything: { goes: [1] } })).status,
      201,
    );
  });

  it('POST and PATCH are 405', async () => {
    assertError(
      await test.request('POST', METADATA, { log_format: {} }),
      'not supported `POST` method for plugin_metadata',
      405,
    );
    assertError(
      await test.request('POST', `${METADATA}/syslog`, { log_format: {} }),
      'not supported `POST` method for plugin_metadata',
      405,
    );
    assertError(
      await test.request('PATCH', `${METADATA}/syslog`, { log_format: {} }),
      'not supported `PATCH` method for plugin_metadata',
      405,
    );
    assertError(
      await test.request('PATCH', `${METADATA}/syslog/log_format`, {}),
      'not supported `PATCH` method for plugin_metadata',
      405,
    );
  });

  it('DELETE', async () => {
    assertExactJson(await test.request('DELETE', `${METADATA}/syslog`), 200, {
      deleted: '1',
      key: '/apisix/plugin_metadata/syslog',
    });
    assertKeyNotFound(await test.request('DELETE', `${METADATA}/syslog`));
    assertKeyNotFound(await test.request('GET', `${METADATA}/syslog`));
  });
});
