import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@strait/fastpath/testing';
import type { UpstreamHealth } from '@strait/proxy';
import { createApp } from '../bootstrap/create-app';
import { parseConfigText } from '../config';
import { startTestApp, type TestApp } from '../testing/test-app';
import { DataPlane, type ConnectionRow } from './data-plane';
import type { WorkerPool } from './worker-pool';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A backend that greets every connection with its tag and keeps it open. */
async function greeter(tag: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write(`${tag}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Connects and resolves with the first line the proxy relays (or '' when it closes first). */
function greeting(port: number): Promise<{ socket: net.Socket; line: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => reject(new Error('no greeting within 3 s')), 3000);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
      if (data.includes('\n')) {
        clearTimeout(timer);
        resolve({ socket, line: data.trim() });
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ socket, line: data.trim() });
    });
  });
}

describe('data-plane workers (strait.workers: 2)', () => {
  let test: TestApp;
  let dataPlane: DataPlane;
  let tcpPort: number;
  let udpPorts: number[];
  const backends: { port: number; close(): Promise<void> }[] = [];
  let udpEcho: dgram.Socket;

  const rows = async (): Promise<ConnectionRow[]> =>
    (await test.request('GET', '/strait/v1/connections')).json.list as ConnectionRow[];

  /** Opens connections in rounds until both workers hold some; every one must greet with `tag`. */
  async function connectionsOnBothWorkers(tag: string): Promise<net.Socket[]> {
    const sockets: net.Socket[] = [];
    for (let round = 0; round < 10; round++) {
      const opened = await Promise.all(Array.from({ length: 20 }, () => greeting(tcpPort)));
      for (const { socket, line } of opened) {
        sockets.push(socket);
        assert.equal(line, tag);
      }
      const workers = new Set((await rows()).map((row) => row.worker));
      if (workers.has(0) && workers.has(1)) return sockets;
    }
    throw new Error('200 connections all landed in one worker');
  }

  const putRoute = (backendPort: number) =>
    test.request('PUT', '/apisix/admin/stream_routes/r1', {
      server_port: tcpPort,
      upstream: { nodes: { [`127.0.0.1:${backendPort}`]: 1 }, type: 'roundrobin' },
    });

  /** Waits until worker `index` serves again, restarted `restarts` times in all. */
  const restartedWorker = (index: number, restarts: number) =>
    waitFor(
      () =>
        dataPlane
          .workers()
          .find(
            (worker) =>
              worker.index === index && worker.state === 'running' && worker.restarts === restarts,
          ),
      5000,
      `worker ${index} restarted`,
    );

  function closeAll(sockets: net.Socket[]): Promise<unknown> {
    for (const socket of sockets) socket.destroy();
    return waitFor(async () => (await rows()).length === 0, 3000, 'connections closed');
  }

  before(async () => {
    for (const tag of ['one', 'two', 'three', 'four']) backends.push(await greeter(tag));
    udpEcho = dgram.createSocket('udp4');
    udpEcho.on('message', (message, remote) => udpEcho.send(message, remote.port, remote.address));
    await new Promise<void>((resolve) => udpEcho.bind(0, '127.0.0.1', resolve));
    tcpPort = await freePort();
    udpPorts = [await freePort(), await freePort()];
    test = await startTestApp({
      apisixYaml: [
        // One socket per listener, shared by the workers (the SO_REUSEPORT default: below).
        'enable_reuseport: false',
        'stream_proxy:',
        `  tcp: ["127.0.0.1:${tcpPort}"]`,
        `  udp: ["127.0.0.1:${udpPorts[0]}", "127.0.0.1:${udpPorts[1]}"]`,
      ].join('\n'),
      extraYaml: '  workers: 2',
    });
    dataPlane = test.app.get(DataPlane);
  });

  after(async () => {
    await test.close();
    await Promise.all(backends.map((backend) => backend.close()));
    udpEcho.close();
    assert.deepEqual(Object.keys(cluster.workers ?? {}), [], 'no worker process left');
  });

  it('runs two worker processes sharing the listeners', async () => {
    assert.equal(dataPlane.mode, 'workers');
    const status = (await test.request('GET', '/strait/v1/status')).json;
    assert.equal(status.dataPlane.mode, 'workers');
    assert.deepEqual(
      status.dataPlane.workers.map((worker: { index: number; state: string }) => [
        worker.index,
        worker.state,
      ]),
      [
        [0, 'running'],
        [1, 'running'],
      ],
    );
    for (const worker of status.dataPlane.workers) assert.notEqual(worker.pid, process.pid);
    assert.deepEqual(
      status.listeners.map((listener: { id: string; up: boolean }) => [listener.id, listener.up]),
      [
        [`tcp://127.0.0.1:${tcpPort}`, true],
        [`udp://127.0.0.1:${udpPorts[0]}`, true],
        [`udp://127.0.0.1:${udpPorts[1]}`, true],
      ],
    );
  });

  it('answers a write only once every worker applied it', async () => {
    const started = Date.now();
    const put = await putRoute(backends[0].port);
    assert.equal(put.status, 201);
    assert.ok(Date.now() - started < 1000, 'acknowledged quickly');
    // Right after the answer, connections on either worker take the new route ...
    const first = await connectionsOnBothWorkers('one');
    await closeAll(first);
    // ... and so does the next version of it.
    assert.equal((await putRoute(backends[1].port)).status, 200);
    await closeAll(await connectionsOnBothWorkers('two'));
  });

  it('lists connections of both workers with unique ids and closes one by id in either', async () => {
    const sockets = await connectionsOnBothWorkers('two');
    const list = await rows();
    assert.equal(new Set(list.map((row) => row.id)).size, list.length, 'ids are unique');
    for (const row of list) assert.equal((row.id - 1) % 2, row.worker, `id ${row.id}`);
    assert.equal(
      (await test.request('GET', '/strait/v1/status')).json.activeConnections,
      list.length,
    );
    for (const worker of [0, 1]) {
      const row = list.find((candidate) => candidate.worker === worker) as ConnectionRow;
      const client = sockets.find((socket) => socket.localPort === row.remotePort) as net.Socket;
      const ended = new Promise((resolve) => client.once('close', resolve));
      const answer = await test.request('DELETE', `/strait/v1/connections/${row.id}`);
      assert.deepEqual(answer.json, { closed: 1 });
      await ended;
    }
    assert.equal((await test.request('DELETE', '/strait/v1/connections/999999')).status, 404);
    const closed = await test.request(
      'DELETE',
      `/strait/v1/connections?node=127.0.0.1:${backends[1].port}`,
    );
    assert.equal(closed.json.closed, list.length - 2);
    await closeAll(sockets);
    const traffic = (await test.request('GET', '/strait/v1/traffic?seconds=60')).json;
    const r1 = traffic.routes.find((entry: { routeId: string }) => entry.routeId === 'r1');
    assert.ok(r1.connectionsTotal >= list.length + 40, JSON.stringify(r1));
    assert.equal(r1.activeConnections, 0);
  });

  it('keeps every datagram of a UDP session in the one worker owning its listener', async () => {
    for (const [index, port] of udpPorts.entries()) {
      assert.equal(
        (
          await test.request('PUT', `/apisix/admin/stream_routes/udp${index}`, {
            server_port: port,
            upstream: { nodes: { [`127.0.0.1:${udpEcho.address().port}`]: 1 }, type: 'roundrobin' },
          })
        ).status,
        201,
      );
    }
    const clients = await Promise.all(
      udpPorts.map(async (port) => {
        const client = dgram.createSocket('udp4');
        await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
        const replies: string[] = [];
        client.on('message', (message) => replies.push(message.toString()));
        for (let n = 0; n < 10; n++) client.send(`d${n}`, port, '127.0.0.1');
        await waitFor(() => replies.length === 10, 3000, 'ten echoes');
        return client;
      }),
    );
    const sessions = (await rows()).filter((row) => row.protocol === 'udp');
    assert.deepEqual(
      sessions.map((row) => [row.serverPort, row.worker]).sort((a, b) => a[1] - b[1]),
      [
        [udpPorts[0], 0],
        [udpPorts[1], 1],
      ],
    );
    for (const client of clients) client.close();
    // A session ends by idle timeout, or by id like a TCP connection, in whichever worker owns it.
    for (const session of sessions) {
      assert.deepEqual(
        (await test.request('DELETE', `/strait/v1/connections/${session.id}`)).json,
        {
          closed: 1,
        },
      );
    }
    await waitFor(async () => (await rows()).length === 0, 3000, 'UDP sessions closed');
  });

  it('merges health checks, plugin and handshake counters, and maps certificates here', async () => {
    const checks = {
      active: {
        type: 'tcp',
        timeout: 1,
        healthy: { interval: 1, successes: 1 },
        unhealthy: { interval: 1, tcp_failures: 1 },
      },
    };
    const dead = await freePort();
    assert.equal(
      (
        await test.request('PUT', '/apisix/admin/upstreams/checked', {
          nodes: { [`127.0.0.1:${backends[0].port}`]: 1, [`127.0.0.1:${dead}`]: 1 },
          checks,
        })
      ).status,
      201,
    );
    assert.equal(
      (
        await test.request('PUT', '/apisix/admin/stream_routes/checked', {
          server_port: 1,
          sni: 'nocert.test',
          upstream_id: 'checked',
        })
      ).status,
      201,
    );
    // Worker 0 probes for both; the dead node's flip reaches worker 1, which never probes.
    const nodeIn = (list: UpstreamHealth[], port: number) =>
      list
        .find((upstream) => upstream.upstreamKey === '/apisix/upstreams/checked')
        ?.nodes.find((entry) => entry.node === `127.0.0.1:${port}`);
    const perWorker = await waitFor(
      async () => {
        const lists = await (dataPlane as WorkerPool)['values']('health', null);
        const down = lists.map((list) => nodeIn(list, dead)?.healthy === false);
        return lists.length === 2 && down.every(Boolean) ? lists : undefined;
      },
      5000,
      'the dead node down in both workers',
    );
    assert.notEqual(nodeIn(perWorker[0], backends[0].port)?.lastCheckAt ?? null, null);
    assert.equal(
      nodeIn(perWorker[1], backends[0].port)?.lastCheckAt,
      null,
      'worker 1 never probes',
    );
    assert.equal(nodeIn(perWorker[1], dead)?.lastCheckAt, null);
    // A restarted prober starts from the node states of the other worker, before its own probes.
    const [prober] = dataPlane.workers();
    process.kill(prober.pid as number, 'SIGKILL');
    await restartedWorker(0, prober.restarts + 1);
    const synced = await waitFor(
      async () => {
        const lists = await (dataPlane as WorkerPool)['values']('health', null);
        const state = lists.length === 2 ? nodeIn(lists[0], dead) : undefined;
        return state?.healthy === false ? state : undefined;
      },
      800,
      'the dead node down in the restarted worker',
    );
    assert.equal(synced.lastCheckAt, null, 'taken over, not probed yet');
    // The answer is one upstream: the live node healthy, the dead one not.
    const health = (await test.request('GET', '/strait/v1/upstreams/checked/health')).json;
    assert.equal(health.nodes.length, 2);
    assert.deepEqual(
      health.nodes
        .map((entry: { node: string; healthy: boolean }) => [entry.node, entry.healthy])
        .sort(),
      [
        [`127.0.0.1:${backends[0].port}`, true],
        [`127.0.0.1:${dead}`, false],
      ].sort(),
    );
    const list = (await test.request('GET', '/strait/v1/health')).json;
    assert.deepEqual(
      list.list.map((entry: { upstream_key: string }) => entry.upstream_key),
      ['/apisix/upstreams/checked'],
    );
    const certificates = (await test.request('GET', '/strait/v1/certificates')).json;
    assert.deepEqual(
      certificates.uncoveredSnis.map((entry: { routeId: string }) => entry.routeId),
      ['checked'],
    );
    assert.deepEqual(await dataPlane.pluginStats(), {
      limitConn: { connections: 0, keys: {} },
      syslog: [],
    });
    assert.deepEqual(await dataPlane.handshakeStats(), {
      completed: 0,
      resumed: 0,
      failed: {},
      pending: 0,
    });
    assert.equal((await test.request('DELETE', '/apisix/admin/stream_routes/checked')).status, 200);
    assert.equal((await test.request('DELETE', '/apisix/admin/upstreams/checked')).status, 200);
  });

  it('restarts a killed worker, which serves the current config', async () => {
    const r1Total = async (): Promise<number> =>
      (
        (await test.request('GET', '/strait/v1/traffic?seconds=1')).json.routes as {
          routeId: string;
          connectionsTotal: number;
        }[]
      ).find((route) => route.routeId === 'r1')?.connectionsTotal ?? 0;
    const totalBefore = await r1Total();
    assert.ok(totalBefore > 0);
    const [, victim] = dataPlane.workers();
    process.kill(victim.pid as number, 'SIGKILL');
    // A write while it is down reaches it with the snapshot it gets on restart.
    assert.equal((await putRoute(backends[2].port)).status, 200);
    const restarted = await restartedWorker(1, 1);
    assert.notEqual(restarted.pid, victim.pid);
    // Counters of the killed worker, as last reported, stay in the totals.
    assert.ok((await r1Total()) >= totalBefore, 'totals do not go back');
    await closeAll(await connectionsOnBothWorkers('three'));
    // The restarted worker's connection ids still name it, and do not repeat the old ones.
    const sockets = await connectionsOnBothWorkers('three');
    for (const row of await rows()) {
      assert.equal((row.id - 1) % 2, row.worker);
      if (row.worker === 1) assert.ok(row.id > 2 ** 32, `id ${row.id} is from a new block`);
    }
    await closeAll(sockets);
  });

  it('restarts a worker that was sent SIGTERM on its own once it has drained', async () => {
    const [victim] = dataPlane.workers();
    process.kill(victim.pid as number, 'SIGTERM');
    const restarted = await restartedWorker(0, victim.restarts + 1);
    assert.notEqual(restarted.pid, victim.pid);
    await closeAll(await connectionsOnBothWorkers('three'));
  });

  it('answers a write after the acknowledgement timeout when a worker is stuck, and gives it no connection', async () => {
    const [stuck] = dataPlane.workers();
    process.kill(stuck.pid as number, 'SIGSTOP');
    try {
      const started = Date.now();
      const put = await putRoute(backends[3].port);
      const waited = Date.now() - started;
      assert.equal(put.status, 200);
      assert.ok(waited >= 1900 && waited < 4000, `answered after ${waited} ms`);
      // The workers share one accept queue and a stuck worker does not wait on it: the other one
      // serves every new connection (with a socket per worker, about half would hang).
      const served = await Promise.all(Array.from({ length: 20 }, () => greeting(tcpPort)));
      for (const { socket, line } of served) {
        assert.equal(line, 'four');
        socket.destroy();
      }
    } finally {
      process.kill(stuck.pid as number, 'SIGCONT');
    }
    // Once it runs again it applies the change it had queued.
    await closeAll(await connectionsOnBothWorkers('four'));
  });

  it('drains every worker on drain(): open connections finish, then the workers exit', async () => {
    const { socket } = await greeting(tcpPort);
    const pids = dataPlane.workers().map((worker) => worker.pid as number);
    const drained = dataPlane.drain(5000);
    // Listeners close at once; the open connection keeps the drain waiting until it ends.
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const probe = net.connect(tcpPort, '127.0.0.1');
          probe.on('error', () => resolve(true));
          probe.on('connect', () => {
            probe.destroy();
            resolve(false);
          });
        }),
      3000,
      'listener closed',
    );
    assert.ok(dataPlane.workers().some((worker) => worker.state === 'stopping'));
    socket.destroy();
    await drained;
    assert.ok(dataPlane.workers().every((worker) => worker.state === 'stopped'));
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});

describe('data-plane workers with apisix.enable_reuseport (the default)', () => {
  it('binds a SO_REUSEPORT socket in each worker, and both serve the route', async () => {
    const backend = await greeter('reuse');
    const tcpPort = await freePort();
    const test = await startTestApp({
      apisixYaml: ['stream_proxy:', `  tcp: ["127.0.0.1:${tcpPort}"]`].join('\n'),
      extraYaml: '  workers: 2',
    });
    try {
      const put = await test.request('PUT', '/apisix/admin/stream_routes/r1', {
        server_port: tcpPort,
        upstream: { nodes: { [`127.0.0.1:${backend.port}`]: 1 }, type: 'roundrobin' },
      });
      assert.equal(put.status, 201);
      // The kernel hashes connections over the two sockets: within 200 both workers have some.
      const sockets: net.Socket[] = [];
      const workers = new Set<number>();
      for (let round = 0; round < 10 && workers.size < 2; round++) {
        const opened = await Promise.all(Array.from({ length: 20 }, () => greeting(tcpPort)));
        for (const { socket, line } of opened) {
          sockets.push(socket);
          assert.equal(line, 'reuse');
        }
        const rows = (await test.request('GET', '/strait/v1/connections')).json
          .list as ConnectionRow[];
        for (const row of rows) workers.add(row.worker);
      }
      assert.deepEqual([...workers].sort(), [0, 1]);
      for (const socket of sockets) socket.destroy();
    } finally {
      await test.close();
      await backend.close();
    }
  });
});

describe('data-plane workers: startup', () => {
  for (const reusePort of [true, false]) {
    it(`fails startup with the config key of a listener that cannot bind, leaving no worker (enable_reuseport: ${reusePort})`, async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const taken = (blocker.address() as net.AddressInfo).port;
      try {
        const config = parseConfigText(
          [
            'apisix:',
            `  enable_reuseport: ${reusePort}`,
            '  stream_proxy:',
            `    tcp: ["127.0.0.1:${await freePort()}", "127.0.0.1:${taken}"]`,
            'deployment:',
            '  admin:',
            '    admin_key: [{ name: admin, key: edd1c9f034335f136f87ad84b625c8f1, role: admin }]',
            'strait:',
            '  database: { type: sqlite, path: ":memory:" }',
            '  log: { level: error }',
            '  workers: 2',
          ].join('\n'),
          { homeDir: '/tmp' },
        );
        await assert.rejects(
          createApp(config, { logger: false }),
          (error: NodeJS.ErrnoException) => {
            assert.equal(error.code, 'ERR_BIND');
            assert.equal(
              error.message,
              `apisix.stream_proxy.tcp[1]: cannot listen on tcp 127.0.0.1:${taken}: address already in use`,
            );
            return true;
          },
        );
        assert.deepEqual(Object.keys(cluster.workers ?? {}), []);
      } finally {
        blocker.close();
      }
    });
  }
});
