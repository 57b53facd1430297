// The service's lifecycle as an operator sees it: restarts on the same data directory,
// enable_admin: false, proxy_mode: http, SIGKILL in the middle of admin writes, SIGTERM with a
// connection open, and the admin key generated when none is configured.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { admin, adminOk } from './support/admin-client';
import { freeTcpPort } from './support/ports';
import { recordReliability } from './support/reliability-report';
import { exchange, openClient, startReplyServer, startTaggedEchoServer } from './support/sockets';
import { StraitProcess } from './support/strait-process';
import { waitFor, withDeadline } from './support/wait';

/** Resolves with the error code of a connect attempt, or 'connected'. */
function connectOutcome(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function streamYaml(...tcp: number[]): string {
  return ['stream_proxy:', '  tcp:', ...tcp.map((port) => `    - "127.0.0.1:${port}"`)].join('\n');
}

describe('service lifecycle', () => {
  it('restart on the same data dir: routes and revisions survive and traffic flows; enable_admin: false keeps proxying', async (t) => {
    const backend = await startReplyServer('stored\n');
    const zed = await startReplyServer('z\n');
    const ay = await startReplyServer('a\n');
    t.after(() => Promise.all([backend.close(), zed.close(), ay.close()]));
    const proxyPort = await freeTcpPort();
    const orderPort = await freeTcpPort();

    const first = await StraitProcess.start({ apisixYaml: streamYaml(proxyPort, orderPort) });
    let dataDir: string;
    let before: { route: unknown; upstream: unknown; list: unknown };
    try {
      dataDir = first.dataDir;
      await adminOk(first.adminUrl, 'PUT', '/apisix/admin/upstreams/u1', {
        type: 'roundrobin',
        nodes: { [`127.0.0.1:${backend.port}`]: 1 },
      });
      await adminOk(first.adminUrl, 'PUT', '/apisix/admin/stream_routes/r1', {
        server_port: proxyPort,
        upstream_id: 'u1',
        desc: 'survives restarts',
      });
      await adminOk(first.adminUrl, 'PATCH', '/apisix/admin/upstreams/u1', { desc: 'patched' });
      assert.equal((await exchange(proxyPort, 'mmm')).data, 'stored\n');
      // Two routes for one port, the later key first: creation order decides while running ...
      await adminOk(first.adminUrl, 'PUT', '/apisix/admin/stream_routes/order-z', {
        server_port: orderPort,
        upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${zed.port}`]: 1 } },
      });
      await adminOk(first.adminUrl, 'PUT', '/apisix/admin/stream_routes/order-a', {
        server_port: orderPort,
        upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${ay.port}`]: 1 } },
      });
      assert.equal((await exchange(orderPort, 'mmm')).data, 'z\n');
      before = {
        route: (await adminOk(first.adminUrl, 'GET', '/apisix/admin/stream_routes/r1')).json,
        upstream: (await adminOk(first.adminUrl, 'GET', '/apisix/admin/upstreams/u1')).json,
        list: (await adminOk(first.adminUrl, 'GET', '/apisix/admin/stream_routes')).json,
      };
    } finally {
      assert.equal(await first.stop(), 0);
    }

    const second = await StraitProcess.start({
      apisixYaml: streamYaml(proxyPort, orderPort),
      dataDir,
    });
    try {
      assert.deepEqual(
        (await adminOk(second.adminUrl, 'GET', '/apisix/admin/stream_routes/r1')).json,
        before.route,
      );
      assert.deepEqual(
        (await adminOk(second.adminUrl, 'GET', '/apisix/admin/upstreams/u1')).json,
        before.upstream,
      );
      assert.deepEqual(
        (await adminOk(second.adminUrl, 'GET', '/apisix/admin/stream_routes')).json,
        before.list,
      );
      assert.equal((await exchange(proxyPort, 'mmm')).data, 'stored\n');
      // ... and key order after a full load, as APISIX loads etcd (spec 3.2).
      assert.equal((await exchange(orderPort, 'mmm')).data, 'a\n');
      // The store-wide revision counter continues where it was.
      const previous = (before.upstream as { modifiedIndex: number }).modifiedIndex;
      await adminOk(second.adminUrl, 'PUT', '/apisix/admin/upstreams/u2', {
        type: 'roundrobin',
        nodes: { '127.0.0.1:1': 1 },
      });
      const next = await adminOk(second.adminUrl, 'GET', '/apisix/admin/upstreams/u2');
      assert.ok(next.json.createdIndex > previous, `${next.json.createdIndex} > ${previous}`);
      await adminOk(second.adminUrl, 'DELETE', '/apisix/admin/upstreams/u2');
    } finally {
      assert.equal(await second.stop(), 0);
    }

    const headless = await StraitProcess.start({
      apisixYaml: ['enable_admin: false', streamYaml(proxyPort)].join('\n'),
      dataDir,
      waitForAdmin: false,
    });
    try {
      await headless.waitForOutput('admin API and dashboard are off');
      assert.equal(await connectOutcome(portOf(headless.adminUrl)), 'ECONNREFUSED');
      assert.equal(await connectOutcome(portOf(headless.dashboardUrl)), 'ECONNREFUSED');
      assert.equal((await exchange(proxyPort, 'mmm')).data, 'stored\n');
    } finally {
      assert.equal(await headless.stop(), 0);
    }
  });

  it("proxy_mode: http turns stream routes off with APISIX's 400 and opens no stream listener", async (t) => {
    const proxyPort = await freeTcpPort();
    const strait = await StraitProcess.start({
      apisixYaml: ['proxy_mode: http', streamYaml(proxyPort)].join('\n'),
    });
    t.after(() => strait.stop());
    const expected = { error_msg: 'stream mode is disabled, can not add stream routes' };
    const body = { upstream: { type: 'roundrobin', nodes: { '127.0.0.1:1995': 1 } } };
    for (const [method, path, payload] of [
      ['PUT', '/apisix/admin/stream_routes/1', body],
      ['POST', '/apisix/admin/stream_routes', body],
      ['GET', '/apisix/admin/stream_routes', undefined],
      ['GET', '/apisix/admin/stream_routes/1', undefined],
      ['DELETE', '/apisix/admin/stream_routes/1', undefined],
    ] as const) {
      const answer = await admin(strait.adminUrl, method, path, payload);
      assert.equal(answer.status, 400, `${method} ${path}: ${answer.text}`);
      assert.deepEqual(answer.json, expected, `${method} ${path}`);
    }
    // The rest of the admin API works; the stream listener was never opened.
    assert.equal(
      (await admin(strait.adminUrl, 'PUT', '/apisix/admin/upstreams/1', body.upstream)).status,
      201,
    );
    assert.equal(await connectOutcome(proxyPort), 'ECONNREFUSED');
  });

  it('SIGKILL during a burst of admin writes: every acknowledged write is there after restart', async (t) => {
    const proxyPort = await freeTcpPort();
    const strait = await StraitProcess.start({ apisixYaml: streamYaml(proxyPort) });
    const total = 200;
    const killAfter = 80;
    const acknowledged = new Set<number>();
    let failures = 0;
    let nextIndex = 0;
    let killed = false;
    const worker = async () => {
      while (nextIndex < total) {
        const index = nextIndex++;
        try {
          const answer = await admin(
            strait.adminUrl,
            'PUT',
            `/apisix/admin/stream_routes/k${index}`,
            {
              server_port: proxyPort,
              desc: `write ${index}`,
              upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${10_000 + index}`]: 1 } },
            },
          );
          if (answer.status >= 200 && answer.status < 300) acknowledged.add(index);
        } catch {
          failures += 1; // the connection died with the process: not acknowledged
        }
        if (!killed && acknowledged.size >= killAfter) {
          killed = true;
          strait.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, () => worker()));
    assert.equal(await strait.waitForExit(), null, 'killed by the signal');
    t.diagnostic(
      `burst: ${acknowledged.size} writes acknowledged before SIGKILL, ${failures} failed`,
    );
    assert.ok(acknowledged.size >= killAfter && acknowledged.size < total);

    const restarted = await StraitProcess.start({
      apisixYaml: streamYaml(proxyPort),
      dataDir: strait.dataDir,
    });
    t.after(() => restarted.stop());
    const list = await adminOk(
      restarted.adminUrl,
      'GET',
      '/apisix/admin/stream_routes?page_size=500',
    );
    const stored = new Map<string, string>(
      (list.json.list as { value: { id: string; desc: string } }[]).map((item) => [
        item.value.id,
        item.value.desc,
      ]),
    );
    const missing = [...acknowledged].filter(
      (index) => stored.get(`k${index}`) !== `write ${index}`,
    );
    assert.deepEqual(missing, [], 'acknowledged writes missing after the restart');
    t.diagnostic(`after restart: ${stored.size} routes stored (${acknowledged.size} acknowledged)`);
    recordReliability({
      section: 'Shutdown',
      title: 'SIGKILL during a burst of admin writes',
      checked:
        `10 concurrent clients PUT up to ${total} stream routes; the process was killed with SIGKILL once ` +
        `${killAfter} writes had been acknowledged; after a restart on the same data directory every ` +
        'acknowledged write was stored with its own body (writes in flight may or may not be there).',
      facts: {
        'writes acknowledged before SIGKILL': acknowledged.size,
        'requests that failed (cut by the kill, then refused)': failures,
        'routes stored after restart': stored.size,
        'acknowledged writes missing': missing.length,
      },
    });
  });

  it('SIGTERM with a connection open: no new connections, the open one flows to its end, exit 0', async (t) => {
    const backend = await startTaggedEchoServer('long');
    t.after(() => backend.close());
    const proxyPort = await freeTcpPort();
    const strait = await StraitProcess.start({ apisixYaml: streamYaml(proxyPort) });
    t.after(() => strait.stop('SIGKILL'));
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/long', {
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${backend.port}`]: 1 } },
    });
    const client = await openClient(proxyPort);
    await client.roundTrip('before', 'long:before');

    strait.child.kill('SIGTERM');
    await strait.waitForOutput('stopping');
    await waitFor(
      async () => (await connectOutcome(proxyPort)) === 'ECONNREFUSED',
      2000,
      'the stream listener to stop accepting',
    );
    assert.equal(await connectOutcome(portOf(strait.adminUrl)), 'ECONNREFUSED');
    // The open connection keeps flowing in both directions while the service drains.
    for (let round = 0; round < 3; round += 1) {
      await client.roundTrip(`during${round}`, `long:during${round}`);
    }
    assert.ok(strait.running, 'still draining while the connection is open');
    const ended = Date.now();
    client.socket.end();
    const outcome = await client.closed;
    assert.equal(outcome.errorCode, undefined);
    assert.equal(await strait.waitForExit(5000), 0);
    t.diagnostic(`exited ${Date.now() - ended} ms after the last connection ended`);
  });

  it('SIGTERM with a connection that never ends: it is cut at strait.drain_timeout and the exit is 0', async (t) => {
    const backend = await startTaggedEchoServer('stuck');
    t.after(() => backend.close());
    const proxyPort = await freeTcpPort();
    const strait = await StraitProcess.start({
      apisixYaml: streamYaml(proxyPort),
      straitYaml: '  drain_timeout: 2',
    });
    t.after(() => strait.stop('SIGKILL'));
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/stuck', {
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${backend.port}`]: 1 } },
    });
    const client = await openClient(proxyPort);
    await client.waitForData('stuck\n');
    const signalled = Date.now();
    strait.child.kill('SIGTERM');
    const outcome = await withDeadline(
      client.closed,
      15_000,
      'the drain timeout to cut the connection',
    );
    const cutAfter = outcome.closedAt - signalled;
    assert.equal(await strait.waitForExit(5000), 0);
    t.diagnostic(`connection cut ${cutAfter} ms after SIGTERM (drain timeout 2 s)`);
    assert.ok(cutAfter >= 1900 && cutAfter < 4000, `cut after ${cutAfter} ms`);
  });

  // Found a real bug: a fresh start without admin_key failed with SQLite's "cannot start a
  // transaction within a transaction" (two secrets providers at once in SettingsService).
  it('no admin_key configured: a key is generated, printed once, required, and kept across restarts', async (t) => {
    const first = await StraitProcess.start({ withoutAdminKeys: true });
    let key: string;
    try {
      const line = await first.waitForOutput('shown only this once');
      key = /([0-9a-f]{32})\s*$/.exec(line)?.[1] ?? '';
      assert.match(key, /^[0-9a-f]{32}$/);
      assert.equal(
        first.output.filter((printed) => printed.includes(key)).length,
        1,
        'the key is printed exactly once',
      );
      const anonymous = await admin(first.adminUrl, 'GET', '/apisix/admin/upstreams', undefined, {
        key: null,
      });
      assert.equal(anonymous.status, 401);
      const wrong = await admin(first.adminUrl, 'GET', '/apisix/admin/upstreams', undefined, {
        key: 'edd1c9f034335f136f87ad84b625c8f1',
      });
      assert.equal(wrong.status, 401, 'the documentation key is not a default');
      assert.equal(
        (await admin(first.adminUrl, 'GET', '/apisix/admin/upstreams', undefined, { key })).status,
        200,
      );
    } finally {
      assert.equal(await first.stop(), 0);
    }

    const second = await StraitProcess.start({ withoutAdminKeys: true, dataDir: first.dataDir });
    t.after(() => second.stop());
    assert.equal(
      (await admin(second.adminUrl, 'GET', '/apisix/admin/upstreams', undefined, { key })).status,
      200,
    );
    assert.equal(
      (await admin(second.adminUrl, 'GET', '/apisix/admin/upstreams', undefined, { key: null }))
        .status,
      401,
    );
    assert.ok(!second.output.some((printed) => printed.includes(key)), 'not printed again');
    assert.ok(!second.output.some((printed) => printed.includes('shown only this once')));
  });
});
