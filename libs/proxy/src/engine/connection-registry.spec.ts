import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LiveConnection } from './connection-events';
import { ConnectionRegistry, type TrackedConnection } from './connection-registry';
import { SlotSet } from './slot-set';
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

function tracked(id: number, nodeLabel?: string, aborted: number[] = []): TrackedConnection {
  return {
    id,
    nodeLabel,
    describe: () => ({ id }) as LiveConnection,
    readSample: (into) => Object.assign(into, { id, bytesFromClient: 0, bytesToClient: 0 }),
    abort: () => aborted.push(id),
  };
}

describe('the live table', () => {
  it('lists in insertion order, replaces an id in place, removes, aborts by id and node', () => {
    const registry = new ConnectionRegistry();
    const aborted: number[] = [];
    for (const id of [3, 1, 2]) registry.add(tracked(id, id === 2 ? 'b:1' : 'a:1', aborted));
    assert.deepEqual(
      registry.list().map((row) => row.id),
      [3, 1, 2],
    );
    registry.add(tracked(1, 'b:1', aborted)); // a hand-over keeps the id and the place
    assert.deepEqual(
      registry.list().map((row) => row.id),
      [3, 1, 2],
    );
    assert.equal(registry.size, 3);
    assert.equal(registry.abortByNode('b:1'), 2);
    assert.deepEqual(aborted, [1, 2]);
    assert.equal(registry.abort(3), true);
    assert.equal(registry.abort(4), false);
    registry.remove(1);
    registry.remove(1);
    assert.deepEqual(
      registry.list().map((row) => row.id),
      [3, 2],
    );
    registry.add(tracked(5));
    assert.deepEqual(
      registry.list().map((row) => row.id),
      [3, 2, 5],
    );
  });

  it('keeps finding every id through growth and churn (strided ids, as in workers)', async () => {
    const registry = new ConnectionRegistry({ first: 3, stride: 4 });
    const live = new Map<number, TrackedConnection>();
    let next = 0;
    for (let round = 0; round < 20_000; round++) {
      if (live.size < 2_000 && (round % 3 !== 0 || live.size === 0)) {
        const connection = tracked(registry.nextId());
        registry.add(connection);
        live.set(connection.id, connection);
      } else {
        const ids = [...live.keys()];
        const id = ids[(next = (next * 31 + 7) % ids.length)];
        registry.remove(id);
        live.delete(id);
      }
      if (round % 997 === 0) {
        assert.equal(registry.size, live.size);
        for (const id of live.keys()) assert.equal(registry.abort(id), true, `id ${id}`);
        assert.equal(registry.abort(registry.nextId()), false);
      }
    }
    assert.deepEqual(
      registry.list().map((row) => row.id),
      [...live.keys()],
    );
    const emptied = registry.whenEmpty();
    for (const id of live.keys()) registry.remove(id);
    await emptied;
    assert.equal(registry.size, 0);
    assert.deepEqual(registry.list(), []);
  });
});

describe('SlotSet', () => {
  it('adds, deletes and lists members, reusing the slots members leave', () => {
    const set = new SlotSet<{ slot: number; name: string }>();
    const a = { slot: -1, name: 'a' };
    const b = { slot: -1, name: 'b' };
    const c = { slot: -1, name: 'c' };
    set.add(a);
    set.add(b);
    set.add(a);
    assert.equal(set.size, 2);
    assert.equal(set.delete(a), true);
    assert.equal(set.delete(a), false);
    assert.equal(a.slot, -1);
    set.add(c);
    assert.equal(c.slot, 0, 'the slot a left');
    assert.deepEqual(
      set.values().map((member) => member.name),
      ['c', 'b'],
    );
    for (const member of set.values()) set.delete(member);
    assert.equal(set.size, 0);
  });
});
