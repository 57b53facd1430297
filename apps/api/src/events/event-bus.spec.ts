import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from './event-bus';
import type { StoreChangeEvent } from './strait-events';

const change: StoreChangeEvent = { kind: 'upstreams', id: '1', action: 'deleted', revision: 2 };

describe('EventBus', () => {
  it('returns nothing to wait for when every handler finished synchronously', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.on('upstream.deleted', (event) => void seen.push(event.id));
    assert.equal(bus.emit('upstream.deleted', change), undefined);
    assert.deepEqual(seen, ['1']);
  });

  it('returns a promise that settles once asynchronous handlers are done, and never rejects', async () => {
    const bus = new EventBus();
    const order: string[] = [];
    let release!: () => void;
    bus.on('upstream.deleted', () => {
      order.push('sync');
    });
    bus.on(
      'upstream.deleted',
      () =>
        new Promise<void>((resolve) => {
          release = () => {
            order.push('worker acknowledged');
            resolve();
          };
        }),
    );
    bus.on('upstream.deleted', () => Promise.reject(new Error('worker gone')));
    bus.on('upstream.deleted', () => {
      throw new Error('broken subscriber');
    });
    const pending = bus.emit('upstream.deleted', change);
    assert.ok(pending instanceof Promise);
    let settled = false;
    void pending.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false);
    release();
    await pending;
    assert.deepEqual(order, ['sync', 'worker acknowledged']);
  });
});
