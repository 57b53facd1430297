import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancerRegistry } from './balancer-registry';
import { connection, countBy, label, node, upstream } from './test-support';
import type { UpstreamSpec } from '../config';

function picks(spec: UpstreamSpec, count: number): (string | undefined)[] {
  const registry = createBalancerRegistry();
  return Array.from({ length: count }, () => label(registry.begin(spec, connection()).next()));
}

describe('roundrobin (spec 3.10)', () => {
  it('gives every node exactly its weight in each full cycle, and weight 0 nothing', () => {
    const spec = upstream([node('a', 1, 5), node('b', 1, 3), node('c', 1, 1), node('zero', 1, 0)]);
    const sequence = picks(spec, 9 * 5);
    for (let cycle = 0; cycle < 5; cycle++) {
      const counts = countBy(sequence.slice(cycle * 9, cycle * 9 + 9));
      assert.deepEqual(
        [counts.get('a:1'), counts.get('b:1'), counts.get('c:1'), counts.get('zero:1')],
        [5, 3, 1, undefined],
        `cycle ${cycle}: ${sequence.slice(cycle * 9, cycle * 9 + 9).join(' ')}`,
      );
    }
  });

  it('interleaves instead of sending runs to the heavy node', () => {
    const sequence = picks(upstream([node('a', 1, 2), node('b', 1, 1)]), 6);
    assert.deepEqual(
      countBy(sequence.slice(0, 3)),
      new Map([
        ['a:1', 2],
        ['b:1', 1],
      ]),
    );
    assert.notDeepEqual(sequence.slice(0, 3), ['a:1', 'a:1', 'a:1']);
  });

  it('keeps exact ratios for common divisors (weights 100/200)', () => {
    const counts = countBy(picks(upstream([node('a', 1, 100), node('b', 1, 200)]), 300));
    assert.equal(counts.get('a:1'), 100);
    assert.equal(counts.get('b:1'), 200);
  });

  it('uses weight-0 nodes equally when every node has weight 0', () => {
    const counts = countBy(
      picks(upstream([node('a', 1, 0), node('b', 1, 0), node('c', 1, 0)]), 30),
    );
    assert.deepEqual([counts.get('a:1'), counts.get('b:1'), counts.get('c:1')], [10, 10, 10]);
  });

  it('continues the sequence across a config version change instead of restarting it', () => {
    const registry = createBalancerRegistry();
    const sequence: (string | undefined)[] = [];
    for (let index = 0; index < 20; index++) {
      // Worst case: a new version for every connection; APISIX would restart its picker each time.
      const spec = upstream([node('a', 1, 1), node('b', 1, 1)], { version: String(index) });
      sequence.push(label(registry.begin(spec, connection()).next()));
    }
    const counts = countBy(sequence);
    assert.equal(counts.get('a:1'), 10);
    assert.equal(counts.get('b:1'), 10);
  });
});
