import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCoreSchema, validateAgainstSchemaOnly } from './index';

describe('GET /apisix/admin/schema/{name}', () => {
  it('serves the stream-relevant core schemas', () => {
    for (const name of [
      'stream_route',
      'upstream',
      'ssl',
      'service',
      'id_schema',
      'health_checker',
      'plugin_injected_schema',
    ]) {
      assert.ok(getCoreSchema(name), name);
    }
    const streamRoute = getCoreSchema('stream_route');
    assert.ok(streamRoute && !Array.isArray(streamRoute));
    assert.equal((streamRoute as { additionalProperties?: boolean }).additionalProperties, false);
    assert.equal(Array.isArray(getCoreSchema('ip_def')), true);
  });

  it('does not know plugin_metadata, HTTP-only or unknown names', () => {
    for (const name of ['plugin_metadata', 'route', 'consumer', 'nope']) {
      assert.equal(getCoreSchema(name), undefined, name);
    }
  });

  it('returns a mutable copy', () => {
    const upstream = getCoreSchema('upstream') as { properties: Record<string, unknown> };
    upstream.properties.nodes = 'changed';
    assert.notEqual(
      (getCoreSchema('upstream') as { properties: Record<string, unknown> }).properties.nodes,
      'changed',
    );
  });
});

describe('POST /apisix/admin/schema/validate/{resource}', () => {
  it('returns the raw schema text, without prefix or extra checks', () => {
    assert.deepEqual(validateAgainstSchemaOnly('stream_routes', { server_port: 70000 }), {
      ok: false,
      message: 'property "server_port" validation failed: expected 70000 to be at most 65535',
    });
    assert.deepEqual(validateAgainstSchemaOnly('stream_routes', { remote_addr: ':/8' }), {
      ok: true,
    });
    assert.deepEqual(validateAgainstSchemaOnly('stream_routes', { plugins: { nope: {} } }), {
      ok: true,
    });
    assert.deepEqual(
      validateAgainstSchemaOnly('upstreams', { nodes: [{ host: '::1', port: 80, weight: 1 }] }),
      { ok: true },
    );
    assert.deepEqual(
      validateAgainstSchemaOnly('upstreams', { nodes: { '127.0.0.1:80': 1 }, type: 'chash' }),
      { ok: true },
    );
    assert.deepEqual(validateAgainstSchemaOnly('ssls', { sni: 'test.com' }), {
      ok: false,
      message: 'then clause did not match',
    });
    assert.deepEqual(validateAgainstSchemaOnly('services', { hosts: [] }), {
      ok: false,
      message: 'property "hosts" validation failed: expect array to have at least 1 items',
    });
  });

  it('words a missing body like Lua nil', () => {
    assert.deepEqual(validateAgainstSchemaOnly('upstreams', undefined), {
      ok: false,
      message: 'wrong type: expected object, got nil',
    });
  });

  it('knows only resources with a schema', () => {
    assert.equal(validateAgainstSchemaOnly('plugin_metadata', {}), undefined);
    assert.equal(validateAgainstSchemaOnly('routes', {}), undefined);
  });
});
