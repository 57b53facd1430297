import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamRouteSpec } from '../config';
import { runPreread, type PrereadOutcome, type PrereadSession, type PrereadStep } from './preread';

const session: PrereadSession = {
  id: 1,
  context: {
    protocol: 'tcp',
    remoteAddr: '127.0.0.1',
    remotePort: 1,
    serverAddr: '127.0.0.1',
    serverPort: 2,
  },
  route: { id: 'r' } as StreamRouteSpec,
  upstream: {
    key: 'u',
    version: '1',
    type: 'roundrobin',
    hashOn: 'vars',
    scheme: 'tcp',
    nodes: [],
  },
};

function run(
  steps: PrereadStep[],
): Promise<{ outcome: PrereadOutcome; error?: unknown; sync: boolean }> {
  return new Promise((resolve) => {
    let returned = false;
    runPreread(steps, session, (outcome, error) => resolve({ outcome, error, sync: !returned }));
    returned = true;
  });
}

describe('runPreread', () => {
  it('runs synchronous steps in order without leaving the current tick', async () => {
    const order: string[] = [];
    const result = await run([
      { name: 'a', run: () => void order.push('a') },
      { name: 'b', run: () => void order.push('b') },
    ]);
    assert.deepEqual(order, ['a', 'b']);
    assert.equal(result.outcome, undefined);
    assert.equal(result.sync, true);
  });

  it('stops at the first rejection, also after an asynchronous step', async () => {
    const order: string[] = [];
    const result = await run([
      { name: 'a', run: async () => void order.push('a') },
      { name: 'deny', run: () => ({ status: 403 }) },
      { name: 'never', run: () => void order.push('never') },
    ]);
    assert.deepEqual(order, ['a']);
    assert.deepEqual(result.outcome, { status: 403 });
    assert.equal(result.sync, false);
  });

  it('reports a throwing or rejecting step as an error', async () => {
    const thrown = await run([
      {
        name: 'x',
        run: () => {
          throw new Error('boom');
        },
      },
    ]);
    assert.ok(thrown.error instanceof Error);
    const rejected = await run([{ name: 'y', run: () => Promise.reject(new Error('boom')) }]);
    assert.ok(rejected.error instanceof Error);
  });
});
