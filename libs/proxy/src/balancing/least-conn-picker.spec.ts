import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancerRegistry } from './balancer-registry';
import { connection, label, node, upstream } from './test-support';

const leastConn = (version = '1') =>
  upstream([node('a', 1, 1), node('b', 1, 1)], { type: 'least_conn', version });

describe('least_conn (spec 3.10)', () => {
  it('picks the node with the fewest in-flight connections and counts down on finish', () => {
    const registry = createBalancerRegistry();
    const first = registry.begin(leastConn(), connection());
    const second = registry.begin(leastConn(), connection());
    const firstNode = first.next();
    const secondNode = second.next();
    assert.deepEqual([label(firstNode), label(secondNode)], ['a:1', 'b:1']);
    assert.ok(firstNode);
    first.finished(firstNode);
    assert.equal(label(registry.begin(leastConn(), connection()).next()), 'a:1');
  });

  it("releases a connection's count exactly once", () => {
    const registry = createBalancerRegistry();
    const holder = registry.begin(leastConn(), connection());
    const held = holder.next(); // a: 1
    const other = registry.begin(leastConn(), connection()).next(); // b: 1
    assert.deepEqual([label(held), label(other)], ['a:1', 'b:1']);
    assert.ok(held);
    holder.finished(held); // a: 0
    holder.finished(held); // still 0, not -1
    const third = registry.begin(leastConn(), connection()).next(); // a: 1
    const fourth = registry.begin(leastConn(), connection()).next(); // tie (a: 1, b: 1) -> a
    assert.equal(label(third), 'a:1');
    assert.equal(label(fourth), 'a:1', 'a tie goes to the earlier node');
    const fifth = registry.begin(leastConn(), connection()).next(); // a: 2, b: 1 -> b
    assert.equal(label(fifth), 'b:1', 'a double release would leave a at 1 and pick it again');
  });

  it('counts down when a retry moves away from a failed node', () => {
    const registry = createBalancerRegistry();
    const retrying = registry.begin(leastConn(), connection());
    const failedNode = retrying.next();
    assert.equal(label(failedNode), 'a:1');
    assert.ok(failedNode);
    retrying.failed(failedNode, 'refused');
    assert.equal(label(retrying.next()), 'b:1');
    // a holds nothing now, b holds the retried connection.
    assert.equal(label(registry.begin(leastConn(), connection()).next()), 'a:1');
  });

  it('counts down on a failed connect even when the engine gives up without retrying', () => {
    const registry = createBalancerRegistry();
    const abandoned = registry.begin(leastConn(), connection());
    const failedNode = abandoned.next();
    assert.ok(failedNode);
    abandoned.failed(failedNode, 'timeout');
    const holder = registry.begin(leastConn(), connection());
    assert.equal(label(holder.next()), 'a:1');
    assert.equal(label(registry.begin(leastConn(), connection()).next()), 'b:1');
    abandoned.finished(failedNode); // must not release a second time: a stays at 1
    assert.equal(
      label(registry.begin(leastConn(), connection()).next()),
      'a:1',
      'tie at 1/1 goes to a',
    );
    assert.equal(
      label(registry.begin(leastConn(), connection()).next()),
      'b:1',
      'a at 2: a double release would pick a',
    );
  });

  it('keeps counts across a picker rebuild for the same upstream key', () => {
    const registry = createBalancerRegistry();
    const holder = registry.begin(leastConn('1'), connection());
    assert.equal(label(holder.next()), 'a:1');
    assert.equal(label(registry.begin(leastConn('2'), connection()).next()), 'b:1');
  });

  it('weighs the score: (1 + in_flight) / weight', () => {
    const registry = createBalancerRegistry();
    const spec = upstream([node('light', 1, 1), node('heavy', 1, 3)], { type: 'least_conn' });
    const labels = Array.from({ length: 8 }, () =>
      label(registry.begin(spec, connection()).next()),
    );
    assert.equal(labels.filter((value) => value === 'heavy:1').length, 6);
  });

  it('runs the picker even with one node, so a retry does not reuse it (spec 3.9)', () => {
    const registry = createBalancerRegistry();
    const attempts = registry.begin(
      upstream([node('only', 1)], { type: 'least_conn', retries: 3 }),
      connection(),
    );
    const only = attempts.next();
    assert.ok(only);
    attempts.failed(only, 'refused');
    assert.equal(attempts.next(), undefined);
  });
});
