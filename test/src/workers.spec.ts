// strait.workers: 2 through the built service: the data plane in two worker processes sharing the
// listeners. Connections spread over both; an admin write is in force in every worker when it is
// answered; a connection owned by either worker can be closed by id; a UDP session stays in one
// worker; a SIGKILLed worker comes back with the current config; SIGTERM drains them all; the
// workers never outlive the API process; a listener that cannot bind still stops startup.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin, adminOk, closeAllConnections } from './support/admin-client';
import { freeTcpPort, freeUdpPort } from './support/ports';
import {
  openClient,
  startTaggedEchoServer,
  type OpenClient,
  type TaggedEchoServer,
} from './support/sockets';
import { runToExit, StraitProcess, buildConfig } from './support/strait-process';
import { startUdpBackend, startUdpClient, type UdpBackend } from './support/udp';
import { waitFor, withDeadline } from './support/wait';

interface Row {
  id: number;
  protocol: string;
  remotePort: number;
  serverPort: number;
  routeId?: string;
  worker: number;
}

interface WorkerRow {
  index: number;
  pid: number | null;
  state: string;
  restarts: number;
}

function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function workerYaml(tcpPort: number, udpPort?: number): string {
  return [
    'stream_proxy:',
    `  tcp: ["127.0.0.1:${tcpPort}"]`,
    ...(udpPort === undefined ? [] : [`  udp: ["127.0.0.1:${udpPort}"]`]),
  ].join('\n');
}

async function workers(strait: StraitProcess): Promise<WorkerRow[]> {
  return (await adminOk(strait.adminUrl, 'GET', '/strait/v1/status')).json.dataPlane
    .workers as WorkerRow[];
}

async function rows(strait: StraitProcess): Promise<Row[]> {
  return (await adminOk(strait.adminUrl, 'GET', '/strait/v1/connections')).json.list as Row[];
}

describe('data-plane workers (strait.workers: 2)', () => {
  let strait: StraitProcess;
  let tcpPort: number;
  let udpPort: number;
  let metricsPort: number;
  let accessLogPath: string;
  const backends: TaggedEchoServer[] = [];
  let udpBackend: UdpBackend;
  const clients: OpenClient[] = [];

  const putRoute = (backend: TaggedEchoServer) =>
    adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/r1', {
      server_port: tcpPort,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${backend.port}`]: 1 } },
    });

  /**
   * Opens connections 20 at a time until both workers hold some (the kernel hands each accept to
   * whichever worker takes it first); every one must be relayed to `backend`. Bounded: 200.
   */
  async function openOnBothWorkers(backend: TaggedEchoServer, tag: string): Promise<Row[]> {
    for (let round = 0; round < 10; round += 1) {
      const opened = await Promise.all(Array.from({ length: 20 }, () => openClient(tcpPort)));
      clients.push(...opened);
      await Promise.all(opened.map((client) => client.waitForData(`${tag}\n`, 3000)));
      const live = (await rows(strait)).filter((row) => row.protocol === 'tcp');
      const seen = new Set(live.map((row) => row.worker));
      if (seen.has(0) && seen.has(1)) {
        assert.ok(backend.open >= live.length);
        return live;
      }
    }
    throw new Error('200 connections were all accepted by one worker');
  }

  async function closeClients(): Promise<void> {
    for (const client of clients.splice(0)) client.socket.destroy();
    await waitFor(
      async () => (await rows(strait)).filter((row) => row.protocol === 'tcp').length === 0,
      3000,
      'connections closed',
    );
  }

  before(async () => {
    for (const tag of ['one', 'two', 'three']) backends.push(await startTaggedEchoServer(tag));
    udpBackend = await startUdpBackend('udp');
    tcpPort = await freeTcpPort();
    udpPort = await freeUdpPort();
    metricsPort = await freeTcpPort();
    const dataDir = mkdtempSync(join(tmpdir(), 'strait-e2e-'));
    accessLogPath = join(dataDir, 'access.log');
    strait = await StraitProcess.start({
      dataDir,
      apisixYaml: workerYaml(tcpPort, udpPort),
      straitYaml: ['  workers: 2', `  access_log: { output: file, path: ${accessLogPath} }`].join(
        '\n',
      ),
      extraYaml: [
        'stream_plugins: [ip-restriction, limit-conn, prometheus]',
        'plugin_attr:',
        `  prometheus: { export_addr: { ip: 127.0.0.1, port: ${metricsPort} } }`,
      ].join('\n'),
    });
  });

  after(async () => {
    for (const client of clients) client.socket.destroy();
    if (strait?.running) await closeAllConnections(strait.adminUrl).catch(() => undefined);
    await strait?.stop();
    await Promise.all([...backends.map((backend) => backend.close()), udpBackend?.close()]);
  });

  it('runs two worker processes that share the listeners; connections spread over both', async (t) => {
    await strait.waitForOutput('stream listener open');
    const list = await workers(strait);
    assert.deepEqual(
      list.map((worker) => [worker.index, worker.state]),
      [
        [0, 'running'],
        [1, 'running'],
      ],
    );
    for (const worker of list) {
      assert.ok(worker.pid !== null && worker.pid !== strait.pid && alive(worker.pid));
    }
    const started = Date.now();
    await putRoute(backends[0]);
    const putMs = Date.now() - started;
    // In force in both workers by the time the PUT is answered: no connection misses the route.
    const live = await openOnBothWorkers(backends[0], 'one');
    assert.ok(live.every((row) => row.routeId === 'r1'));
    assert.equal(new Set(live.map((row) => row.id)).size, live.length, 'ids unique across workers');
    for (const row of live) assert.equal((row.id - 1) % 2, row.worker, `id ${row.id}`);
    const status = (await adminOk(strait.adminUrl, 'GET', '/strait/v1/status')).json;
    assert.equal(status.activeConnections, live.length);
    await closeClients();
    // An update too: every connection after the answer goes to the new node.
    await putRoute(backends[1]);
    await openOnBothWorkers(backends[1], 'two');
    await closeClients();
    t.diagnostic(`PUT answered after ${putMs} ms with 2 workers`);
  });

  it('closes a live connection by id whichever worker owns it', async () => {
    const live = await openOnBothWorkers(backends[1], 'two');
    for (const worker of [0, 1]) {
      const row = live.find((candidate) => candidate.worker === worker) as Row;
      const client = clients.find((open) => open.socket.localPort === row.remotePort) as OpenClient;
      const answer = await adminOk(strait.adminUrl, 'DELETE', `/strait/v1/connections/${row.id}`);
      assert.deepEqual(answer.json, { closed: 1 });
      await withDeadline(client.closed, 3000, `connection ${row.id} closed`);
    }
    assert.equal(
      (await admin(strait.adminUrl, 'DELETE', '/strait/v1/connections/987654')).status,
      404,
    );
    await closeClients();
  });

  it('aggregates traffic, Prometheus metrics and the access log over both workers', async () => {
    const traffic = await waitFor(
      async () => {
        const answer = await adminOk(strait.adminUrl, 'GET', '/strait/v1/traffic?seconds=60');
        const r1 = (
          answer.json.routes as {
            routeId: string;
            connectionsTotal: number;
            activeConnections: number;
          }[]
        ).find((route) => route.routeId === 'r1');
        return r1 && r1.activeConnections === 0 ? r1 : undefined;
      },
      3000,
      'traffic of r1',
    );
    const metrics = await (
      await fetch(`http://127.0.0.1:${metricsPort}/apisix/prometheus/metrics`)
    ).text();
    const total = Number(
      /^apisix_stream_connection_total\{route="r1"\} (\d+)$/m.exec(metrics)?.[1],
    );
    assert.equal(total, traffic.connectionsTotal);
    assert.match(
      metrics,
      new RegExp(
        `^apisix_stream_listener_up\\{listen_addr="tcp://127.0.0.1:${tcpPort}"\\} 1$`,
        'm',
      ),
    );
    // Each worker appends its own lines to the one file; every connection once, ids unique.
    const lines = await waitFor(
      () => {
        const text = readFileSync(accessLogPath, 'utf8').trim();
        const parsed =
          text === ''
            ? []
            : text
                .split('\n')
                .map((line) => JSON.parse(line) as { route_id: string; connection_id: string });
        return parsed.filter((line) => line.route_id === 'r1').length === total
          ? parsed
          : undefined;
      },
      3000,
      'access log complete',
    );
    assert.equal(new Set(lines.map((line) => line.connection_id)).size, lines.length);
  });

  it('keeps every datagram of a UDP session in one worker', async () => {
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/u1', {
      server_port: udpPort,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${udpBackend.port}`]: 1 } },
    });
    const udpClients = await Promise.all([startUdpClient(), startUdpClient(), startUdpClient()]);
    try {
      for (let round = 0; round < 10; round += 1) {
        for (const client of udpClients) client.send(udpPort, `d${round}`);
      }
      for (const client of udpClients) await client.waitForCount(10);
      const sessions = (await rows(strait)).filter((row) => row.protocol === 'udp');
      assert.equal(sessions.length, 3);
      assert.ok(sessions.every((row) => row.worker === sessions[0].worker));
      // One upstream socket per client session: all 30 datagrams came from 3 source ports.
      assert.equal(udpBackend.peers.length, 30);
      assert.equal(new Set(udpBackend.peers).size, 3);
    } finally {
      await Promise.all(udpClients.map((client) => client.close()));
      await closeAllConnections(strait.adminUrl);
    }
  });

  it('restarts a SIGKILLed worker, which serves the current config', async () => {
    const [, victim] = await workers(strait);
    process.kill(victim.pid as number, 'SIGKILL');
    await strait.waitForOutput('data-plane worker exited unexpectedly');
    await putRoute(backends[2]);
    const restarted = await waitFor(
      async () =>
        (await workers(strait)).find(
          (worker) => worker.index === 1 && worker.state === 'running' && worker.restarts === 1,
        ),
      5000,
      'worker 1 restarted',
    );
    assert.notEqual(restarted.pid, victim.pid);
    assert.equal(alive(victim.pid as number), false);
    await openOnBothWorkers(backends[2], 'three');
    await closeClients();
  });

  it('SIGTERM drains every worker: listeners close, open connections finish, everything exits 0', async () => {
    const pids = (await workers(strait)).map((worker) => worker.pid as number);
    const live = await openOnBothWorkers(backends[2], 'three');
    const byWorker = [0, 1].map((worker) => {
      const row = live.find((candidate) => candidate.worker === worker) as Row;
      return clients.find((open) => open.socket.localPort === row.remotePort) as OpenClient;
    });
    for (const client of clients) if (!byWorker.includes(client)) client.socket.destroy();
    strait.child.kill('SIGTERM');
    await strait.waitForOutput('stopping');
    await waitFor(
      async () => (await connectOutcome(tcpPort)) === 'ECONNREFUSED',
      3000,
      'the listener to stop accepting in every worker',
    );
    // Connections of both workers still relay while they drain.
    for (const client of byWorker) await client.roundTrip('late', 'three:late');
    assert.equal(strait.running, true);
    for (const client of byWorker) client.socket.end();
    assert.equal(await strait.waitForExit(10_000), 0);
    await waitFor(() => pids.every((pid) => !alive(pid)), 3000, 'workers exited');
  });
});

describe('data-plane workers: lifecycle edges', () => {
  it('workers exit when the API process is killed: no orphan keeps the port', async () => {
    const port = await freeTcpPort();
    const strait = await StraitProcess.start({
      apisixYaml: workerYaml(port),
      straitYaml: '  workers: 2',
    });
    const pids = (await workers(strait)).map((worker) => worker.pid as number);
    assert.equal(pids.length, 2);
    await strait.stop('SIGKILL');
    await waitFor(() => pids.every((pid) => !alive(pid)), 5000, 'workers gone with their primary');
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  it('a listener that cannot bind stops startup with the config key and exits non-zero', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const { text } = await buildConfig(
        { apisixYaml: workerYaml(taken), straitYaml: '  workers: 2' },
        '/tmp',
      );
      const { code, output } = await runToExit(
        text.replace(/path: \/tmp\/strait\.db/, 'path: ":memory:"'),
      );
      assert.equal(code, 1, output);
      assert.match(
        output,
        new RegExp(
          `strait: failed to start \\(ERR_BIND\\): apisix\\.stream_proxy\\.tcp\\[0\\]: cannot listen on tcp 127\\.0\\.0\\.1:${taken}: address already in use`,
        ),
      );
      assert.doesNotMatch(output, /admin API listening/);
    } finally {
      blocker.close();
    }
  });
});
