import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_STREAM_PLUGINS,
  validateResourceId,
  validateStreamRoute,
  validateStreamRouteWithReferences,
  type ReferenceLookups,
  type StoredStreamRoute,
} from './index';

const upstream = { nodes: { '127.0.0.1:1995': 1 }, type: 'roundrobin' };

function rejected(message: string) {
  return { ok: false, message };
}

/** An in-memory store: upstream 1, service 1, stream route 1 speaking redis. */
function store(
  routes: Record<string, StoredStreamRoute> = { '1': { protocol: { name: 'redis' } } },
): ReferenceLookups {
  return {
    upstreamExists: (id) => id === '1',
    serviceExists: async (id) => id === '1',
    findStreamRoute: (id) => routes[id],
    findSsl: () => undefined,
  };
}

describe('stream route: accepted bodies', () => {
  it('accepts the seed examples', () => {
    for (const body of [
      { remote_addr: '127.0.0.1', upstream },
      { server_addr: '127.0.0.1', server_port: 2000, upstream },
      {
        server_addr: '127.0.0.10',
        server_port: 9101,
        upstream: { nodes: { '127.0.0.1:3306': 1 }, type: 'roundrobin' },
      },
      { upstream },
      { sni: 'a.test.com', upstream: { nodes: { '127.0.0.1:5991': 1 }, type: 'roundrobin' } },
      { upstream: { scheme: 'tls', nodes: { '127.0.0.1:1995': 1 }, type: 'roundrobin' } },
    ]) {
      assert.deepEqual(validateStreamRoute(body), { ok: true }, JSON.stringify(body));
    }
  });

  it('accepts the spec scenario bodies (1, 5, 11, 18)', () => {
    assert.deepEqual(
      validateStreamRoute({ id: '1', remote_addr: '127.0.0.1', desc: 'new route', upstream }),
      { ok: true },
    );
    assert.deepEqual(validateStreamRoute({ remote_addr: '127.0.0.1/26', upstream_id: '1' }), {
      ok: true,
    });
    assert.deepEqual(validateStreamRoute({ remote_addr: '::1', server_addr: '::1', upstream }), {
      ok: true,
    });
    assert.deepEqual(validateStreamRoute({ id: 'a-b-c-ABC_0123', upstream }), { ok: true });
    assert.deepEqual(validateStreamRoute({ id: 7, server_port: 5432, service_id: '1' }), {
      ok: true,
    });
  });

  it('accepts array-form nodes, a route with no upstream at all and every default plugin', () => {
    assert.deepEqual(
      validateStreamRoute({
        upstream: {
          nodes: [{ host: '127.0.0.1', port: 1995, weight: 1, priority: -1 }],
          type: 'chash',
          key: 'remote_addr',
        },
      }),
      { ok: true },
    );
    assert.deepEqual(validateStreamRoute({ remote_addr: '127.0.0.1' }), { ok: true });
    assert.deepEqual(
      validateStreamRoute({
        upstream,
        plugins: {
          'ip-restriction': { whitelist: ['127.0.0.0/24', '::1'] },
          'limit-conn': { conn: 2, burst: 1, default_conn_delay: 0.1, key: 'remote_addr' },
          'mqtt-proxy': { protocol_name: 'MQTT', protocol_level: 4 },
          'traffic-split': {
            rules: [
              {
                match: [{ vars: [['remote_addr', '==', '127.0.0.1']] }],
                weighted_upstreams: [{ upstream_id: '1', weight: 1 }, { weight: 1 }],
              },
            ],
          },
          syslog: { host: '127.0.0.1', port: 514 },
        },
      }),
      { ok: true },
    );
  });

  it('does not write defaults into the body', () => {
    const body = { upstream: { nodes: { '127.0.0.1:1995': 1 } } };
    validateStreamRoute(body);
    assert.deepEqual(body, { upstream: { nodes: { '127.0.0.1:1995': 1 } } });
  });
});

describe('stream route: rejected bodies (spec §1.8, scenarios 8-17, 23)', () => {
  it('scenario 8: an invalid id', () => {
    assert.deepEqual(
      validateStreamRoute({ id: '*invalid', remote_addr: '127.0.0.1', upstream }),
      rejected(
        'invalid configuration: property "id" validation failed: object matches none of the required',
      ),
    );
    assert.deepEqual(
      validateResourceId('*invalid'),
      rejected(
        'invalid configuration: property "id" validation failed: object matches none of the required',
      ),
    );
    assert.deepEqual(validateResourceId('a-b-c-ABC_0123'), { ok: true });
    assert.deepEqual(validateResourceId(1), { ok: true });
    assert.deepEqual(validateResourceId('x'.repeat(65)).ok, false);
  });

  it('scenario 10: a remote_addr the schema regex lets through', () => {
    assert.deepEqual(
      validateStreamRoute({ remote_addr: ':/8', upstream_id: '1' }),
      rejected('invalid remote_addr: :/8'),
    );
  });

  it('rejects a bad server_addr after the schema', () => {
    assert.deepEqual(
      validateStreamRoute({ server_addr: '::1/200', upstream }),
      rejected('invalid server_addr: ::1/200'),
    );
  });

  it('rejects a remote_addr that is no IP at all in the schema', () => {
    assert.deepEqual(
      validateStreamRoute({ remote_addr: 'x', upstream }),
      rejected(
        'invalid configuration: property "remote_addr" validation failed: object matches none of the required',
      ),
    );
  });

  it('scenario 12: server_port above 65535', () => {
    assert.deepEqual(
      validateStreamRoute({ server_port: 70000, upstream }),
      rejected(
        'invalid configuration: property "server_port" validation failed: expected 70000 to be at most 65535',
      ),
    );
  });

  it('scenario 13: an unknown field', () => {
    assert.deepEqual(
      validateStreamRoute({ foo: 1, upstream }),
      rejected('invalid configuration: additional properties forbidden, found foo'),
    );
  });

  it('scenario 14: an unknown plugin', () => {
    assert.deepEqual(
      validateStreamRoute({ remote_addr: '127.0.0.1', plugins: { 'mqttt-proxy': {} } }),
      rejected('unknown plugin [mqttt-proxy]'),
    );
  });

  it('a plugin that exists but is not enabled is unknown', () => {
    assert.deepEqual(
      validateStreamRoute({ plugins: { prometheus: {} } }),
      rejected('unknown plugin [prometheus]'),
    );
    assert.deepEqual(
      validateStreamRoute(
        { plugins: { prometheus: {} } },
        { enabledPlugins: [...DEFAULT_STREAM_PLUGINS, 'prometheus'] },
      ),
      { ok: true },
    );
  });

  it('scenario 15: a plugin conf failing its schema', () => {
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'ip-restriction': {} }, upstream_id: '1' }),
      rejected(
        'failed to check the configuration of stream plugin [ip-restriction]: value should match only one schema, but matches none',
      ),
    );
  });

  it('accepts an invalid plugin conf when _meta.disable is true', () => {
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'ip-restriction': { _meta: { disable: true } } } }),
      { ok: true },
    );
  });

  it('rejects a non-object plugin conf', () => {
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'limit-conn': 'x/y' } }),
      rejected('invalid plugin conf "x\\/y" for plugin [limit-conn]'),
    );
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'limit-conn': 1 } }),
      rejected('invalid plugin conf 1 for plugin [limit-conn]'),
    );
  });

  it('rejects an invalid ip-restriction address after its schema', () => {
    assert.deepEqual(
      validateStreamRoute({ plugins: { 'ip-restriction': { blacklist: ['::1/200'] } } }),
      rejected(
        'failed to check the configuration of stream plugin [ip-restriction]: invalid ip address: ::1/200',
      ),
    );
  });

  it('checks plugins before addresses', () => {
    assert.deepEqual(
      validateStreamRoute({ remote_addr: ':/8', plugins: { nope: {} } }),
      rejected('unknown plugin [nope]'),
    );
  });

  it('scenario 23 / §1.8 step 7: unknown and invalid xRPC protocols', () => {
    assert.deepEqual(
      validateStreamRoute({ protocol: { name: 'xxx' }, upstream }),
      rejected('unknown protocol [xxx]'),
    );
    assert.deepEqual(
      validateStreamRoute({ protocol: { name: 'redis' }, upstream }),
      rejected('unknown protocol [redis]'),
    );
    const redis = { xrpcProtocols: ['redis'] };
    assert.deepEqual(validateStreamRoute({ protocol: { name: 'redis' }, upstream }, redis), {
      ok: true,
    });
    assert.deepEqual(
      validateStreamRoute({ protocol: { name: 'redis', conf: { faults: 'a' } }, upstream }, redis),
      rejected('property "faults" validation failed: wrong type: expected array, got string'),
    );
    assert.deepEqual(
      validateStreamRoute({ protocol: { superior_id: '1' }, upstream }),
      rejected(
        'invalid configuration: property "protocol" validation failed: property "name" is required',
      ),
    );
  });

  it('checks an inline upstream with the schema only (APISIX quirk)', () => {
    assert.deepEqual(
      validateStreamRoute({ upstream: { nodes: { '127.0.0.1:1995': 1 }, type: 'chash' } }),
      { ok: true },
    );
    assert.deepEqual(
      validateStreamRoute({ upstream: { nodes: [{ host: '::1', port: 80, weight: 1 }] } }),
      { ok: true },
    );
    assert.deepEqual(
      validateStreamRoute({
        upstream: { nodes: { '127.0.0.1:1995': 1 }, timeout: { connect: 0, send: 1, read: 1 } },
      }),
      rejected(
        'invalid configuration: property "upstream" validation failed: property "timeout" validation failed: property "connect" validation failed: expected 0 to be greater than 0',
      ),
    );
  });
});

describe('stream route: store references (scenarios 16, 23)', () => {
  it('scenario 16: a missing upstream or service', async () => {
    assert.deepEqual(
      await validateStreamRouteWithReferences({ upstream_id: '999' }, store()),
      rejected('failed to fetch upstream info by upstream id [999], response code: 404'),
    );
    assert.deepEqual(
      await validateStreamRouteWithReferences({ service_id: '999' }, store()),
      rejected('failed to fetch service info by service id [999], response code: 404'),
    );
    assert.deepEqual(
      await validateStreamRouteWithReferences({ upstream_id: 999 }, store()),
      rejected('failed to fetch upstream info by upstream id [999], response code: 404'),
    );
    assert.deepEqual(
      await validateStreamRouteWithReferences({ upstream_id: '1', service_id: 1 }, store()),
      { ok: true },
    );
  });

  it('checks references after the schema and before plugins', async () => {
    assert.deepEqual(
      await validateStreamRouteWithReferences({ upstream_id: '999', foo: 1 }, store()),
      rejected('invalid configuration: additional properties forbidden, found foo'),
    );
    assert.deepEqual(
      await validateStreamRouteWithReferences(
        { upstream_id: '999', plugins: { nope: {} } },
        store(),
      ),
      rejected('failed to fetch upstream info by upstream id [999], response code: 404'),
    );
  });

  it('scenario 23: superior_id checks', async () => {
    const options = { xrpcProtocols: ['redis', 'dubbo'] };
    assert.deepEqual(
      await validateStreamRouteWithReferences(
        { id: '2', protocol: { name: 'redis', superior_id: '1' }, upstream },
        store(),
        options,
      ),
      { ok: true },
    );
    assert.deepEqual(
      await validateStreamRouteWithReferences(
        { id: '10', protocol: { name: 'redis', superior_id: '10' }, upstream },
        store(),
        options,
      ),
      rejected('stream route can not set itself as superior_id'),
    );
    assert.deepEqual(
      await validateStreamRouteWithReferences(
        { id: '2', protocol: { name: 'redis', superior_id: 9 }, upstream },
        store(),
        options,
      ),
      rejected('failed to fetch stream routes[9], response code: 404'),
    );
    assert.deepEqual(
      await validateStreamRouteWithReferences(
        { id: '2', protocol: { name: 'dubbo', superior_id: '1' }, upstream },
        store(),
        options,
      ),
      rejected(
        'protocol mismatch: subordinate protocol [dubbo] does not match superior protocol [redis]',
      ),
    );
  });

  it('the synchronous form skips the store look-ups', () => {
    assert.deepEqual(validateStreamRoute({ upstream_id: '999', service_id: '999' }), { ok: true });
  });
});
