#!/usr/bin/env node
// Strait's benchmark (issue 7): Strait against nginx stream and HAProxy, side by side on this
// machine in one run, on loopback only. Writes docs/benchmarks.md.
//
//   npm run bench                 full mode
//   npm run bench -- --quick      under 2 minutes (once the packages are installed)
//
// Options: --quick, --targets=direct,nginx-1,... (a subset), --no-profile, --no-install,
// --rebuild (build the service even if apps/api/dist exists), --output=<file>, --json=<file>
// (raw results), --keep-temp (keep configs, logs and the Strait .cpuprofile), --profile-out=<file>,
// --render=<results.json> (only rewrite the report from the raw results of an earlier run).
//
// Everything started here is registered and killed by pid at the end, on error and on SIGINT/SIGTERM.
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ensureTools } from './lib/install.mjs';
import {
  dnsperfLatency,
  dnsperfRate,
  iperf3,
  negotiatedTls,
  buildTlsClient,
  tlsFullHandshakes,
  histogramPercentile,
  poolHistograms,
  wrk,
  writeQueryFile,
} from './lib/load.mjs';
import { gitRevision, machineInfo, toolVersions } from './lib/machine.mjs';
import { freePorts } from './lib/ports.mjs';
import {
  coreBusyTicks,
  cpuSeconds,
  cpuUsage,
  killAllSync,
  processTree,
  rssKb,
  sleep,
  stopAll,
  stopProcess,
} from './lib/proc.mjs';
import { lookup } from 'node:dns/promises';
import { renderReport } from './lib/report.mjs';
import {
  makeCertificate,
  startDnsmasq,
  startHaproxy,
  startHttpUpstream,
  startIdleHelper,
  startIperfServer,
  startNginxStream,
  tcpAccepting,
} from './lib/servers.mjs';
import {
  createManyRoutes,
  ensureBuilt,
  measureRouteChange,
  REPO_ROOT,
  servedOnce,
  StraitInstance,
} from './lib/strait.mjs';
import { inclusiveTime, summarize } from './cpuprofile-top.mjs';

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name) =>
  argv
    .find((arg) => arg.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=');
const QUICK = flag('quick');
/**
 * How long a target has run before its idle RSS is representative: a garbage-collected process
 * (Strait) holds its start-up garbage until V8's memory reducer runs, some seconds after the last
 * full collection (measured: 126 MB 10 s after start, 94 MB within 25 s), and the first
 * connections would then fill that space instead of growing RSS.
 */
const IDLE_UPTIME_MS = 45_000;
const SETTINGS = QUICK
  ? {
      repeats: 1,
      noisyFigureRepeats: 1,
      keptAliveRepeats: 1,
      seconds: 1,
      bulkSeconds: 1,
      warmupSeconds: 1,
      idleConns: 5000,
      rssSteadyMs: 500,
      // Not waited for in quick mode: a reading taken earlier is flagged instead.
      idleMinUptimeMs: 0,
      routeTrials: 10,
      manyRoutes: 1000,
      manyRoutesDeadlineSeconds: 20,
      manyRoutesChangeTrials: 5,
      routeConcurrency: 8,
      profileSeconds: 3,
      udpLatencyQps: 2000,
      udpLatencySeconds: 1,
    }
  : {
      repeats: 3,
      // The figures that move most from run to run get more rounds: the new-connection rate, and
      // most of all the kept-alive p99s. A 4 s run's p99 moves by ±15% between rounds (one stall
      // of a millisecond is enough), so with 5 rounds the medians of two targets that pooled
      // over three full runs were 1.03x apart came out anywhere from 0.98x to 1.25x apart in
      // "added p99", against a 1.2x target; 9 rounds narrow that.
      noisyFigureRepeats: 5,
      keptAliveRepeats: 9,
      seconds: 4,
      bulkSeconds: 4,
      warmupSeconds: 2,
      idleConns: 5000,
      // An RSS reading is taken once this long a window of readings stays within 1%.
      rssSteadyMs: 3000,
      idleMinUptimeMs: IDLE_UPTIME_MS,
      routeTrials: 20,
      manyRoutes: 10_000,
      manyRoutesDeadlineSeconds: 900,
      manyRoutesChangeTrials: 20,
      routeConcurrency: 8,
      profileSeconds: 10,
      udpLatencyQps: 2000,
      udpLatencySeconds: 3,
    };
const OUTPUT = resolve(REPO_ROOT, option('output') ?? 'docs/benchmarks.md');
const COMMAND = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;

const CORES = os.cpus().length;
// Load generators and upstreams on core 0, single-worker proxies on core 1, multi-worker proxies
// on every core. On a 1-core machine nothing can be separated: everything shares core 0.
const LOAD_CPUS = '0';
const PROXY_CPUS = CORES >= 2 ? '1' : '0';
const ALL_CPUS = CORES >= 2 ? `0-${CORES - 1}` : '0';

const ALL_TARGETS = [
  {
    id: 'direct',
    label: 'no proxy (direct)',
    kind: 'direct',
    workers: 0,
    cpus: null,
    compareTo: 'nginx-1',
    description: 'the load generator talks to the upstream itself: the physical reference',
  },
  {
    id: 'nginx-1',
    label: 'nginx stream, 1 worker',
    kind: 'nginx',
    workers: 1,
    cpus: PROXY_CPUS,
    compareTo: 'nginx-1',
    description:
      'nginx 1 master + 1 worker (`worker_processes 1`), stream module, one `server` per listener with `reuseport` (as APISIX writes it by default)',
  },
  {
    id: 'nginx-n',
    label: `nginx stream, ${CORES} workers`,
    kind: 'nginx',
    workers: CORES,
    cpus: ALL_CPUS,
    compareTo: 'nginx-n',
    description: `nginx with \`worker_processes ${CORES}\` (one per core), same config: each worker has its own \`reuseport\` socket`,
  },
  {
    id: 'haproxy-1',
    label: 'HAProxy tcp, nbthread 1',
    kind: 'haproxy',
    workers: 1,
    cpus: PROXY_CPUS,
    compareTo: 'nginx-1',
    description: 'HAProxy `mode tcp`, `nbthread 1`, one frontend/backend per listener',
  },
  {
    id: 'haproxy-n',
    label: `HAProxy tcp, nbthread ${CORES}`,
    kind: 'haproxy',
    workers: CORES,
    cpus: ALL_CPUS,
    compareTo: 'nginx-n',
    description: `HAProxy \`mode tcp\`, \`nbthread ${CORES}\``,
  },
  {
    id: 'strait-1',
    label: 'Strait, 1 process',
    kind: 'strait',
    workers: 1,
    cpus: PROXY_CPUS,
    compareTo: 'nginx-1',
    description:
      'the built service (`node apps/api/dist/main.js --config <generated yaml>`): admin API + in-process data plane; routes created through the admin API',
  },
  {
    id: 'strait-n',
    label: 'Strait, one worker per core',
    kind: 'strait',
    workers: CORES,
    cpus: ALL_CPUS,
    compareTo: 'nginx-n',
    description: `the same service with \`strait.workers: ${CORES}\`: the admin API process plus ${CORES} data-plane worker processes, each with its own \`SO_REUSEPORT\` socket per TCP listener (the default \`apisix.enable_reuseport: true\`)`,
  },
];
const wanted = option('targets')?.split(',');
const TARGETS = ALL_TARGETS.filter((target) => !wanted || wanted.includes(target.id));

// ---------------------------------------------------------------- logging, cleanup
const begin = Date.now();
const log = (message) =>
  process.stderr.write(
    `[bench ${((Date.now() - begin) / 1000).toFixed(1).padStart(6)}s] ${message}\n`,
  );
let tempRoot;
let interrupted = false;

async function cleanup() {
  await stopAll();
  if (tempRoot && !flag('keep-temp')) rmSync(tempRoot, { recursive: true, force: true });
  else if (tempRoot) log(`kept ${tempRoot}`);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping everything the benchmark started`);
    cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', () => killAllSync());

// ---------------------------------------------------------------- measurement helpers
/**
 * Runs `fn` and attaches the CPU seconds the target's processes used meanwhile, and how busy the
 * proxy core was with anything else (other processes on this machine: the noise in the figure).
 */
async function withCpu(target, fn) {
  const pids = target.pids();
  const before = pids.length ? cpuSeconds(pids) : undefined;
  const usageBefore = pids.length ? cpuUsage(pids) : undefined;
  const ticksBefore = coreBusyTicks();
  const wallBefore = performance.now();
  const result = await fn();
  const wall = (performance.now() - wallBefore) / 1000;
  const ticksAfter = coreBusyTicks();
  const busy = (ticksAfter[PROXY_CPUS] - ticksBefore[PROXY_CPUS]) / 100;
  if (result && !result.error) {
    // How busy the load core was: near 1, the load generator (not the proxy) bounded the rate.
    result.loadCoreBusy = (ticksAfter[LOAD_CPUS] - ticksBefore[LOAD_CPUS]) / 100 / wall;
    if (before !== undefined) {
      result.cpuSeconds = cpuSeconds(pids) - before;
      const usage = cpuUsage(pids);
      result.cpuUserSeconds = usage.user - usageBefore.user;
      result.cpuSystemSeconds = usage.system - usageBefore.system;
      result.minorFaults = usage.minorFaults - usageBefore.minorFaults;
    }
    // Only meaningful when the target itself is confined to the proxy core (or is not a process).
    if (target.pinnedToProxyCore || pids.length === 0) {
      result.otherLoadOnProxyCore = Math.max(0, (busy - (result.cpuSeconds ?? 0)) / wall);
    }
  }
  return result;
}

async function figure(record, name, fn) {
  if (interrupted) return;
  try {
    record.figures[name] = (await fn()) ?? { error: 'no result' };
  } catch (error) {
    record.figures[name] = { error: error.message };
  }
  const f = record.figures[name];
  log(`  ${record.id} ${name}: ${f.error ? `unavailable: ${f.error}` : short(f)}`);
}

function short(f) {
  if (f.bitsPerSecond)
    return `${(f.bitsPerSecond / 1e9).toFixed(2)} Gbit/s, cpu ${f.cpuSeconds?.toFixed(2) ?? '-'} s`;
  if (f.rate)
    return `${f.rate.toFixed(0)}/s p50 ${f.p50Us ?? '-'} p99 ${f.p99Us ?? '-'} cpu ${f.cpuSeconds?.toFixed(2) ?? '-'} s${f.errors ? ` errors ${f.errors}` : ''}${f.lost ? ` lost ${f.lost}` : ''}`;
  if (f.perConnKb !== undefined)
    return `idle ${f.idleKb} KB, with ${f.alive} conns ${f.withKb} KB, ${f.perConnKb.toFixed(1)} KB/conn (marginal ${f.marginalKb?.toFixed(1) ?? '-'})`;
  if (f.p50Us !== undefined) return `p50 ${f.p50Us.toFixed(0)} µs p99 ${f.p99Us.toFixed(0)} µs`;
  return JSON.stringify(f).slice(0, 200);
}

async function iperfWithRetry(options) {
  let result = await iperf3(options);
  if (result.error) {
    // iperf3 -s can stay busy for a moment after an aborted test; one retry.
    await sleep(1500);
    result = await iperf3(options);
  }
  return result;
}

/**
 * RSS idle, then with N/2 and N idle connections through `port`, of the target's processes.
 * KB per connection is (RSS with N − RSS idle) / N, as issue 7 defines it; the marginal figure
 * (N/2 → N) leaves out pools and heap space a process had committed before the first connection
 * (a garbage-collected heap absorbs the first connections into space it already holds).
 */
/**
 * RSS (KB, all of the target's processes) once it has stopped moving: read every 250 ms until the
 * readings of the last `steadyMs` stay within 1% of each other, or `maxMs` passed (then the last
 * reading, with settled false). A garbage-collected process may still be growing or releasing
 * memory right after a change; one reading would catch it at a random point.
 */
async function settledRssKb(pids, { steadyMs = SETTINGS.rssSteadyMs, maxMs = 20_000 } = {}) {
  const begin = performance.now();
  const readings = [];
  for (;;) {
    const now = performance.now();
    readings.push({ at: now, kb: rssKb(pids) });
    const window = readings.filter((reading) => reading.at >= now - steadyMs);
    const kbs = window.map((reading) => reading.kb);
    const steady =
      now - begin >= steadyMs && Math.max(...kbs) - Math.min(...kbs) <= 0.01 * Math.max(...kbs);
    if (steady || now - begin >= maxMs)
      return { kb: readings.at(-1).kb, settled: steady, ms: Math.round(now - begin) };
    await sleep(250);
  }
}

async function idleConnections(target, helper, port) {
  const pids = target.pids();
  await sleep(Math.max(0, target.startedAt + SETTINGS.idleMinUptimeMs - performance.now()));
  const uptimeMs = performance.now() - target.startedAt;
  const idle = await settledRssKb(pids);
  const half = Math.floor(SETTINGS.idleConns / 2);
  const first = await helper.command({ cmd: 'open', port, count: half, timeoutMs: 30_000 }, 45_000);
  const atHalf = await settledRssKb(pids);
  const second = await helper.command(
    { cmd: 'open', port, count: SETTINGS.idleConns - half, timeoutMs: 30_000 },
    45_000,
  );
  const withAll = await settledRssKb(pids);
  const [idleKb, halfKb, withKb] = [idle.kb, atHalf.kb, withAll.kb];
  const unsettled = [
    [idle, 'idle'],
    [atHalf, `${half} connections`],
    [withAll, `${SETTINGS.idleConns} connections`],
  ]
    .filter(([reading]) => !reading.settled)
    .map(([, label]) => label);
  const count = await helper.command({ cmd: 'count' }, 10_000);
  await helper.command({ cmd: 'close', timeoutMs: 15_000 }, 30_000);
  // `alive` in an answer counts every client connection still open (all batches so far).
  const held = second.alive;
  if (!held)
    return {
      error: `no connection stayed open (${second.failed} failed${second.error ? `: ${second.error}` : ''})`,
    };
  return {
    idleKb,
    halfKb,
    withKb,
    alive: held,
    accepted: count.accepted,
    perConnKb: (withKb - idleKb) / held,
    marginalKb: held > first.alive ? (withKb - halfKb) / (held - first.alive) : undefined,
    settleMs: [idle.ms, atHalf.ms, withAll.ms],
    note:
      [
        held < SETTINGS.idleConns
          ? `only ${held} of ${SETTINGS.idleConns} stayed open (${second.error ?? first.error ?? 'closed'})`
          : undefined,
        unsettled.length ? `RSS still moving after 20 s at: ${unsettled.join(', ')}` : undefined,
        uptimeMs < IDLE_UPTIME_MS
          ? `idle read ${Math.round(uptimeMs / 1000)} s after start: a garbage-collected process may still hold start-up garbage there, which then absorbs connections`
          : undefined,
      ]
        .filter(Boolean)
        .join('; ') || undefined,
  };
}

/**
 * The interleaved measurements: for each figure, `repeats` rounds, each round running the figure
 * once on every target in turn; the figure kept per target is the run with the median result.
 * Interleaving spreads any outside disturbance (other work on the machine) over all targets
 * instead of letting it hit whichever target happened to be measured at that moment.
 */
const MEASURES = [
  {
    name: 'bulk1',
    key: 'bitsPerSecond',
    run: (t) =>
      t.ports.iperf &&
      (() =>
        iperfWithRetry({
          port: t.ports.iperf,
          seconds: SETTINGS.bulkSeconds,
          streams: 1,
          cpus: LOAD_CPUS,
        })),
  },
  {
    name: 'bulk4',
    key: 'bitsPerSecond',
    run: (t) =>
      t.ports.iperf &&
      (() =>
        iperfWithRetry({
          port: t.ports.iperf,
          seconds: SETTINGS.bulkSeconds,
          streams: 4,
          cpus: LOAD_CPUS,
        })),
  },
  {
    name: 'connRate',
    key: 'rate',
    latencies: true,
    repeats: () => SETTINGS.noisyFigureRepeats,
    run: (t) => () =>
      wrk({
        port: t.ports.http,
        seconds: SETTINGS.seconds,
        connections: 50,
        close: true,
        cpus: LOAD_CPUS,
      }),
  },
  {
    // nginx only: the connection rate with proxy_half_close on, the FIN semantics Strait has.
    name: 'connRateHalfClose',
    key: 'rate',
    repeats: () => SETTINGS.noisyFigureRepeats,
    run: (t) =>
      t.ports.httpHalfClose &&
      (() =>
        wrk({
          port: t.ports.httpHalfClose,
          seconds: SETTINGS.seconds,
          connections: 50,
          close: true,
          cpus: LOAD_CPUS,
        })),
    missing: () => 'measured for nginx only',
  },
  {
    name: 'ka50',
    key: 'rate',
    latencies: true,
    repeats: () => SETTINGS.keptAliveRepeats,
    run: (t) => () =>
      wrk({ port: t.ports.http, seconds: SETTINGS.seconds, connections: 50, cpus: LOAD_CPUS }),
  },
  {
    name: 'ka1',
    key: 'rate',
    latencies: true,
    repeats: () => SETTINGS.keptAliveRepeats,
    run: (t) => () =>
      wrk({ port: t.ports.http, seconds: SETTINGS.seconds, connections: 1, cpus: LOAD_CPUS }),
  },
  {
    name: 'udp',
    key: 'rate',
    run: (t) =>
      t.ports.udp &&
      (() =>
        dnsperfRate({
          port: t.ports.udp,
          seconds: SETTINGS.seconds,
          queryFile: t.ctx.queryFile,
          cpus: LOAD_CPUS,
        })),
    missing: (t) => t.noUdp ?? 'no UDP listener',
  },
  {
    name: 'udpLatency',
    key: 'p50Us',
    lowerIsBetter: true,
    run: (t) =>
      t.ports.udp &&
      (() =>
        dnsperfLatency({
          port: t.ports.udp,
          seconds: SETTINGS.udpLatencySeconds,
          queryFile: t.ctx.queryFile,
          qps: SETTINGS.udpLatencyQps,
          cpus: LOAD_CPUS,
        })),
    missing: (t) => t.noUdp ?? 'no UDP listener',
  },
  {
    name: 'tls',
    key: 'rate',
    run: (t) =>
      t.ports.tls &&
      (() =>
        wrk({
          port: t.ports.tls,
          seconds: SETTINGS.seconds,
          connections: 50,
          close: true,
          https: true,
          host: t.ctx.tlsHost,
          cpus: LOAD_CPUS,
        })),
    missing: (t) => t.noTls ?? 'no TLS listener',
  },
  {
    name: 'tlsFull',
    key: 'rate',
    run: (t) =>
      t.ports.tls &&
      t.ctx.tlsClient.binary &&
      (() =>
        tlsFullHandshakes({
          binary: t.ctx.tlsClient.binary,
          port: t.ports.tls,
          seconds: SETTINGS.seconds,
          connections: 50,
          host: t.ctx.tlsHost,
          cpus: LOAD_CPUS,
        })),
    missing: (t) => t.ctx.tlsClient.error ?? t.noTls ?? 'no TLS listener',
  },
];

const LATENCY_PERCENTILES = { p50Us: 50, p90Us: 90, p99Us: 99 };

/**
 * The run with the median `key`, with the rounds' values in `runs`. With `latencies`, each
 * latency percentile is taken over every round's samples pooled (wrk's histograms added up),
 * and each round's own value is kept in `<key>Runs` for the spread: a percentile from whichever
 * run had the median rate would be one sample of the noisiest figure, and the median of the
 * rounds' p99s still moved by 1.3x between full runs with the distributions unchanged. Rounds
 * without a histogram fall back to that median.
 */
function median(results, key, { latencies = false } = {}) {
  const ok = results.filter((result) => result && !result.error);
  if (ok.length === 0) return results.find((result) => result?.error) ?? { error: 'no result' };
  const middle = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
  const chosen = { ...ok.find((result) => result[key] === middle(ok.map((r) => r[key]))) };
  if (results.length > 1) {
    chosen.runs = ok.map((result) => result[key]);
    chosen.failedRuns = results.length - ok.length;
    if (latencies) {
      const pooled = ok.every((result) => result.histogram?.length)
        ? poolHistograms(ok.map((result) => result.histogram))
        : undefined;
      for (const [latency, p] of Object.entries(LATENCY_PERCENTILES)) {
        const values = ok.map((result) => result[latency]).filter(Number.isFinite);
        if (values.length < 2) continue;
        chosen[latency] = pooled ? histogramPercentile(pooled, p) : middle(values);
        chosen[`${latency}Runs`] = values;
      }
      if (pooled) chosen.pooledRounds = ok.length;
    }
  }
  // Histograms are only for pooling: the results file keeps the figures.
  delete chosen.histogram;
  return chosen;
}

async function interleavedFigures(live) {
  for (const measure of MEASURES) {
    if (interrupted) return;
    const runs = new Map(live.map((t) => [t, []]));
    const rounds = measure.repeats?.() ?? SETTINGS.repeats;
    for (let round = 0; round < rounds && !interrupted; round++) {
      for (const t of live) {
        const fn = measure.run(t);
        if (!fn) continue;
        let result;
        try {
          result = await withCpu(t, fn);
        } catch (error) {
          result = { error: error.message };
        }
        runs.get(t).push(result);
      }
    }
    for (const t of live) {
      const results = runs.get(t);
      t.record.figures[measure.name] = results.length
        ? median(results, measure.key, { latencies: measure.latencies })
        : { error: measure.missing?.(t) ?? 'not measured' };
      const f = t.record.figures[measure.name];
      log(
        `  ${measure.name.padEnd(10)} ${t.record.id.padEnd(9)} ${f.error ? `unavailable: ${f.error}` : short(f)}${f.runs ? `  [runs: ${f.runs.map((v) => (v > 1e6 ? (v / 1e9).toFixed(2) : v.toFixed(0))).join(', ')}]` : ''}`,
      );
    }
  }
}

// ---------------------------------------------------------------- targets
/** A running target: { spec, record, ports, pids(), pinnedToProxyCore, stop(), ... }. */
async function startProxyTarget(spec, ctx) {
  const dir = join(tempRoot, spec.id);
  const listen = await freePorts([
    'http',
    'iperf',
    'hold',
    'udp',
    'tls',
    ...(spec.kind === 'nginx' ? ['httpHalfClose'] : []),
  ]);
  const upstream = {
    http: ctx.ports.http,
    iperf: ctx.ports.iperf,
    hold: ctx.ports.sink,
    udp: ctx.ports.dns,
  };
  const handle =
    spec.kind === 'nginx'
      ? await startNginxStream(dir, {
          workers: spec.workers,
          cpus: spec.cpus,
          listen,
          upstream,
          certificate: ctx.certificate,
        })
      : await startHaproxy(dir, {
          threads: spec.workers,
          cpus: spec.cpus,
          listen,
          upstream,
          certificate: ctx.certificate,
        });
  return {
    ports: {
      ...listen,
      udp: spec.kind === 'nginx' ? listen.udp : undefined,
      tls: ctx.certificate ? listen.tls : undefined,
    },
    pids: () => processTree(handle.pid),
    pinnedToProxyCore: spec.cpus === PROXY_CPUS && CORES >= 2,
    noUdp: 'HAProxy 2.6 has no UDP proxying (`mode tcp` is TCP only)',
    noTls: ctx.certificateError,
    stop: () => stopProcess(handle),
  };
}

function directTarget(ctx) {
  return {
    ports: {
      http: ctx.ports.http,
      iperf: ctx.ports.iperf,
      udp: ctx.ports.dns,
      tls: ctx.certificate ? ctx.ports.https : undefined,
    },
    pids: () => [],
    noTls: ctx.certificateError,
    stop: async () => {},
  };
}

/**
 * Strait with TCP listeners (HTTP, iperf, idle connections, route changes), a UDP listener and,
 * when the service accepts one, a `tls: true` listener; routes are PUT through the admin API.
 * If the service refuses to start with the TLS listener, it is started without and the TLS figure
 * says why.
 */
async function startStrait(
  dir,
  ctx,
  { nodeArgs = [], withTls = true, workers = 1, cpus = PROXY_CPUS } = {},
) {
  const listen = await freePorts([
    'http',
    'iperf',
    'hold',
    'change',
    'udp',
    'tls',
    'admin',
    'dashboard',
    'prometheus',
  ]);
  const tcp = [
    `127.0.0.1:${listen.http}`,
    `127.0.0.1:${listen.iperf}`,
    `127.0.0.1:${listen.hold}`,
    `127.0.0.1:${listen.change}`,
  ];
  const options = {
    dir,
    ports: listen,
    tcp,
    udp: [`127.0.0.1:${listen.udp}`],
    cpus,
    nodeArgs,
    workers,
  };
  let strait;
  let tlsError = ctx.certificate ? undefined : ctx.certificateError;
  if (withTls && ctx.certificate) {
    try {
      strait = await StraitInstance.start({
        ...options,
        dir: join(dir, 'with-tls'),
        tcp: [...tcp, { addr: `127.0.0.1:${listen.tls}`, tls: true }],
        fallbackSni: 'bench.test',
      });
    } catch (error) {
      if (!error.exited) throw error;
      tlsError = `Strait does not start with a \`tls: true\` listener: ${error.message.replace(/\s+/g, ' ').slice(0, 200)}`;
      log(`  ${tlsError}; starting it without`);
    }
  }
  strait ??= await StraitInstance.start(options);
  const routes = [
    ['bench-http', listen.http, ctx.ports.http],
    ['bench-iperf', listen.iperf, ctx.ports.iperf],
    ['bench-hold', listen.hold, ctx.ports.sink],
    ['bench-udp', listen.udp, ctx.ports.dns],
  ];
  const tlsUp = withTls && ctx.certificate && !tlsError;
  if (tlsUp) {
    try {
      await strait.put('/apisix/admin/ssls/bench', {
        cert: readFileSync(ctx.certificate.cert, 'utf8'),
        key: readFileSync(ctx.certificate.key, 'utf8'),
        snis: ['bench.test', 'localhost'],
      });
      routes.push(['bench-tls', listen.tls, ctx.ports.http]);
    } catch (error) {
      tlsError = `the SSL object was refused: ${error.message.slice(0, 200)}`;
    }
  }
  await strait.routePorts(routes);
  if (!(await servedOnce(listen.http, 2000)))
    throw new Error('Strait does not serve the HTTP route created through the admin API');
  return {
    strait,
    listen,
    ports: {
      http: listen.http,
      iperf: listen.iperf,
      hold: listen.hold,
      udp: listen.udp,
      tls: tlsUp && !tlsError ? listen.tls : undefined,
    },
    pids: () => processTree(strait.pid),
    pinnedToProxyCore: cpus === PROXY_CPUS && CORES >= 2,
    noTls: tlsError,
    stop: () => strait.stop(1000),
  };
}

/** The new-connection rate through `t`'s HTTP listener: the median of SETTINGS.repeats runs. */
async function medianConnRate(t) {
  const runs = [];
  for (let round = 0; round < SETTINGS.repeats && !interrupted; round++) {
    runs.push(
      await withCpu(t, () =>
        wrk({
          port: t.listen.http,
          seconds: SETTINGS.seconds,
          connections: 50,
          close: true,
          cpus: LOAD_CPUS,
        }),
      ),
    );
  }
  return median(runs, 'rate');
}

/** Waits (at most 30 s) until `t`'s processes used under 2% of a core over half a second. */
async function waitForIdle(t) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !interrupted) {
    const pids = t.pids();
    const before = cpuSeconds(pids);
    await sleep(500);
    if (cpuSeconds(pids) - before < 0.01) return;
  }
}

/** Strait only: route change, then many routes (rate and route change again). Mutates its store. */
async function straitExtras(t, ctx) {
  const { strait, listen } = t;
  const record = t.record;
  try {
    record.extras.routeChange = await measureRouteChange(strait, {
      port: listen.change,
      upstreamPort: ctx.ports.http,
      trials: SETTINGS.routeTrials,
      log,
    });
  } catch (error) {
    record.extras.routeChange = { error: error.message };
  }
  if (interrupted) return;
  try {
    // Same warm state on both sides of the comparison: the 1-route rate is measured again
    // right before the routes are created, as the median of the same number of runs.
    const before = await medianConnRate(t);
    log(`  creating ${SETTINGS.manyRoutes} stream routes through the admin API`);
    const many = await createManyRoutes(strait, {
      count: SETTINGS.manyRoutes,
      listenPort: listen.http,
      upstreamPort: ctx.ports.http,
      matchingRouteId: 'bench-http',
      concurrency: SETTINGS.routeConcurrency,
      deadlineMs: SETTINGS.manyRoutesDeadlineSeconds * 1000,
      log,
    });
    many.connRateBefore = before;
    log(
      `  ${many.created} routes in ${many.createSeconds.toFixed(1)} s (${many.writesPerSecond.toFixed(0)} writes/s)`,
    );
    // Creating the routes leaves work behind (collections, the store's file); the rate is
    // measured once the process is idle again, after the same warm-up as every figure.
    await waitForIdle(t);
    await wrk({
      port: listen.http,
      seconds: SETTINGS.warmupSeconds,
      connections: 50,
      close: true,
      cpus: LOAD_CPUS,
    });
    many.connRate = await medianConnRate(t);
    log(
      `  strait-1 connRate with ${many.created} routes: ${many.connRate.error ?? `${many.connRate.rate.toFixed(0)}/s`} (just before: ${before.error ?? `${before.rate.toFixed(0)}/s`})`,
    );
    many.routeChange = await measureRouteChange(strait, {
      port: listen.change,
      upstreamPort: ctx.ports.http,
      trials: SETTINGS.manyRoutesChangeTrials,
      log,
    });
    record.extras.manyRoutes = many;
  } catch (error) {
    record.extras.manyRoutes = { error: error.message };
  }
}

/**
 * Strait with --cpu-prof under the new-connection load (`--profile-load=tls`: the same load on the
 * `tls: true` listener, every connection a full handshake); summarised by cpuprofile-top.
 */
async function profileStrait(ctx) {
  const overTls = option('profile-load') === 'tls';
  const dir = join(tempRoot, 'strait-profile');
  const profDir = join(dir, 'profiles');
  mkdirSync(profDir, { recursive: true });
  let strait;
  let connRate;
  let window;
  try {
    const spawnedAt = performance.now();
    const started = await startStrait(dir, ctx, {
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
      withTls: overTls,
    });
    strait = started.strait;
    if (overTls && !started.ports.tls) throw new Error(started.noTls ?? 'no TLS listener');
    const load = overTls
      ? { port: started.ports.tls, https: true, host: ctx.tlsHost }
      : { port: started.listen.http };
    await wrk({
      ...load,
      seconds: SETTINGS.warmupSeconds,
      connections: 50,
      close: true,
      cpus: LOAD_CPUS,
    });
    const loadStart = performance.now();
    connRate = await wrk({
      ...load,
      seconds: SETTINGS.profileSeconds,
      connections: 50,
      close: true,
      cpus: LOAD_CPUS,
    });
    const loadEnd = performance.now();
    // The profile covers the whole process; only the samples taken under the load are summarised
    // (the profiler starts within milliseconds of the spawn, so spawn time is its time zero).
    window = {
      startUs: (loadStart - spawnedAt) * 1000 + 50_000,
      endUs: (loadEnd - spawnedAt) * 1000 - 50_000,
    };
  } finally {
    // SIGTERM: the service drains and exits, and node writes the profile on exit.
    if (strait) await strait.stop(20_000);
  }
  const file = readdirSync(profDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) return { error: 'no .cpuprofile was written (the service did not exit cleanly?)' };
  const path = join(profDir, file);
  const profileOut = option('profile-out');
  if (profileOut) {
    mkdirSync(dirname(resolve(profileOut)), { recursive: true });
    copyFileSync(path, resolve(profileOut));
    log(`  profile copied to ${resolve(profileOut)}`);
  }
  const data = JSON.parse(readFileSync(path, 'utf8'));
  const summary = summarize(data, 20, window);
  // Code paths worth knowing the whole cost of (the frame and everything it calls).
  const inclusive = [
    [
      'onconnection node:net',
      'accepting a client (net.Server → Strait session start, upstream connect)',
    ],
    [
      'internalConnect',
      'connect(2) to the upstream (kernel: the loopback handshake runs inside it)',
    ],
    ['writeBuffer', 'write(2) of relayed chunks'],
    ['onStreamRead', 'read callbacks (relay path)'],
    ['Socket node:net', 'net.Socket construction'],
    ['tcp-session', 'Strait TCP session code and what it calls'],
    ['observability.service', 'per-connection observability hooks (traffic stats, access log)'],
    ['access-log', 'access-log records (built even with access_log off)'],
    ['(garbage collector)', 'garbage collection'],
  ].map(([pattern, meaning]) => ({ ...inclusiveTime(data, pattern, window), meaning }));
  return { connRate, summary, inclusive, file: profileOut ? resolve(profileOut) : undefined };
}

/** The report as `npm run format` would leave it (prettier is a devDependency), so formatting never rewrites a generated file. */
async function prettierMarkdown(text) {
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(OUTPUT)) ?? {};
    return await prettier.format(text, { ...options, parser: 'markdown' });
  } catch {
    return text;
  }
}

// ---------------------------------------------------------------- main
async function main() {
  log(
    `${QUICK ? 'quick' : 'full'} mode; load + upstreams on core ${LOAD_CPUS}, single-worker proxies on core ${PROXY_CPUS}`,
  );
  const machine = machineInfo();
  const notes = [];
  const tools = await ensureTools({ log, noInstall: flag('no-install') });
  for (const [tool, reason] of Object.entries(tools.missing)) notes.push(`${tool}: ${reason}`);
  if (tools.installed.length) notes.push(`installed by this run: ${tools.installed.join(', ')}`);
  const missing = (tool) => tools.missing[tool];

  if (TARGETS.some((target) => target.kind === 'strait'))
    await ensureBuilt({ force: flag('rebuild'), log });

  tempRoot = mkdtempSync(join(os.tmpdir(), 'strait-bench-'));
  const ports = await freePorts(['http', 'https', 'iperf', 'dns', 'sink']);
  // wrk sends the URL's host as SNI, IP literals included; use a name the certificate carries.
  const localhost = await lookup('localhost').catch(() => undefined);
  const ctx = {
    ports,
    queryFile: writeQueryFile(tempRoot),
    tlsHost: localhost?.address === '127.0.0.1' ? 'localhost' : '127.0.0.1',
  };
  ctx.tlsClient = missing('tls-client')
    ? { error: `no full-handshake TLS client: ${missing('tls-client')}` }
    : await buildTlsClient(tempRoot);
  try {
    ctx.certificate = await makeCertificate(tempRoot);
  } catch (error) {
    ctx.certificateError = `no certificate: ${error.message}`;
  }

  const versions = await toolVersions();
  const revision = await gitRevision(REPO_ROOT);
  const pinning = [
    { what: 'load generators (iperf3 -c, wrk, dnsperf, idle-connection client)', cpus: LOAD_CPUS },
    {
      what: 'upstreams (nginx HTTP `return 200`, iperf3 -s, dnsmasq, idle-connection sink)',
      cpus: LOAD_CPUS,
    },
    {
      what: 'single-worker proxies (nginx 1 worker, HAProxy nbthread 1, Strait)',
      cpus: PROXY_CPUS,
    },
    {
      what: `multi-worker proxies (nginx ${CORES} workers, HAProxy nbthread ${CORES})`,
      cpus: `${ALL_CPUS} (not pinned)`,
    },
    { what: 'this orchestrator (route-change polling, admin writes)', cpus: 'not pinned' },
  ];

  // Upstreams, shared by every target.
  if (missing('nginx'))
    throw new Error(`nginx is needed as the HTTP upstream: ${missing('nginx')}`);
  log('starting upstreams');
  await startHttpUpstream(join(tempRoot, 'upstream-http'), ports, ctx.certificate, LOAD_CPUS);
  if (!missing('iperf3'))
    await startIperfServer(join(tempRoot, 'upstream-iperf3'), ports.iperf, LOAD_CPUS);
  if (!missing('dnsmasq')) await startDnsmasq(join(tempRoot, 'upstream-dns'), ports.dns, LOAD_CPUS);
  ctx.helper = await startIdleHelper(join(tempRoot, 'idle-helper'), ports.sink, LOAD_CPUS);
  if (!(await tcpAccepting(ports.http))) throw new Error('the HTTP upstream does not accept');

  // Start every target; idle ones cost nothing, and all are measured in turn.
  const records = [];
  const live = [];
  for (const spec of TARGETS) {
    if (interrupted) break;
    const record = { ...spec, figures: {}, extras: {} };
    records.push(record);
    if (spec.kind === 'unavailable') continue;
    if (spec.kind === 'nginx' && missing('nginx-stream')) {
      record.unavailable = `unavailable: ${missing('nginx-stream')}`;
      continue;
    }
    if (spec.kind === 'haproxy' && missing('haproxy')) {
      record.unavailable = `unavailable: ${missing('haproxy')}`;
      continue;
    }
    log(`starting ${spec.id}: ${spec.label}`);
    try {
      const t =
        spec.kind === 'direct'
          ? directTarget(ctx)
          : spec.kind === 'strait'
            ? await startStrait(join(tempRoot, spec.id), ctx, {
                workers: spec.workers,
                cpus: spec.cpus,
              })
            : await startProxyTarget(spec, ctx);
      Object.assign(t, { spec, record, ctx, startedAt: performance.now() });
      record.processes = t.pids().length;
      live.push(t);
    } catch (error) {
      record.unavailable = `unavailable: ${error.message}`;
      log(`  ${spec.id} failed to start: ${error.message}`);
    }
  }
  try {
    // Memory first, on fresh processes: RSS idle, then with N idle connections.
    for (const t of live) {
      if (interrupted || !t.ports.hold || t.pids().length === 0) continue;
      await figure(t.record, 'idle', () => idleConnections(t, ctx.helper, t.ports.hold));
    }
    // Warm-up (JIT, caches, pools) before anything is timed.
    log('warming up every target');
    for (const t of live) {
      if (interrupted) break;
      // New connections exercise the whole relay path (accept, connect, both directions, close).
      if (!QUICK)
        await wrk({
          port: t.ports.http,
          seconds: SETTINGS.warmupSeconds,
          connections: 50,
          cpus: LOAD_CPUS,
        });
      await wrk({
        port: t.ports.http,
        seconds: SETTINGS.warmupSeconds,
        connections: 50,
        close: true,
        cpus: LOAD_CPUS,
      });
      if (t.ports.tls) {
        await wrk({
          port: t.ports.tls,
          seconds: 1,
          connections: 50,
          close: true,
          https: true,
          host: ctx.tlsHost,
          cpus: LOAD_CPUS,
        });
        // Handshake rates compare only between targets that negotiate the same protocol.
        t.record.extras.tls = await negotiatedTls({ port: t.ports.tls, host: ctx.tlsHost });
      }
    }
    log(
      `measuring: ${SETTINGS.repeats} round(s) per figure (${SETTINGS.noisyFigureRepeats} for the new-connection rate, ${SETTINGS.keptAliveRepeats} for the kept-alive figures), targets interleaved`,
    );
    await interleavedFigures(live);
    const strait =
      live.find((t) => t.spec.id === 'strait-1') ?? live.find((t) => t.spec.kind === 'strait');
    if (strait && !interrupted) {
      log('Strait only: route changes and many routes');
      await straitExtras(strait, ctx);
    }
  } finally {
    for (const t of live) await t.stop();
  }
  // Tools that were missing: mark their figures.
  for (const record of records) {
    for (const [name, tool] of [
      ['bulk1', 'iperf3'],
      ['bulk4', 'iperf3'],
      ['connRate', 'wrk'],
      ['ka50', 'wrk'],
      ['ka1', 'wrk'],
      ['tls', 'wrk'],
      ['udp', 'dnsperf'],
      ['udpLatency', 'dnsperf'],
    ]) {
      if (missing(tool) && record.figures[name]?.error)
        record.figures[name] = { error: `${tool} ${missing(tool)}` };
    }
  }

  let profile;
  if (!flag('no-profile') && TARGETS.some((target) => target.kind === 'strait') && !interrupted) {
    log(
      `profiling Strait (--cpu-prof) under the new-connection load${option('profile-load') === 'tls' ? ' over TLS' : ''}`,
    );
    try {
      profile = await profileStrait(ctx);
      if (profile.summary) {
        for (const entry of profile.summary.top.slice(0, 10))
          log(`    ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.label}`);
      }
    } catch (error) {
      profile = { error: error.message };
    }
  }
  if (interrupted) return;

  const results = {
    meta: {
      quick: QUICK,
      command: COMMAND,
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      durationSeconds: (Date.now() - begin) / 1000,
      settings: SETTINGS,
      // Latency percentiles of several rounds come from their pooled histograms (see median).
      pooledLatencies: true,
      machine,
      versions,
      revision,
      pinning,
      proxyCore: PROXY_CPUS,
      notes,
    },
    targets: records,
    profile,
  };
  mkdirSync(dirname(OUTPUT), { recursive: true });
  writeFileSync(OUTPUT, await prettierMarkdown(renderReport(results)));
  log(`wrote ${OUTPUT}`);
  const jsonOut = option('json');
  if (jsonOut) writeFileSync(resolve(jsonOut), JSON.stringify(results, null, 2));
}

/** --render=<results.json>: rewrite the report from the raw results of an earlier run (--json). */
async function renderOnly(file) {
  const results = JSON.parse(readFileSync(resolve(file), 'utf8'));
  mkdirSync(dirname(OUTPUT), { recursive: true });
  writeFileSync(OUTPUT, await prettierMarkdown(renderReport(results)));
  log(`wrote ${OUTPUT} from ${file}`);
}

try {
  if (option('render')) await renderOnly(option('render'));
  else await main();
} catch (error) {
  log(`failed: ${error.stack ?? error.message}`);
  process.exitCode = 1;
} finally {
  if (!interrupted) {
    if (tempRoot) await cleanup();
    else await stopAll();
  }
  log(`done in ${((Date.now() - begin) / 1000).toFixed(0)} s`);
}
