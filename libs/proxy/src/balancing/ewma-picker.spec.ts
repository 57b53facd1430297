import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancerRegistry } from './balancer-registry';
import {
  connection,
  countBy,
  label,
  ManualClock,
  node,
  seededRandom,
  upstream,
} from './test-support';

describe('ewma (beyond APISIX for streams)', () => {
  it('prefers the node that connects faster', () => {
    const clock = new ManualClock();
    const registry = createBalancerRegistry({ now: clock.now, random: seededRandom(1) });
    const spec = upstream([node('fast', 1), node('slow', 1), node('slower', 1)], { type: 'ewma' });
    const samples: Record<string, number> = { 'fast:1': 5, 'slow:1': 50, 'slower:1': 80 };
    // Warm up: every node gets measured at least once.
    for (let round = 0; round < 30; round++) {
      clock.advance(100);
      const attempts = registry.begin(spec, connection());
      const picked = attempts.next();
      assert.ok(picked);
      attempts.connected(picked, samples[label(picked) ?? ''] ?? 0);
      attempts.finished(picked);
    }
    const picks: (string | undefined)[] = [];
    for (let round = 0; round < 300; round++) {
      clock.advance(10);
      const attempts = registry.begin(spec, connection());
      const picked = attempts.next();
      assert.ok(picked);
      picks.push(label(picked));
      attempts.connected(picked, samples[label(picked) ?? ''] ?? 0);
      attempts.finished(picked);
    }
    const counts = countBy(picks);
    // Power of two choices: the fastest wins every pair it is in (2/3 of pairs of three nodes).
    assert.ok((counts.get('fast:1') ?? 0) > 180, JSON.stringify([...counts]));
    assert.ok((counts.get('slower:1') ?? 0) < (counts.get('slow:1') ?? 0) + 1);
  });

  it('penalises failed connects', () => {
    const clock = new ManualClock();
    const registry = createBalancerRegistry({ now: clock.now, random: seededRandom(2) });
    const spec = upstream([node('a', 1), node('b', 1)], { type: 'ewma' });
    const samples: Record<string, number> = { 'a:1': 5, 'b:1': 20 };
    const measured = new Set<string>();
    while (measured.size < 2) {
      clock.advance(100);
      const attempts = registry.begin(spec, connection());
      const picked = attempts.next();
      assert.ok(picked);
      measured.add(label(picked) ?? '');
      attempts.connected(picked, samples[label(picked) ?? ''] ?? 0);
      attempts.finished(picked);
    }
    clock.advance(100);
    assert.equal(label(registry.begin(spec, connection()).next()), 'a:1', 'a is faster');
    const failing = registry.begin(spec, connection());
    const picked = failing.next();
    assert.equal(label(picked), 'a:1');
    assert.ok(picked);
    failing.failed(picked, 'refused');
    clock.advance(100);
    assert.equal(
      label(registry.begin(spec, connection()).next()),
      'b:1',
      'a failed, so b is better now',
    );
  });
});
