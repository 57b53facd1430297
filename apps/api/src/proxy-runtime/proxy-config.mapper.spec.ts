import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamRouteSpec, TrafficSplitWeightedUpstream } from '@strait/proxy';
import { FieldEncryption } from '../crypto/field-encryption';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import type { JsonObject, ResourceKind, StoredObject } from '../store/resource-kind';
import { MappedObjectCache, mapToProxyConfig } from './proxy-config.mapper';
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

/** A StoreView fed like the runtime service feeds it, mapped with one cache across calls. */
class CachedMapping {
  readonly view = new StoreView();
  readonly cache = new MappedObjectCache();
  private readonly privateKeys = new PrivateKeyFields(new FieldEncryption([]));
  private revision = 100;
  skipped: string[] = [];

  put(kind: ResourceKind, id: string, value: JsonObject): void {
    this.revision++;
    this.view.applyChange({
      kind,
      id,
      action: 'updated',
      revision: this.revision,
      object: { kind, id, value, createdIndex: 1, modifiedIndex: this.revision },
    });
  }

  remove(kind: ResourceKind, id: string): void {
    this.view.applyChange({ kind, id, action: 'deleted', revision: ++this.revision });
  }

  map(cache: MappedObjectCache | undefined = this.cache) {
    this.skipped = [];
    return mapToProxyConfig({
      view: this.view,
      privateKeys: this.privateKeys,
      cache,
      onSkipped: (kind, id, reason) => this.skipped.push(`${kind}/${id}: ${reason}`),
    });
  }

  /** The cached result must always equal a mapping done from scratch. */
  mapAndCompare() {
    const cached = this.map();
    const cachedSkipped = this.skipped;
    assert.deepEqual(cached, this.map(new MappedObjectCache()));
    assert.deepEqual(cachedSkipped, this.skipped);
    return cached;
  }
}

function byId(routes: StreamRouteSpec[]): Map<string, StreamRouteSpec> {
  return new Map(routes.map((route) => [route.id, route]));
}

describe('mapToProxyConfig with a MappedObjectCache', () => {
  it('maps only new and changed routes and keeps the spec objects of the others', () => {
    const store = new CachedMapping();
    store.put('upstreams', 'u1', { nodes: { '127.0.0.1:1980': 1 } });
    for (const id of ['r1', 'r2', 'r3']) store.put('stream_routes', id, { upstream_id: 'u1' });
    const first = byId(store.mapAndCompare().routes);
    assert.equal(store.cache.lastMapped, 3);

    assert.equal(byId(store.map().routes).get('r2'), first.get('r2'));
    assert.equal(store.cache.lastMapped, 0, 'nothing changed: nothing mapped');

    store.put('stream_routes', 'r2', { upstream_id: 'u1', server_port: 9000 });
    store.put('stream_routes', 'r4', { upstream_id: 'u1' });
    const second = store.mapAndCompare();
    assert.deepEqual(
      second.routes.map((route) => route.id),
      ['r1', 'r2', 'r3', 'r4'],
      'store order: an update keeps its slot, a new key is appended',
    );
    const routes = byId(second.routes);
    assert.equal(routes.get('r1'), first.get('r1'));
    assert.equal(routes.get('r3'), first.get('r3'));
    assert.notEqual(routes.get('r2'), first.get('r2'));
    assert.equal(routes.get('r2')?.serverPort, 9000);

    store.remove('stream_routes', 'r1');
    assert.deepEqual(
      store.mapAndCompare().routes.map((route) => route.id),
      ['r2', 'r3', 'r4'],
    );
    assert.equal(store.cache.routes.has('r1'), false, 'a deleted route leaves the cache');
  });

  it('remaps every route that uses a changed upstream: directly, through a service, in traffic-split', () => {
    const store = new CachedMapping();
    store.put('upstreams', 'u1', { nodes: { '127.0.0.1:1980': 1 } });
    store.put('upstreams', 'other', { nodes: { '127.0.0.1:1990': 1 } });
    store.put('services', 's1', { upstream_id: 'u1' });
    store.put('stream_routes', 'direct', { upstream_id: 'u1' });
    store.put('stream_routes', 'via-service', { service_id: 's1' });
    store.put('stream_routes', 'split', {
      upstream_id: 'other',
      plugins: { 'traffic-split': { rules: [{ weighted_upstreams: [{ upstream_id: 'u1' }] }] } },
    });
    store.put('stream_routes', 'unrelated', { upstream_id: 'other' });
    const before = byId(store.mapAndCompare().routes);

    store.put('upstreams', 'u1', { nodes: { '127.0.0.2:2000': 1 } });
    const after = byId(store.mapAndCompare().routes);
    assert.equal(store.cache.lastMapped, 3);
    assert.equal(after.get('unrelated'), before.get('unrelated'));
    for (const id of ['direct', 'via-service']) {
      assert.deepEqual(after.get(id)?.upstream?.nodes, [
        { host: '127.0.0.2', port: 2000, weight: 1, priority: 0 },
      ]);
    }
    assert.equal(weighted(after.get('split')?.plugins)[0].upstream?.nodes[0].host, '127.0.0.2');
  });

  it('turns the upstream of routes into an error when their service or upstream is deleted, and back', () => {
    const store = new CachedMapping();
    store.put('upstreams', 'u1', { nodes: { '127.0.0.1:1980': 1 } });
    store.put('services', 's1', { upstream: { nodes: { '127.0.0.1:1981': 1 } } });
    store.put('stream_routes', 'a', { service_id: 's1' });
    store.put('stream_routes', 'b', { service_id: 's1', plugins: { 'limit-conn': { conn: 1 } } });
    store.put('stream_routes', 'c', { upstream_id: 'u1' });
    store.mapAndCompare();

    store.remove('services', 's1');
    let routes = byId(store.mapAndCompare().routes);
    assert.equal(routes.get('a')?.upstreamError, 'service s1 not found');
    assert.equal(routes.get('a')?.upstream, undefined);
    assert.equal(routes.get('b')?.upstreamError, 'service s1 not found');
    assert.ok(routes.get('c')?.upstream);

    store.remove('upstreams', 'u1');
    routes = byId(store.mapAndCompare().routes);
    assert.equal(routes.get('c')?.upstreamError, 'upstream u1 not found');

    // An absent object that appears is a change too.
    store.put('services', 's1', { upstream_id: 'u1' });
    store.put('upstreams', 'u1', { nodes: { '127.0.0.1:1982': 1 } });
    routes = byId(store.mapAndCompare().routes);
    for (const id of ['a', 'b', 'c']) {
      assert.equal(routes.get(id)?.upstreamError, undefined, id);
      assert.equal(routes.get(id)?.upstream?.nodes[0].port, 1982, id);
    }
  });

  it('follows service plugin edits and client certificates of upstream TLS', () => {
    const store = new CachedMapping();
    store.put('ssls', 'client', { type: 'client', cert: 'CERT-1', key: '-----KEY-1' });
    store.put('upstreams', 'tls', {
      nodes: { '127.0.0.1:1980': 1 },
      scheme: 'tls',
      tls: { client_cert_id: 'client' },
    });
    store.put('services', 's1', { upstream_id: 'tls', plugins: { 'limit-conn': { conn: 1 } } });
    store.put('stream_routes', 'r', { service_id: 's1' });
    let route = store.mapAndCompare().routes[0];
    assert.equal(route.upstream?.tls?.clientCert, 'CERT-1');

    store.put('ssls', 'client', { type: 'client', cert: 'CERT-2', key: '-----KEY-2' });
    route = store.mapAndCompare().routes[0];
    assert.equal(route.upstream?.tls?.clientCert, 'CERT-2');

    store.put('services', 's1', { upstream_id: 'tls', plugins: { 'limit-conn': { conn: 7 } } });
    route = store.mapAndCompare().routes[0];
    assert.deepEqual(route.plugins?.['limit-conn'], { conn: 7 });
  });

  it('reports a route it cannot map at every apply, until it is fixed', () => {
    const store = new CachedMapping();
    store.put('stream_routes', 'bad', { remote_addr: 'not-an-ip', upstream: { nodes: {} } });
    store.mapAndCompare();
    assert.equal(store.skipped.length, 1);
    store.map();
    assert.equal(store.skipped.length, 1, 'reported again from the cache');
    store.put('stream_routes', 'bad', { remote_addr: '10.0.0.1', upstream: { nodes: {} } });
    assert.equal(store.mapAndCompare().routes.length, 1);
    assert.deepEqual(store.skipped, []);
  });

  it('keeps certificates and plugin metadata while their objects are unchanged', () => {
    const store = new CachedMapping();
    store.put('ssls', 'server', { cert: 'C', key: '-----K', snis: ['a.test'] });
    store.put('plugin_metadata', 'syslog', { log_format: { a: '$remote_addr' } });
    const first = store.mapAndCompare();
    const second = store.map();
    assert.equal(second.certificates[0], first.certificates[0]);
    assert.equal(second.pluginMetadata, first.pluginMetadata);
    store.put('plugin_metadata', 'syslog', { log_format: { b: '$remote_addr' } });
    store.put('ssls', 'server', { cert: 'C', key: '-----K', snis: ['b.test'] });
    const third = store.mapAndCompare();
    assert.deepEqual(third.certificates[0].snis, ['b.test']);
    assert.deepEqual(third.pluginMetadata, { syslog: { log_format: { b: '$remote_addr' } } });
    store.remove('plugin_metadata', 'syslog');
    assert.equal(store.mapAndCompare().pluginMetadata, undefined);
  });
});
