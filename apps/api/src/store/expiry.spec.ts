/**
 * `?ttl=` expiry: one timer for the next expiry, no store transaction while nothing expires (a
 * periodic sweep stalled the one-process data plane's event loop for milliseconds every second).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { eventually, startStreamApp, upstream } from '../testing/admin-assertions';
import type { TestApp } from '../testing/test-app';
import { ExpiryTimer } from './expiry-timer';

const UPSTREAMS = '/apisix/admin/upstreams';
const NODES = { '127.0.0.1:1980': 1 };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('ExpiryTimer', () => {
  it('fires once, at the earliest time it was given', async () => {
    const fired: number[] = [];
    const started = Date.now();
    const timer = new ExpiryTimer(() => fired.push(Date.now() - started));
    timer.expireBy(started + 2000);
    timer.expireBy(started + 40); // earlier: replaces
    timer.expireBy(started + 1000); // later than the one set: ignored
    await eventually(async () => fired.length > 0, 3000, 'the timer fires');
    assert.ok(fired[0] >= 35 && fired[0] < 1000, `fired after ${fired[0]} ms`);
    await sleep(100);
    assert.equal(fired.length, 1);
    timer.stop();
  });

  it('a time already past fires at once; after firing, a later time is taken again', async () => {
    let count = 0;
    const timer = new ExpiryTimer(() => count++);
    timer.expireBy(Date.now() - 1000);
    await eventually(async () => count === 1, 3000, 'the past time fires');
    timer.expireBy(Date.now() + 20);
    await eventually(async () => count === 2, 3000, 'the next time fires');
  });

  it('stop() cancels', async () => {
    let count = 0;
    const timer = new ExpiryTimer(() => count++);
    timer.expireBy(Date.now() + 20);
    timer.stop();
    await sleep(80);
    assert.equal(count, 0);
  });
});

describe('store expiry', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('runs no store transaction while no object has a ttl', async () => {
    const dataSource = test.app.get(DataSource);
    const original = dataSource.transaction.bind(dataSource);
    let transactions = 0;
    dataSource.transaction = ((...args: Parameters<DataSource['transaction']>) => {
      transactions++;
      return (original as (...a: unknown[]) => unknown)(...args);
    }) as DataSource['transaction'];
    try {
      await test.request('PUT', `${UPSTREAMS}/forever`, { nodes: NODES });
      transactions = 0;
      await sleep(2500);
      assert.equal(transactions, 0);
    } finally {
      dataSource.transaction = original;
    }
  });

  it('each object goes at its own ttl, also one written after a longer lease', async () => {
    await test.request('PUT', `${UPSTREAMS}/long?ttl=3`, { nodes: NODES });
    const written = Date.now();
    await test.request('PUT', `${UPSTREAMS}/short?ttl=1`, { nodes: NODES });
    await eventually(
      async () => (await test.request('GET', `${UPSTREAMS}/short`)).status === 404,
      3000,
      'the short lease expires',
    );
    // Gone from the table itself, not only hidden by the read path's expiry filter.
    const rows = async (id: string) =>
      (
        (await test.app
          .get(DataSource)
          .query('SELECT id FROM upstreams WHERE id = ?', [id])) as unknown[]
      ).length;
    await eventually(async () => (await rows('short')) === 0, 1000, 'the short row is deleted');
    assert.ok(Date.now() - written < 2800, 'the short lease went before the long one was due');
    assert.equal((await test.request('GET', `${UPSTREAMS}/long`)).status, 200);
    await eventually(async () => (await rows('long')) === 0, 4000, 'the long row is deleted');
  });
});

describe('store expiry across a restart', () => {
  it('an object that expired while the service was down is deleted at startup', async () => {
    const first = await startStreamApp();
    const databasePath = first.databasePath;
    try {
      await first.request('PUT', `${UPSTREAMS}/lease?ttl=1`, upstream());
    } finally {
      await first.close();
    }
    await sleep(1100);
    const second = await startStreamApp({ databasePath });
    try {
      await eventually(
        async () =>
          (
            (await second.app
              .get(DataSource)
              .query("SELECT id FROM upstreams WHERE id = 'lease'")) as unknown[]
          ).length === 0,
        2000,
        'the expired row is deleted',
      );
    } finally {
      await second.close();
    }
  });
});
