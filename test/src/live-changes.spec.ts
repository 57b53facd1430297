// Live changes through the admin API (spec 3.2): a write is in force for the very next
// connection, open connections keep their upstream when their route changes or disappears
// (scenario 35), and PUT/DELETE/PUT in a row leaves the latest config in force.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { adminOk } from './support/admin-client';
import { freeTcpPort } from './support/ports';
import {
  exchange,
  openClient,
  startReplyServer,
  startTaggedEchoServer,
  type EchoServer,
  type TaggedEchoServer,
} from './support/sockets';
import { StraitProcess } from './support/strait-process';

function upstream(port: number) {
  return { nodes: { [`127.0.0.1:${port}`]: 1 }, type: 'roundrobin' };
}

describe('live route changes', () => {
  let strait: StraitProcess;
  let alpha: EchoServer;
  let beta: EchoServer;
  let helloWorld: TaggedEchoServer;
  let other: TaggedEchoServer;
  const ports: number[] = [];

  before(async () => {
    alpha = await startReplyServer('alpha\n');
    beta = await startReplyServer('beta\n');
    helloWorld = await startTaggedEchoServer('hello world');
    other = await startTaggedEchoServer('other');
    for (let index = 0; index < 3; index += 1) ports.push(await freeTcpPort());
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        ...ports.map((port) => `    - "127.0.0.1:${port}"`),
      ].join('\n'),
    });
  });

  after(async () => {
    await strait?.stop();
    await Promise.all([alpha, beta, helloWorld, other].map((server) => server?.close()));
  });

  it('a route written through the admin API serves the next connection within 100 ms', async (t) => {
    const [port] = ports;
    const latencies: number[] = [];
    for (let round = 0; round < 20; round += 1) {
      const target = round % 2 === 0 ? alpha : beta;
      await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/live', {
        server_port: port,
        upstream: upstream(target.port),
      });
      const answered = performance.now();
      // The very first connection after the answer must already see the new route: no polling.
      const { data } = await exchange(port, 'mmm');
      latencies.push(performance.now() - answered);
      assert.equal(data, round % 2 === 0 ? 'alpha\n' : 'beta\n', `round ${round}`);
    }
    await adminOk(strait.adminUrl, 'DELETE', '/apisix/admin/stream_routes/live');
    const deleted = performance.now();
    assert.equal((await exchange(port, 'mmm')).data, '', 'the first connection after DELETE');
    latencies.push(performance.now() - deleted);

    // Every round above already proves the change was in force before the answer left (the
    // first connection, with no polling, used it). The time includes a full proxied exchange, so
    // on a shared 2-core machine one round can be descheduled: the bound is on the 90th
    // percentile, and the maximum is reported.
    const sorted = [...latencies].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const p90 = sorted[Math.ceil(sorted.length * 0.9) - 1];
    const max = sorted[sorted.length - 1];
    t.diagnostic(
      `admin answer -> proxied reply on the next connection: median ${median.toFixed(1)} ms, ` +
        `p90 ${p90.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
    );
    assert.ok(p90 < 100, `90th percentile ${p90.toFixed(1)} ms`);
  });

  it('scenario 35: an open connection keeps its upstream while its route changes and is deleted', async () => {
    const port = ports[1];
    const path = '/apisix/admin/stream_routes/35';
    const created = await adminOk(strait.adminUrl, 'PUT', path, {
      remote_addr: '127.0.0.1',
      server_port: port,
      upstream: upstream(helloWorld.port),
    });
    assert.equal(created.status, 201);

    const long = await openClient(port);
    await long.waitForData('hello world\n');
    await long.roundTrip('mmm', 'hello world:mmm');

    // remote_addr changed: the next client from 127.0.0.1 is closed without a byte ...
    await adminOk(strait.adminUrl, 'PUT', path, {
      remote_addr: '127.0.0.2',
      server_port: port,
      upstream: upstream(helloWorld.port),
    });
    assert.deepEqual(await exchange(port, 'mmm', { timeoutMs: 2000 }), { data: '', closed: true });
    // ... a client from 127.0.0.2 is served ...
    const fromTwo = await openClient(port, { localAddress: '127.0.0.2' });
    await fromTwo.waitForData('hello world\n');
    fromTwo.socket.destroy();
    // ... and the open connection still flows.
    await long.roundTrip('ping1', 'hello world:ping1');

    // The route moves to another upstream: new connections go there, the open one stays.
    await adminOk(strait.adminUrl, 'PUT', path, {
      remote_addr: '127.0.0.1',
      server_port: port,
      upstream: upstream(other.port),
    });
    const moved = await openClient(port);
    await moved.waitForData('other\n');
    moved.socket.destroy();
    await long.roundTrip('ping2', 'hello world:ping2');

    // Deleted: the next connection is closed, the open one still flows until it ends.
    await adminOk(strait.adminUrl, 'DELETE', path);
    assert.deepEqual(await exchange(port, 'mmm', { timeoutMs: 2000 }), { data: '', closed: true });
    await long.roundTrip('ping3', 'hello world:ping3');
    assert.equal(long.isClosed, false);
    long.socket.end();
    const outcome = await long.closed;
    assert.equal(outcome.errorCode, undefined);
    assert.equal(
      outcome.data,
      'hello world\nhello world:mmmhello world:ping1hello world:ping2hello world:ping3',
    );
  });

  it('PUT, DELETE, PUT in a row: the next connection sees the latest config (tombstone race)', async () => {
    const port = ports[2];
    const path = '/apisix/admin/stream_routes/race';
    for (let round = 0; round < 15; round += 1) {
      const [first, last] = round % 2 === 0 ? [alpha, beta] : [beta, alpha];
      await adminOk(strait.adminUrl, 'PUT', path, {
        server_port: port,
        upstream: upstream(first.port),
      });
      await adminOk(strait.adminUrl, 'DELETE', path);
      await adminOk(strait.adminUrl, 'PUT', path, {
        server_port: port,
        upstream: upstream(last.port),
      });
      assert.equal((await exchange(port, 'mmm')).data, round % 2 === 0 ? 'beta\n' : 'alpha\n');
    }
    // And the other way round: DELETE, PUT, DELETE ends deleted.
    await adminOk(strait.adminUrl, 'DELETE', path);
    await adminOk(strait.adminUrl, 'PUT', path, {
      server_port: port,
      upstream: upstream(alpha.port),
    });
    await adminOk(strait.adminUrl, 'DELETE', path);
    assert.equal((await exchange(port, 'mmm')).data, '');
  });
});
