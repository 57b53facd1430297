/**
 * ResourceStore's group commit: concurrent writes share one transaction, each in its own
 * savepoint. Against the real AppModule and its SQLite file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { EventBus } from '../events/event-bus';
import { startStreamApp, upstream } from '../testing/admin-assertions';
import type { TestApp } from '../testing/test-app';
import { ResourceStore } from './resource-store';

describe('ResourceStore group commit', () => {
  let test: TestApp;
  let store: ResourceStore;
  before(async () => {
    test = await startStreamApp();
    store = test.app.get(ResourceStore);
  });
  after(() => test.close());

  it('commits concurrent writes together; a failing one rolls back alone', async () => {
    const published: string[] = [];
    const bus = test.app.get(EventBus);
    const unsubscribe = bus.on('stream_route.created', (event) => {
      if (event.id.startsWith('gc-')) published.push(event.id);
    });
    // Counts the store's transactions: the twelve writes below must share one.
    const dataSource = test.app.get(DataSource);
    const transaction = dataSource.transaction;
    let transactions = 0;
    dataSource.transaction = ((...args: Parameters<DataSource['transaction']>) => {
      transactions++;
      return (transaction as (...a: unknown[]) => unknown).apply(dataSource, args);
    }) as DataSource['transaction'];
    try {
      const writes = Array.from({ length: 12 }, (_, index) =>
        store.write(async (session) => {
          await session.save('stream_routes', `gc-${index}`, {
            id: `gc-${index}`,
            upstream: upstream(),
          });
          // Every third write fails after it wrote: its row must not survive.
          if (index % 3 === 2) throw new Error(`refused ${index}`);
          return index;
        }),
      );
      const outcomes = await Promise.allSettled(writes);
      assert.equal(transactions, 1, 'one transaction for the batch');
      outcomes.forEach((outcome, index) => {
        if (index % 3 === 2) {
          assert.equal(outcome.status, 'rejected');
          assert.match(
            String((outcome as PromiseRejectedResult).reason),
            new RegExp(`refused ${index}`),
          );
        } else {
          assert.deepEqual(outcome, { status: 'fulfilled', value: index });
        }
      });
      const stored = await store.read((session) => session.list('stream_routes'));
      const ids = stored.map((object) => object.id).filter((id) => id.startsWith('gc-'));
      const expected = Array.from({ length: 12 }, (_, index) => index)
        .filter((index) => index % 3 !== 2)
        .map((index) => `gc-${index}`);
      assert.deepEqual([...ids].sort(), [...expected].sort());
      // Published once each, in the order the writes were made, and only the committed ones.
      assert.deepEqual(published, expected);
      // Revisions stay store-wide and gap-free across the batch (the failed ones took none).
      const revisions = stored
        .filter((object) => object.id.startsWith('gc-'))
        .map((object) => object.modifiedIndex)
        .sort((a, b) => a - b);
      revisions.forEach((revision, index) => {
        if (index > 0) assert.equal(revision, revisions[index - 1] + 1);
      });
    } finally {
      dataSource.transaction = transaction;
      unsubscribe();
    }
  });

  it('a later write of a batch sees the earlier ones, not a rolled-back one', async () => {
    const first = store.write((session) =>
      session.save('stream_routes', 'seen-1', { id: 'seen-1', upstream: upstream() }),
    );
    const failed = store.write(async (session) => {
      await session.save('stream_routes', 'seen-2', { id: 'seen-2', upstream: upstream() });
      throw new Error('no');
    });
    const third = store.write(async (session) => ({
      one: (await session.get('stream_routes', 'seen-1')) !== undefined,
      two: (await session.get('stream_routes', 'seen-2')) !== undefined,
    }));
    const [firstOutcome, failedOutcome, thirdOutcome] = await Promise.allSettled([
      first,
      failed,
      third,
    ]);
    assert.equal(firstOutcome.status, 'fulfilled');
    assert.equal(failedOutcome.status, 'rejected');
    assert.deepEqual(thirdOutcome, { status: 'fulfilled', value: { one: true, two: false } });
  });

  it('survives a restart: every acknowledged write of a batch is on disk', async () => {
    const writes = Array.from({ length: 8 }, (_, index) =>
      test.request('PUT', `/apisix/admin/stream_routes/disk-${index}`, {
        server_port: 9100 + index,
        upstream: upstream(),
      }),
    );
    const answers = await Promise.all(writes);
    assert.ok(answers.every((answer) => answer.status === 201));
    const restarted = await startStreamApp({ databasePath: test.databasePath });
    try {
      const list = await restarted.request('GET', '/apisix/admin/stream_routes');
      const keys = (list.json.list as { key: string }[]).map((item) => item.key);
      for (let index = 0; index < 8; index++) {
        assert.ok(keys.includes(`/apisix/stream_routes/disk-${index}`), `disk-${index} stored`);
      }
    } finally {
      await restarted.close();
    }
  });
});
