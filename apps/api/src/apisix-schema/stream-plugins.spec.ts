import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_STREAM_PLUGINS,
  getPluginSchema,
  getStreamPluginSummaries,
  listStreamPlugins,
  validatePluginMetadata,
  validateStreamRoute,
  withPluginDefaults,
} from './index';

function rejected(message: string) {
  return { ok: false, message };
}

function pluginError(name: string, message: string) {
  return rejected(`failed to check the configuration of stream plugin [${name}]: ${message}`);
}

describe('stream plugin registry (scenario 22)', () => {
  it('lists the default plugins by descending priority', () => {
    assert.deepEqual(listStreamPlugins(), [
      'ip-restriction',
      'limit-conn',
      'mqtt-proxy',
      'traffic-split',
      'syslog',
    ]);
    assert.deepEqual(listStreamPlugins(DEFAULT_STREAM_PLUGINS), listStreamPlugins());
  });

  it('places prometheus between traffic-split and syslog when enabled, and drops unknown names', () => {
    assert.deepEqual(listStreamPlugins(['syslog', 'prometheus', 'http-logger', 'ip-restriction']), [
      'ip-restriction',
      'prometheus',
      'syslog',
    ]);
  });

  it('serves plugin schemas with the injected _meta and mark', () => {
    const schema = getPluginSchema('limit-conn');
    assert.ok(schema);
    assert.equal(schema.$comment, 'this is a mark for our injected plugin schema');
    assert.deepEqual(schema.required, ['conn', 'burst', 'default_conn_delay', 'key']);
    assert.ok(schema.properties?._meta);
    assert.equal(getPluginSchema('http-logger'), undefined);
    assert.equal(getPluginSchema('prometheus'), undefined);
    assert.ok(getPluginSchema('prometheus', ['prometheus']));
  });

  it('returns copies', () => {
    const schema = getPluginSchema('syslog');
    assert.ok(schema?.properties);
    (schema.properties as Record<string, unknown>).host = 'changed';
    assert.notEqual(getPluginSchema('syslog')?.properties?.host, 'changed');
  });

  it('summarises enabled plugins for ?all=true', () => {
    const summaries = getStreamPluginSummaries();
    assert.deepEqual(Object.keys(summaries), [
      'ip-restriction',
      'limit-conn',
      'mqtt-proxy',
      'traffic-split',
      'syslog',
    ]);
    assert.equal(summaries.syslog.priority, 401);
    assert.equal(summaries.syslog.version, 0.1);
    assert.ok(summaries.syslog.metadata_schema);
    assert.equal(summaries['limit-conn'].metadata_schema, undefined);
  });

  it('fills plugin defaults for the runtime', () => {
    assert.deepEqual(withPluginDefaults('ip-restriction', { whitelist: ['127.0.0.1'] }), {
      whitelist: ['127.0.0.1'],
      message: 'Your IP address is not allowed',
      response_code: 403,
    });
    const syslog = withPluginDefaults('syslog', { host: '127.0.0.1', port: 514 }) as Record<
      string,
      unknown
    >;
    assert.equal(syslog.name, 'stream sys logger');
    assert.equal(syslog.batch_max_size, 1000);
    assert.equal(syslog.sock_type, 'tcp');
  });
});

describe('stream plugin confs', () => {
  it('ip-restriction', () => {
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'ip-restriction': { blacklist: ['127.0.0.0/24'] } } }),
      { ok: true },
    );
    assert.deepEqual(
      validateStreamRoute({
        plugins: { 'ip-restriction': { whitelist: ['1.1.1.1'], blacklist: ['2.2.2.2'] } },
      }),
      pluginError(
        'ip-restriction',
        'value should match only one schema, but matches both schemas 1 and 2',
      ),
    );
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'ip-restriction': { whitelist: [] } } }),
      pluginError(
        'ip-restriction',
        'property "whitelist" validation failed: expect array to have at least 1 items',
      ),
    );
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'ip-restriction': { whitelist: ['bad'] } } }),
      pluginError(
        'ip-restriction',
        'property "whitelist" validation failed: failed to validate item 1: object matches none of the required',
      ),
    );
    assert.deepEqual(
      validateStreamRoute({
        plugins: { 'ip-restriction': { whitelist: ['127.0.0.1'], response_code: 500 } },
      }),
      pluginError(
        'ip-restriction',
        'property "response_code" validation failed: expected 500 to be at most 404',
      ),
    );
  });

  it('limit-conn', () => {
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'limit-conn': {} } }),
      pluginError('limit-conn', 'property "conn" is required'),
    );
    assert.deepEqual(
      validateStreamRoute({
        plugins: { 'limit-conn': { conn: 0, burst: 0, default_conn_delay: 1, key: 'remote_addr' } },
      }),
      pluginError(
        'limit-conn',
        'property "conn" validation failed: expected 0 to be greater than 0',
      ),
    );
    assert.deepEqual(
      validateStreamRoute({
        plugins: {
          'limit-conn': {
            conn: 1,
            burst: 0,
            default_conn_delay: 1,
            key: 'remote_addr',
            key_type: 'x',
          },
        },
      }),
      pluginError(
        'limit-conn',
        'property "key_type" validation failed: matches none of the enum values',
      ),
    );
  });

  it('mqtt-proxy (t/stream-plugin/mqtt-proxy2.t)', () => {
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'mqtt-proxy': { protocol_name: 'MQTT' } } }),
      pluginError('mqtt-proxy', 'property "protocol_level" is required'),
    );
  });

  it('syslog', () => {
    assert.deepEqual(
      validateStreamRoute({ plugins: { syslog: { host: '127.0.0.1' } } }),
      pluginError('syslog', 'property "port" is required'),
    );
    assert.deepEqual(
      validateStreamRoute({
        plugins: { syslog: { host: '127.0.0.1', port: 514, batch_max_size: 0 } },
      }),
      pluginError(
        'syslog',
        'property "batch_max_size" validation failed: expected 0 to be at least 1',
      ),
    );
  });

  it('prometheus', () => {
    const enabled = { enabledPlugins: ['prometheus'] };
    assert.deepEqual(
      validateStreamRoute({ plugins: { prometheus: { prefer_name: true } } }, enabled),
      { ok: true },
    );
    assert.deepEqual(
      validateStreamRoute({ plugins: { prometheus: { prefer_name: 'yes' } } }, enabled),
      pluginError(
        'prometheus',
        'property "prefer_name" validation failed: wrong type: expected boolean, got string',
      ),
    );
  });

  it('the injected _meta', () => {
    assert.deepEqual(
      validateStreamRoute({
        plugins: { 'mqtt-proxy': { protocol_level: 4, _meta: { disable: 'yes' } } },
      }),
      pluginError(
        'mqtt-proxy',
        'property "_meta" validation failed: property "disable" validation failed: wrong type: expected boolean, got string',
      ),
    );
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'mqtt-proxy': { protocol_level: 4, _meta: { foo: 1 } } } }),
      pluginError(
        'mqtt-proxy',
        'property "_meta" validation failed: additional properties forbidden, found foo',
      ),
    );
    assert.deepEqual(
      validateStreamRoute({
        plugins: {
          'mqtt-proxy': {
            protocol_level: 4,
            _meta: { disable: false, priority: 1, error_response: 'x' },
          },
        },
      }),
      { ok: true },
    );
  });

  it('traffic-split', () => {
    assert.deepEqual(
      validateStreamRoute({
        plugins: { 'traffic-split': { rules: [{ weighted_upstreams: [] }] } },
      }),
      pluginError(
        'traffic-split',
        'property "rules" validation failed: failed to validate item 1: property "weighted_upstreams" validation failed: expect array to have at least 1 items',
      ),
    );
    assert.deepEqual(
      validateStreamRoute({
        plugins: {
          'traffic-split': {
            rules: [{ weighted_upstreams: [{ upstream: { nodes: {}, type: 'nope' } }] }],
          },
        },
      }),
      pluginError(
        'traffic-split',
        'property "rules" validation failed: failed to validate item 1: property "weighted_upstreams" validation failed: failed to validate item 1: property "upstream" validation failed: property "type" validation failed: matches none of the enum values',
      ),
    );
    assert.deepEqual(
      validateStreamRoute({
        plugins: {
          'traffic-split': { rules: [{ match: [{ vars: ['remote_addr', '==', '1'] }] }] },
        },
      }),
      pluginError(
        'traffic-split',
        "failed to validate the 'vars' expression: rule should be wrapped inside brackets",
      ),
    );
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'traffic-split': { rules: [{ match: [{}] }] } } }),
      pluginError(
        'traffic-split',
        "failed to validate the 'vars' expression: missing argument rule",
      ),
    );
  });
});

describe('plugin_metadata', () => {
  it('rejects a missing or unknown plugin name', () => {
    assert.deepEqual(validatePluginMetadata(undefined, {}), rejected('missing plugin name'));
    assert.deepEqual(validatePluginMetadata('nope', {}), rejected('invalid plugin name'));
  });

  it('checks syslog metadata against {log_format: object}', () => {
    assert.deepEqual(validatePluginMetadata('syslog', { log_format: { host: '$host' } }), {
      ok: true,
    });
    assert.deepEqual(
      validatePluginMetadata('syslog', { log_format: 'x' }),
      rejected(
        'invalid configuration: property "log_format" validation failed: wrong type: expected object, got string',
      ),
    );
    assert.deepEqual(
      validatePluginMetadata('syslog', { max_pending_entries: 0 }),
      rejected(
        'invalid configuration: property "max_pending_entries" validation failed: expected 0 to be at least 1',
      ),
    );
  });

  it('accepts any object for a plugin without a metadata schema, enabled or not', () => {
    assert.deepEqual(validatePluginMetadata('limit-conn', { anything: 1 }), { ok: true });
    assert.deepEqual(validatePluginMetadata('prometheus', {}), { ok: true });
    assert.deepEqual(
      validatePluginMetadata('limit-conn', 'x'),
      rejected('invalid configuration: wrong type: expected object, got string'),
    );
  });
});
