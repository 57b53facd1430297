// Admin write to route in force with many routes in the store, and admin write throughput.
//
//   node bench/apply-latency.mjs [--routes=10000] [--trials=30] [--writes=300] [--concurrency=8]
//                                [--profile-dir=<dir>]   (node --cpu-prof of the measured service)
//                                [--node-args='--trace-gc ...'] [--keep-temp]   (its log stays)
//
// Boots the BUILT service (apps/api/dist/main.js) once on an empty database so its migrations
// create the schema, stops it, seeds --routes stream routes straight into the SQLite file (the
// same rows the admin API writes for `POST /apisix/admin/stream_routes` with an `upstream_id`:
// one shared upstream, distinct remote_addr /32s that never match the probe connections), then
// boots it again and measures through the admin API only:
//   - PUT -> in force: per trial DELETE the probe route, PUT it, and time until a connection to
//     the listener is served (bench/lib/strait.mjs measureRouteChange), p50/p99;
//   - write throughput: --writes POSTs of new stream routes with --concurrency in flight.
// Seeding directly instead of POSTing 10,000 routes (5 minutes before this work) keeps the run
// bounded; the service loads the seeded rows exactly as it loads admin-written ones on start.
// Everything runs on loopback; every process is stopped by pid at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { freePorts } from './lib/ports.mjs';
import { percentile } from './lib/load.mjs';
import { stopAll } from './lib/proc.mjs';
import { measureRouteChange, REPO_ROOT, StraitInstance } from './lib/strait.mjs';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .map((arg) => arg.replace(/^--/, '').split('='))
    .map(([key, value]) => [key, value === undefined ? true : value]),
);
const ROUTES = Number(args.routes ?? 10_000);
const TRIALS = Number(args.trials ?? 30);
const WRITES = Number(args.writes ?? 300);
const CONCURRENCY = Number(args.concurrency ?? 8);

const require = createRequire(join(REPO_ROOT, 'package.json'));
const sqlite3 = require('sqlite3');

function exec(db, sql, params = []) {
  return new Promise((resolve, reject) =>
    db.run(sql, params, (error) => (error ? reject(error) : resolve())),
  );
}

async function seed(databasePath, { routes, listenPort, upstreamPort }) {
  const db = new sqlite3.Database(databasePath);
  try {
    await exec(db, 'BEGIN');
    let revision = 0;
    await exec(
      db,
      'INSERT INTO upstreams (id, value, created_index, modified_index, expires_at) VALUES (?, ?, ?, ?, NULL)',
      [
        'bench-routes',
        JSON.stringify({ nodes: { [`127.0.0.1:${upstreamPort}`]: 1 }, type: 'roundrobin' }),
        ++revision,
        revision,
      ],
    );
    for (let index = 0; index < routes; index++) {
      revision++;
      const remote = `127.${64 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`;
      await exec(
        db,
        'INSERT INTO stream_routes (id, value, created_index, modified_index, expires_at) VALUES (?, ?, ?, ?, NULL)',
        [
          String(revision).padStart(20, '0'),
          JSON.stringify({
            server_port: listenPort,
            remote_addr: remote,
            upstream_id: 'bench-routes',
          }),
          revision,
          revision,
        ],
      );
    }
    await exec(db, "UPDATE store_revision SET value = ? WHERE name = 'global'", [revision]);
    await exec(db, 'COMMIT');
  } finally {
    await new Promise((resolve) => db.close(resolve));
  }
}

function httpUpstream() {
  const server = net.createServer((socket) => {
    socket.on('data', () => socket.end('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n'));
    socket.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function writeThroughput(strait, { writes, concurrency, listenPort }) {
  let next = 0;
  let failed = 0;
  const latencies = [];
  const begin = performance.now();
  const worker = async () => {
    while (next < writes) {
      const index = next++;
      const started = performance.now();
      const res = await strait.request('POST', '/apisix/admin/stream_routes', {
        server_port: listenPort,
        remote_addr: `127.${100 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`,
        upstream_id: 'bench-routes',
      });
      latencies.push(performance.now() - started);
      if (res.status !== 200 && res.status !== 201) failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - begin) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    writes,
    failed,
    writesPerSecond: writes / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'strait-apply-'));
  const upstream = await httpUpstream();
  const upstreamPort = upstream.address().port;
  const ports = await freePorts(['admin', 'dashboard', 'prometheus', 'listen']);
  const options = { dir, ports, tcp: [`127.0.0.1:${ports.listen}`] };
  try {
    const first = await StraitInstance.start(options);
    await first.stop();
    const seedBegin = performance.now();
    await seed(join(dir, 'strait.db'), { routes: ROUTES, listenPort: ports.listen, upstreamPort });
    const seedMs = performance.now() - seedBegin;
    const bootBegin = performance.now();
    const nodeArgs = args['node-args']
      ? String(args['node-args']).split(' ')
      : args['profile-dir']
        ? ['--cpu-prof', `--cpu-prof-dir=${args['profile-dir']}`]
        : [];
    const strait = await StraitInstance.start({ ...options, nodeArgs, timeoutMs: 120_000 });
    const bootMs = performance.now() - bootBegin;
    const change = await measureRouteChange(strait, {
      port: ports.listen,
      upstreamPort,
      trials: TRIALS,
    });
    const throughput = await writeThroughput(strait, {
      writes: WRITES,
      concurrency: CONCURRENCY,
      listenPort: ports.listen,
    });
    await strait.stop(args['profile-dir'] ? 15_000 : 3000);
    const result = {
      routes: ROUTES,
      seedMs: Math.round(seedMs),
      bootMs: Math.round(bootMs),
      routeChange: change,
      throughput,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await stopAll();
    upstream.close();
    if (!args['keep-temp']) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(async (error) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
