import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TrafficSplitWeightedUpstream } from '@strait/proxy';
import { FieldEncryption } from '../crypto/field-encryption';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import type { JsonObject, ResourceKind, StoredObject } from '../store/resource-kind';
import { mapToProxyConfig } from './proxy-config.mapper';
import { StoreView } from './store-view';

function stored(
  kind: ResourceKind,
  id: string,
  value: JsonObject,
  modifiedIndex = 1,
): StoredObject {
  return { kind, id, value, createdIndex: 1, modifiedIndex };
}

function mapWith(objects: StoredObject[]) {
  const view = new StoreView();
  const kinds: ResourceKind[] = [
    'stream_routes',
    'upstreams',
    'ssls',
    'services',
    'plugin_metadata',
  ];
  for (const kind of kinds)
    view.load(
      kind,
      objects.filter((object) => object.kind === kind),
    );
  const skipped: string[] = [];
  const config = mapToProxyConfig({
    view,
    privateKeys: new PrivateKeyFields(new FieldEncryption([])),
    onSkipped: (kind, id, reason) => skipped.push(`${kind}/${id}: ${reason}`),
  });
  return { config, skipped };
}

function weighted(plugins: Record<string, unknown> | undefined): TrafficSplitWeightedUpstream[] {
  const conf = plugins?.['traffic-split'] as { rules: { weighted_upstreams: unknown[] }[] };
  return conf.rules[0].weighted_upstreams as TrafficSplitWeightedUpstream[];
}

describe('mapToProxyConfig: stream plugins', () => {
  it('resolves traffic-split upstream_id and inline upstreams into engine upstreams', () => {
    const routeValue: JsonObject = {
      upstream: { type: 'roundrobin', nodes: { '127.0.0.1:1980': 1 } },
      plugins: {
        'traffic-split': {
          rules: [
            {
              weighted_upstreams: [
                { upstream_id: '2', weight: 3 },
                { upstream: { type: 'chash', key: 'remote_addr', nodes: { '[::1]:1981': 1 } } },
                { upstream_id: 'gone', weight: 1 },
                { weight: 1 },
              ],
            },
          ],
        },
      },
    };
    const { config, skipped } = mapWith([
      stored('stream_routes', '1', routeValue, 5),
      stored('upstreams', '2', { type: 'least_conn', nodes: { '127.0.0.2:80': 2 } }, 9),
    ]);
    assert.deepEqual(skipped, []);
    const [byId, inline, dangling, own] = weighted(config.routes[0].plugins);
    assert.equal(byId.upstream_id, '2');
    assert.equal(byId.weight, 3);
    assert.equal(byId.upstream?.key, '/apisix/upstreams/2');
    assert.equal(byId.upstream?.version, '9');
    assert.equal(byId.upstream?.type, 'least_conn');
    assert.deepEqual(byId.upstream?.nodes, [
      { host: '127.0.0.2', port: 80, weight: 2, priority: 0 },
    ]);
    assert.equal(inline.upstream?.key, '/apisix/stream_routes/1#traffic-split/0/1');
    assert.equal(inline.upstream?.hashKey, 'remote_addr');
    assert.deepEqual(inline.upstream?.nodes, [{ host: '::1', port: 1981, weight: 1, priority: 0 }]);
    assert.equal(dangling.upstream, undefined);
    assert.equal(dangling.upstream_id, 'gone');
    assert.deepEqual(own, { weight: 1 });
    // The stored object is untouched.
    const storedEntry = (routeValue.plugins as JsonObject)['traffic-split'] as JsonObject;
    assert.equal(
      ((storedEntry.rules as JsonObject[])[0].weighted_upstreams as JsonObject[])[0].upstream,
      undefined,
    );
  });

  it('keys an inline upstream of a service traffic-split by the service', () => {
    const { config } = mapWith([
      stored('stream_routes', '1', { service_id: 's1', plugins: { 'limit-conn': { conn: 1 } } }),
      stored(
        'services',
        's1',
        {
          upstream: { nodes: { '127.0.0.1:1980': 1 } },
          plugins: {
            'limit-conn': { conn: 99 },
            'traffic-split': {
              rules: [{ weighted_upstreams: [{ upstream: { nodes: { '127.0.0.1:1981': 1 } } }] }],
            },
          },
        },
        4,
      ),
    ]);
    const plugins = config.routes[0].plugins;
    assert.deepEqual(plugins?.['limit-conn'], { conn: 1 }); // the route's conf wins (spec 3.6)
    assert.equal(weighted(plugins)[0].upstream?.key, '/apisix/services/s1#traffic-split/0/0');
    assert.equal(weighted(plugins)[0].upstream?.version, '4');
  });

  it('passes plugin_metadata through by plugin name', () => {
    const { config } = mapWith([
      stored('plugin_metadata', 'syslog', { log_format: { client: '$remote_addr' } }),
    ]);
    assert.deepEqual(config.pluginMetadata, { syslog: { log_format: { client: '$remote_addr' } } });
    assert.equal(mapWith([]).config.pluginMetadata, undefined);
  });
});
