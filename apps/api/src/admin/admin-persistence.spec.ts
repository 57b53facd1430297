/**
 * Restarts on the same SQLite file: objects, createdIndex/modifiedIndex, the revision counter, the
 * private-key keyring and the generated admin key survive (README "No open admin API").
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { createSelfSignedCertificate } from '../apisix-schema/test-certificates';
import {
  assertExactJson,
  assertStoredItem,
  listKeys,
  startStreamApp,
  upstream,
} from '../testing/admin-assertions';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from '../testing/test-app';

function temporaryDatabase(): string {
  return join(mkdtempSync(join(tmpdir(), 'strait-persist-')), 'strait.db');
}

/** Starts an app while keeping a copy of what it prints (the output still goes through). */
async function startCapturingStdout(
  options: Parameters<typeof startTestApp>[0],
): Promise<{ test: TestApp; printed: string }> {
  let printed = '';
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    printed += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return original(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    return { test: await startTestApp(options), printed };
  } finally {
    process.stdout.write = original;
  }
}

async function storedSetting(test: TestApp, name: string): Promise<string | undefined> {
  const rows = (await test.app
    .get(DataSource)
    .query('SELECT value FROM settings WHERE name = ?', [name])) as { value: string }[];
  return rows[0]?.value;
}

describe('persistence across restarts', () => {
  it('objects, indexes, timestamps and the revision counter survive; keys stay decryptable', async () => {
    const databasePath = temporaryDatabase();
    const certificate = createSelfSignedCertificate('test.com');
    const paths = [
      '/apisix/admin/upstreams/1',
      '/apisix/admin/upstreams/tls',
      '/apisix/admin/services/1',
      '/apisix/admin/stream_routes/1',
      '/apisix/admin/stream_routes/2',
      '/apisix/admin/ssls/1',
      '/apisix/admin/plugin_metadata/syslog',
    ];
    const first = await startStreamApp({ databasePath });
    let before: Map<string, unknown>;
    let postedId: string;
    let lastIndex = 0;
    try {
      await first.request('PUT', '/apisix/admin/upstreams/1', upstream());
      await first.request('PUT', '/apisix/admin/upstreams/tls', {
        ...upstream(),
        tls: { client_cert: certificate.cert, client_key: certificate.key },
      });
      await first.request('PUT', '/apisix/admin/services/1', { upstream_id: '1' });
      await first.request('PUT', '/apisix/admin/stream_routes/1', {
        upstream_id: '1',
        desc: 'one',
      });
      await first.request('PUT', '/apisix/admin/stream_routes/1', {
        upstream_id: '1',
        desc: 'two',
      });
      await first.request('PUT', '/apisix/admin/stream_routes/2', { service_id: '1' });
      await first.request('PUT', '/apisix/admin/ssls/1', {
        cert: certificate.cert,
        key: certificate.key,
        sni: 'test.com',
      });
      await first.request('PUT', '/apisix/admin/plugin_metadata/syslog', {
        log_format: { a: '$remote_addr' },
      });
      postedId = (await first.request('POST', '/apisix/admin/stream_routes', { upstream_id: '1' }))
        .json.value.id as string;
      paths.push(`/apisix/admin/stream_routes/${postedId}`);
      before = new Map();
      for (const path of paths) {
        const reply = await first.request('GET', path);
        assert.equal(reply.status, 200, `${path}: ${reply.text}`);
        before.set(path, reply.json);
        lastIndex = Math.max(lastIndex, reply.json.modifiedIndex as number);
      }
    } finally {
      await first.close();
    }

    const second = await startStreamApp({ databasePath });
    try {
      for (const path of paths) {
        assert.deepEqual((await second.request('GET', path)).json, before.get(path), path);
      }
      const route = (await second.request('GET', '/apisix/admin/stream_routes/1')).json;
      assert.ok(route.modifiedIndex > route.createdIndex, 'the update kept its own revision');
      // The revision counter continues: new writes and POST ids come after the old ones.
      const posted = await second.request('POST', '/apisix/admin/stream_routes', {
        upstream_id: '1',
      });
      assert.ok(
        BigInt(posted.json.value.id as string) > BigInt(postedId),
        'POST ids keep increasing',
      );
      await second.request('PUT', '/apisix/admin/stream_routes/3', { upstream_id: '1' });
      const third = await second.request('GET', '/apisix/admin/stream_routes/3');
      assertStoredItem(third, '/apisix/stream_routes/3');
      assert.ok(third.json.createdIndex > lastIndex, 'revisions continue after the old ones');
      // Encrypted private keys are still readable with the keyring kept in the store.
      assert.equal(
        (await second.request('PATCH', '/apisix/admin/ssls/1', { desc: 'after restart' })).status,
        200,
      );
      assert.equal(
        (await second.request('PATCH', '/apisix/admin/upstreams/tls', { desc: 'after restart' }))
          .status,
        200,
      );
      // Reference checks see the old objects.
      assertExactJson(await second.request('DELETE', '/apisix/admin/upstreams/1'), 400, {
        // The first user in key order: the POSTed id sorts before "1".
        error_msg: `can not delete this upstream, stream_route [${postedId}] is still using it now`,
      });
      const keys = listKeys(await second.request('GET', '/apisix/admin/stream_routes'));
      assert.deepEqual(
        keys,
        ['1', '2', '3', postedId, posted.json.value.id as string]
          .map((id) => `/apisix/stream_routes/${id}`)
          .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
    } finally {
      await second.close();
    }
  });

  it('without admin_key a key is generated once, printed once, kept, and required', async () => {
    const databasePath = temporaryDatabase();
    const firstStart = await startCapturingStdout({ databasePath, replaceDeployment: '' });
    let generated: string | undefined;
    try {
      generated = await storedSetting(firstStart.test, 'admin_key');
      assert.match(generated ?? '', /^[0-9a-f]{32}$/);
      assert.ok(
        firstStart.printed.includes(generated as string),
        'the key is printed on first start',
      );
      const test = firstStart.test;
      assertExactJson(
        await test.request('GET', '/apisix/admin/upstreams', undefined, { key: null }),
        401,
        {
          error_msg: 'failed to check token',
          description: 'missing apikey',
        },
      );
      assertExactJson(await test.request('GET', '/apisix/admin/upstreams'), 401, {
        error_msg: 'failed to check token',
        description: 'wrong apikey',
      });
      const put = await test.request('PUT', '/apisix/admin/upstreams/1', upstream(), {
        key: generated,
      });
      assert.equal(put.status, 201, put.text);
    } finally {
      await firstStart.test.close();
    }

    const secondStart = await startCapturingStdout({ databasePath, replaceDeployment: '' });
    try {
      const test = secondStart.test;
      assert.equal(await storedSetting(test, 'admin_key'), generated);
      assert.ok(!secondStart.printed.includes(generated as string), 'printed only on first start');
      assertExactJson(
        await test.request('GET', '/apisix/admin/upstreams/1', undefined, { key: null }),
        401,
        {
          error_msg: 'failed to check token',
          description: 'missing apikey',
        },
      );
      assert.equal(
        (await test.request('GET', '/apisix/admin/upstreams/1', undefined, { key: TEST_ADMIN_KEY }))
          .status,
        401,
      );
      const reply = await test.request('GET', '/apisix/admin/upstreams/1', undefined, {
        key: generated,
      });
      assertStoredItem(reply, '/apisix/upstreams/1');
      assert.equal(
        (
          await test.request(
            'GET',
            `/apisix/admin/upstreams/1?api_key=${generated as string}`,
            undefined,
            { key: null },
          )
        ).status,
        200,
      );
    } finally {
      await secondStart.test.close();
    }
  });
});
