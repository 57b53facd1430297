import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionRegistry } from './connection-registry';
import { createProxyEngine } from './proxy-engine';
import {
  config,
  exchange,
  LOOPBACK,
  node,
  serve,
  startTaggedEchoServer,
  upstream,
  waitFor,
} from './testing/loopback';

describe('connection ids', () => {
  it('counts 1, 2, 3 by default', () => {
    const registry = new ConnectionRegistry();
    assert.deepEqual([registry.nextId(), registry.nextId(), registry.nextId()], [1, 2, 3]);
  });

  it('keeps the ids of engines with one stride and distinct first ids apart', () => {
    const workers = [1, 2, 3].map((first) => new ConnectionRegistry({ first, stride: 3 }));
    const ids = workers.flatMap((registry) => [registry.nextId(), registry.nextId()]);
    assert.deepEqual(ids, [1, 4, 2, 5, 3, 6]);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('refuses ids that are not positive integers', () => {
    assert.throws(() => new ConnectionRegistry({ first: 0, stride: 1 }), RangeError);
    assert.throws(() => new ConnectionRegistry({ first: 1, stride: 0 }), RangeError);
    assert.throws(() => new ConnectionRegistry({ first: 1.5, stride: 2 }), RangeError);
  });

  it('is an engine option: connections get ids from the sequence', async (t) => {
    const backend = await serve(t, startTaggedEchoServer('B'));
    const engine = createProxyEngine({ connectionIds: { first: 7, stride: 4 } });
    t.after(() => engine.close({ force: true }));
    const ids: number[] = [];
    engine.on('connection:closed', (summary) => ids.push(summary.id));
    const [bound] = await engine.listen([{ protocol: 'tcp', host: LOOPBACK, port: 0 }]);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(backend.port)]) }));
    await exchange(bound.port, 'a');
    await exchange(bound.port, 'b');
    await waitFor(() => ids.length === 2, 2000, 'two connections closed');
    assert.deepEqual(ids, [7, 11]);
  });
});
