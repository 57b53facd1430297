import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { CoalescedReapply } from './coalesced-reapply';

/** A re-apply that counts its runs and, on a clock of its own, takes `costMs` each. */
function countingReapply(costMs = 0) {
  let clock = 0;
  const runs: number[] = [];
  const errors: unknown[] = [];
  let fail = false;
  const coalesced = new CoalescedReapply(
    () => {
      runs.push(clock);
      clock += costMs;
      if (fail) throw new Error('mapping failed');
    },
    (error) => errors.push(error),
    () => clock,
  );
  return {
    coalesced,
    runs,
    errors,
    failNext: () => (fail = true),
  };
}

describe('CoalescedReapply', () => {
  it('runs once, on a later turn, for every request made before it starts', async () => {
    const { coalesced, runs } = countingReapply();
    const requests = [coalesced.request(), coalesced.request(), coalesced.request()];
    assert.equal(runs.length, 0, 'nothing runs inside the request');
    await Promise.all(requests);
    assert.equal(runs.length, 1);
  });

  it('resolves a request only after a re-apply that started after it', async () => {
    const { coalesced, runs } = countingReapply();
    await coalesced.request();
    const second = coalesced.request();
    assert.equal(runs.length, 1, 'the finished re-apply does not answer a later request');
    await second;
    assert.equal(runs.length, 2);
  });

  it('after a re-apply that took D ms, starts the next no sooner than D ms later, shared', async () => {
    const { coalesced, runs } = countingReapply(40);
    await coalesced.request();
    const asked = performance.now();
    const during = [coalesced.request(), coalesced.request()];
    await new Promise((resolve) => setTimeout(resolve, 10));
    during.push(coalesced.request());
    await Promise.all(during);
    const waitedMs = performance.now() - asked;
    assert.equal(runs.length, 2, 'the three requests of the wait share one re-apply');
    assert.ok(waitedMs >= 35, `the next re-apply waited ${waitedMs.toFixed(1)} ms, not 40`);
  });

  it('reports a re-apply that throws and still answers its requests', async () => {
    const { coalesced, runs, errors, failNext } = countingReapply();
    failNext();
    await Promise.all([coalesced.request(), coalesced.request()]);
    assert.equal(runs.length, 1);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /mapping failed/);
  });
});
