import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescedReapply } from './coalesced-reapply';

/** A re-apply that counts its runs (and throws once failNext() was called). */
function countingReapply() {
  const runs: number[] = [];
  const errors: unknown[] = [];
  let fail = false;
  const coalesced = new CoalescedReapply(
    () => {
      runs.push(runs.length);
      if (fail) throw new Error('mapping failed');
    },
    (error) => errors.push(error),
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

  it('reports a re-apply that throws and still answers its requests', async () => {
    const { coalesced, runs, errors, failNext } = countingReapply();
    failNext();
    await Promise.all([coalesced.request(), coalesced.request()]);
    assert.equal(runs.length, 1);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /mapping failed/);
  });
});
