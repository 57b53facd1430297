import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancerRegistry } from './balancer-registry';
import { connection, label, ManualClock, node, upstream, walkAllFailing } from './test-support';

/** Scenario 42 / t/stream-node/priority-balancer.t: (weight, priority) per node. */
const priorityNodes = [
  node('127.0.0.1', 1979, 2, 1),
  node('127.0.0.2', 1979, 1, 1),
  node('127.0.0.3', 1979, 2, 0),
  node('127.0.0.4', 1979, 1, 0),
  node('127.0.0.1', 1995, 2, -1),
];

describe('BalancerRegistry: priority groups and retries (spec 3.9)', () => {
  for (const type of ['roundrobin', 'chash', 'least_conn', 'ewma']) {
    it(`${type}: tries priority 1, then 0, then -1 with default retries (scenario 42)`, () => {
      const registry = createBalancerRegistry();
      const tried = walkAllFailing(registry.begin(upstream(priorityNodes, { type }), connection()));
      assert.deepEqual(
        tried.map((spec) => spec.priority),
        [1, 1, 0, 0, -1],
      );
      assert.deepEqual(
        new Set(tried.slice(0, 2).map(label)),
        new Set(['127.0.0.1:1979', '127.0.0.2:1979']),
      );
      assert.deepEqual(
        new Set(tried.slice(2, 4).map(label)),
        new Set(['127.0.0.3:1979', '127.0.0.4:1979']),
      );
      assert.equal(label(tried[4]), '127.0.0.1:1995');
    });
  }

  it('starts with the higher-weighted node of the top group', () => {
    const registry = createBalancerRegistry();
    assert.equal(
      label(registry.begin(upstream(priorityNodes), connection()).next()),
      '127.0.0.1:1979',
    );
  });

  it('makes exactly one attempt with retries: 0 (scenario 42, dead top node)', () => {
    const registry = createBalancerRegistry();
    const tried = walkAllFailing(
      registry.begin(upstream(priorityNodes, { retries: 0 }), connection()),
    );
    assert.equal(tried.length, 1);
    assert.equal(tried[0].priority, 1);
  });

  it('defaults retries to nodes - 1, also when negative, and caps attempts at the untried nodes', () => {
    const registry = createBalancerRegistry();
    const three = [node('a', 1), node('b', 1), node('c', 1)];
    assert.equal(walkAllFailing(registry.begin(upstream(three), connection())).length, 3);
    assert.equal(
      walkAllFailing(registry.begin(upstream(three, { retries: -1 }), connection())).length,
      3,
    );
    assert.equal(
      walkAllFailing(registry.begin(upstream(three, { retries: 1 }), connection())).length,
      2,
    );
    assert.equal(
      walkAllFailing(registry.begin(upstream(three, { retries: 10 }), connection())).length,
      3,
    );
  });

  it('returns a single node directly and retries hit it again (spec 3.9 quirk)', () => {
    const registry = createBalancerRegistry();
    const only = [node('only', 1)];
    assert.deepEqual(walkAllFailing(registry.begin(upstream(only), connection())).map(label), [
      'only:1',
    ]);
    assert.deepEqual(
      walkAllFailing(
        registry.begin(upstream(only, { retries: 2, type: 'chash' }), connection()),
      ).map(label),
      ['only:1', 'only:1', 'only:1'],
    );
  });

  it('stops retrying once retry_timeout has passed since the first pick', () => {
    const clock = new ManualClock();
    const registry = createBalancerRegistry({ now: clock.now });
    const spec = upstream([node('a', 1), node('b', 1), node('c', 1)], { retryTimeout: 1 });
    const attempts = registry.begin(spec, connection());
    const first = attempts.next();
    assert.ok(first);
    attempts.failed(first, 'timeout');
    clock.advance(999);
    const second = attempts.next();
    assert.ok(second, 'inside the deadline');
    attempts.failed(second, 'timeout');
    clock.advance(2);
    assert.equal(attempts.next(), undefined, 'past the deadline');

    const relaxed = registry.begin(upstream(spec.nodes, { retryTimeout: 0 }), connection());
    relaxed.next();
    clock.advance(3_600_000);
    assert.ok(relaxed.next(), 'retry_timeout 0 sets no deadline');
  });

  it('closes connections for unknown balancer types and empty node lists (spec 3.10, scenario 49)', () => {
    const registry = createBalancerRegistry();
    assert.equal(
      registry.begin(upstream([node('a', 1)], { type: 'random' }), connection()).next(),
      undefined,
    );
    assert.equal(
      registry.begin(upstream([node('a', 1), node('b', 1)], { type: 'nope' }), connection()).next(),
      undefined,
    );
    assert.equal(registry.begin(upstream([]), connection()).next(), undefined);
  });

  it('rebuilds only when the version changes, and retain() drops state', () => {
    const registry = createBalancerRegistry();
    const version1 = upstream([node('old', 1)], { version: '1' });
    assert.equal(label(registry.begin(version1, connection()).next()), 'old:1');
    const sameVersionNewNodes = upstream([node('new', 1)], { version: '1' });
    assert.equal(
      label(registry.begin(sameVersionNewNodes, connection()).next()),
      'old:1',
      'cached by version',
    );
    assert.equal(
      label(registry.begin(upstream([node('new', 1)], { version: '2' }), connection()).next()),
      'new:1',
    );

    const leastConn = upstream([node('a', 1), node('b', 1)], { type: 'least_conn', key: 'k' });
    registry.begin(leastConn, connection()).next(); // a holds 1
    assert.equal(label(registry.begin(leastConn, connection()).next()), 'b:1');
    registry.retain(new Set(['other']));
    assert.equal(
      label(registry.begin(leastConn, connection()).next()),
      'a:1',
      'counts were dropped',
    );
  });

  it('never picks weight-0 nodes unless the whole group has weight 0', () => {
    const registry = createBalancerRegistry();
    for (const type of ['roundrobin', 'chash', 'least_conn', 'ewma']) {
      const spec = upstream([node('zero', 1, 0), node('one', 1, 1)], { type, key: type });
      assert.deepEqual(
        walkAllFailing(registry.begin(spec, connection())).map(label),
        ['one:1'],
        type,
      );
    }
  });
});

describe('BalancerRegistry: health filter (spec 3.9, 3.11)', () => {
  it('skips unhealthy nodes without spending an attempt (scenario 43)', () => {
    const registry = createBalancerRegistry();
    const spec = upstream([node('dead', 9995, 1, 1), node('live', 1995, 1, 0)], { retries: 0 });
    assert.equal(label(registry.begin(spec, connection()).next()), 'dead:9995');
    registry.setHealthFilter((_key, member) => member.host !== 'dead');
    for (let round = 0; round < 5; round++) {
      assert.deepEqual(walkAllFailing(registry.begin(spec, connection())).map(label), [
        'live:1995',
      ]);
    }
  });

  it('uses every node when every node is unhealthy', () => {
    const registry = createBalancerRegistry();
    registry.setHealthFilter(() => false);
    for (const type of ['roundrobin', 'chash', 'least_conn', 'ewma']) {
      const spec = upstream([node('a', 1, 1, 1), node('b', 1, 1, 0)], { type, key: type });
      assert.deepEqual(
        walkAllFailing(registry.begin(spec, connection())).map(label),
        ['a:1', 'b:1'],
        type,
      );
    }
  });

  it('passes the upstream key to the filter and does not revive unhealthy nodes while a healthy one is untried', () => {
    const registry = createBalancerRegistry();
    const seenKeys = new Set<string>();
    registry.setHealthFilter((key, member) => {
      seenKeys.add(key);
      return member.host === 'healthy';
    });
    const spec = upstream([node('sick', 1), node('healthy', 1), node('sick2', 1)], {
      key: '/apisix/upstreams/9',
    });
    assert.deepEqual(walkAllFailing(registry.begin(spec, connection())).map(label), ['healthy:1']);
    assert.deepEqual([...seenKeys], ['/apisix/upstreams/9']);
  });
});
