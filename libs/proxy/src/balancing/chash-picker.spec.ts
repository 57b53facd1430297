import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { UpstreamNodeSpec } from '../config';
import { createBalancerRegistry } from './balancer-registry';
import {
  buildRing,
  findRingPoint,
  nodePointHashes,
  POINTS_PER_WEIGHT,
  ringIdentity,
} from './chash-picker';
import { connection, countBy, label, node, upstream, walkAllFailing } from './test-support';

function nodes(count: number): UpstreamNodeSpec[] {
  return Array.from({ length: count }, (_, index) => node(`10.0.0.${index + 1}`, 1980));
}

function chash(members: UpstreamNodeSpec[], version = '1') {
  return upstream(members, { type: 'chash', hashOn: 'vars', hashKey: 'remote_addr', version });
}

function keyOwners(members: UpstreamNodeSpec[], keys: string[]): (string | undefined)[] {
  const registry = createBalancerRegistry();
  const spec = chash(members);
  return keys.map((key) => label(registry.begin(spec, connection({ remoteAddr: key })).next()));
}

const KEYS = Array.from(
  { length: 20_000 },
  (_, index) => `172.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
);

describe('chash ring construction (resty.chash)', () => {
  it('gives each node weight / gcd * 160 points, sorted ascending', () => {
    const ring = buildRing([
      { host: 'a', port: 1, weight: 200 },
      { host: 'b', port: 1, weight: 100 },
    ]);
    assert.equal(ring.hashes.length, 3 * POINTS_PER_WEIGHT);
    assert.deepEqual(
      countBy([...ring.owners]),
      new Map([
        [0, 320],
        [1, 160],
      ]),
    );
    for (let index = 1; index < ring.hashes.length; index++) {
      assert.ok(ring.hashes[index - 1] <= ring.hashes[index]);
    }
  });

  it('chains point hashes from the node id with NUL for ":"', () => {
    assert.equal(ringIdentity('127.0.0.1', 1980), '127.0.0.1\u00001980');
    const [first, second] = nodePointHashes('a\u00001', 2);
    assert.notEqual(first, second);
    assert.equal(nodePointHashes('a\u00001', 2)[1], second, 'deterministic');
  });

  it('looks up the largest point <= hash and wraps below the first point to the first', () => {
    const hashes = Uint32Array.from([10, 20, 30]);
    assert.equal(findRingPoint(hashes, 5), 0);
    assert.equal(findRingPoint(hashes, 10), 0);
    assert.equal(findRingPoint(hashes, 25), 1);
    assert.equal(findRingPoint(hashes, 30), 2);
    assert.equal(findRingPoint(hashes, 0xffffffff), 2);
  });
});

describe('chash balancing (spec 3.9, 3.10)', () => {
  it('sends the same key to the same node, across connections and config versions', () => {
    const registry = createBalancerRegistry();
    const members = nodes(5);
    const first = label(
      registry.begin(chash(members, '1'), connection({ remoteAddr: '1.2.3.4' })).next(),
    );
    for (let round = 0; round < 50; round++) {
      const spec = chash(members, String(round % 3));
      assert.equal(
        label(registry.begin(spec, connection({ remoteAddr: '1.2.3.4' })).next()),
        first,
      );
    }
  });

  it('hashes the configured variable (mqtt_client_id stickiness, scenario 46)', () => {
    const registry = createBalancerRegistry();
    const spec = upstream(nodes(5), { type: 'chash', hashOn: 'vars', hashKey: 'mqtt_client_id' });
    const owners = new Set<string | undefined>();
    for (let port = 0; port < 50; port++) {
      const context = connection({
        remoteAddr: `10.9.${port}.1`,
        remotePort: port,
        vars: { mqtt_client_id: 'foo' },
      });
      owners.add(label(registry.begin(spec, context).next()));
    }
    assert.equal(owners.size, 1);
  });

  it('spreads keys roughly by weight', () => {
    const members = [node('a', 1, 1), node('b', 1, 2), node('c', 1, 1)];
    const counts = countBy(keyOwners(members, KEYS));
    const share = (counts.get('b:1') ?? 0) / KEYS.length;
    assert.ok(share > 0.4 && share < 0.6, `b got ${share}`);
  });

  it("moves only about the new node's share of keys when a node is added", () => {
    const before = keyOwners(nodes(10), KEYS);
    const after = keyOwners(nodes(11), KEYS);
    let moved = 0;
    after.forEach((owner, index) => {
      if (owner === before[index]) return;
      moved++;
      assert.equal(owner, '10.0.0.11:1980', 'a key may only move to the new node');
    });
    const ideal = KEYS.length / 11;
    assert.ok(moved > 0.5 * ideal && moved < 1.5 * ideal, `moved ${moved}, ideal ${ideal}`);
  });

  it("moves only the removed node's keys when a node is removed", () => {
    const before = keyOwners(nodes(10), KEYS);
    const after = keyOwners(nodes(10).slice(0, 9), KEYS);
    after.forEach((owner, index) => {
      if (before[index] !== '10.0.0.10:1980') assert.equal(owner, before[index]);
    });
  });

  it('walks to untried nodes on retries and tries each node once', () => {
    const registry = createBalancerRegistry();
    const tried = walkAllFailing(
      registry.begin(chash(nodes(4)), connection({ remoteAddr: '8.8.8.8' })),
    );
    assert.equal(tried.length, 4);
    assert.equal(new Set(tried.map(label)).size, 4);
    const again = walkAllFailing(
      registry.begin(chash(nodes(4)), connection({ remoteAddr: '8.8.8.8' })),
    );
    assert.deepEqual(
      again.map(label),
      tried.map(label),
      'the retry order is a function of the key',
    );
  });

  it('moves an unhealthy pick to the node a retry would reach, keeping the others sticky', () => {
    const registry = createBalancerRegistry();
    const spec = chash(nodes(4));
    const context = connection({ remoteAddr: '8.8.4.4' });
    const [owner, successor] = walkAllFailing(registry.begin(spec, context));
    registry.setHealthFilter((_key, member) => member !== owner);
    assert.equal(registry.begin(spec, context).next(), successor);
  });

  it('never places weight-0 nodes on the ring', () => {
    const counts = countBy(keyOwners([node('a', 1, 1), node('zero', 1, 0)], KEYS.slice(0, 2000)));
    assert.equal(counts.get('zero:1'), undefined);
  });
});
