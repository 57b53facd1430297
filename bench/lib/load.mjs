// The load generators: iperf3 (bulk TCP), wrk (HTTP over TCP: new connections and kept-alive
// request/response) and dnsperf (UDP request/response). Every run is bounded in time (its own
// duration plus a margin, then killed) and pinned to the load core. Results are plain objects;
// a failed run returns { error } instead of throwing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './proc.mjs';

const WRK_SCRIPT = fileURLToPath(new URL('./wrk-report.lua', import.meta.url));
const TLS_CLIENT_SOURCE = fileURLToPath(new URL('../tools/tls-full-handshakes.c', import.meta.url));

function firstLine(text) {
  return (text || '').trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
}

/** iperf3 client through `port` for `seconds` with `streams` parallel streams. */
export async function iperf3({ port, seconds, streams, cpus }) {
  const res = await run(
    'iperf3',
    [
      '-c',
      '127.0.0.1',
      '-p',
      String(port),
      '-t',
      String(seconds),
      '-P',
      String(streams),
      '-J',
      '--connect-timeout',
      '3000',
    ],
    { timeoutMs: (seconds + 20) * 1000, cpus },
  );
  let json;
  try {
    json = JSON.parse(res.stdout);
  } catch {
    return {
      error: `iperf3 gave no JSON (exit ${res.code}${res.timedOut ? ', timed out' : ''}): ${firstLine(res.stderr || res.stdout)}`,
    };
  }
  if (json.error) return { error: `iperf3: ${json.error}` };
  const received = json.end?.sum_received;
  if (!received) return { error: 'iperf3: no sum_received in its report' };
  return {
    bitsPerSecond: received.bits_per_second,
    bytes: received.bytes,
    seconds: received.seconds,
    retransmits: json.end?.sum_sent?.retransmits ?? 0,
  };
}

/**
 * wrk against http://127.0.0.1:port/ with `connections` connections on one thread. `close` adds
 * `Connection: close`, so every request is a new TCP connection through the proxy. `https` uses TLS.
 */
export async function wrk({
  port,
  seconds,
  connections,
  close = false,
  https = false,
  host = '127.0.0.1',
  cpus,
}) {
  const args = [
    '-t',
    '1',
    '-c',
    String(connections),
    '-d',
    `${seconds}s`,
    '--timeout',
    '2s',
    '-s',
    WRK_SCRIPT,
  ];
  if (close) args.push('-H', 'Connection: close');
  args.push(`${https ? 'https' : 'http'}://${host}:${port}/`);
  const res = await run('wrk', args, { timeoutMs: (seconds + 20) * 1000, cpus });
  const report = benchReport(res, 'wrk');
  if (report.error) return report;
  const errors =
    report.connect_errors +
    report.read_errors +
    report.write_errors +
    report.timeouts +
    report.status_errors;
  if (report.requests === 0)
    return {
      error: `no ${https ? 'TLS handshake + ' : ''}request completed in ${seconds} s (wrk errors: connect ${report.connect_errors}, read ${report.read_errors}, write ${report.write_errors}, timeouts ${report.timeouts})`,
    };
  return closedLoopFigure(report, report.requests, {
    // [[µs, count], ...]: pooled over a figure's rounds by run.mjs, then dropped.
    histogram: report.histogram,
    errors,
    errorDetail: errors
      ? `connect ${report.connect_errors}, read ${report.read_errors}, write ${report.write_errors}, timeout ${report.timeouts}, status ${report.status_errors}`
      : undefined,
  });
}

/** The `BENCHJSON {...}` line a load generator printed (wrk-report.lua, the TLS client), parsed. */
function benchReport(res, tool) {
  const line = res.stdout.split('\n').find((candidate) => candidate.startsWith('BENCHJSON '));
  if (line) return JSON.parse(line.slice('BENCHJSON '.length));
  return {
    error: `${tool} gave no report (exit ${res.code}${res.timedOut ? ', timed out' : ''}): ${firstLine(res.stderr || res.stdout)}`,
  };
}

/**
 * The figure of a closed-loop run from its report (`duration_us`, `p50_us`, `p90_us`, `p99_us`,
 * optionally `mean_us`): `requests` completed, their rate, latency percentiles, and `extra`.
 */
function closedLoopFigure(report, requests, extra) {
  const seconds = report.duration_us / 1e6;
  return {
    requests,
    rate: requests / seconds,
    seconds,
    p50Us: report.p50_us,
    p90Us: report.p90_us,
    p99Us: report.p99_us,
    meanUs: report.mean_us,
    ...extra,
  };
}

/**
 * Compiles the full-handshake TLS client into `dir`: the path of the binary, or { error }.
 * wrk resumes sessions (see the source's header), so full handshakes need a client of their own.
 */
export async function buildTlsClient(dir) {
  const binary = join(dir, 'tls-full-handshakes');
  const res = await run(
    'cc',
    ['-O2', '-Wall', '-o', binary, TLS_CLIENT_SOURCE, '-lssl', '-lcrypto'],
    { timeoutMs: 60_000 },
  );
  if (res.code !== 0)
    return { error: `the TLS client does not compile: ${firstLine(res.stderr || res.stdout)}` };
  return { binary };
}

/**
 * Full TLS handshakes against `port` (SNI `host`) with `connections` in flight for `seconds`:
 * each connection handshakes without offering a session, sends one `Connection: close` request
 * and reads the response. Same result shape as wrk's, plus `resumed` (always 0 unless the client
 * is broken; then the figure is refused). Latencies span a whole connection, connect to EOF.
 */
export async function tlsFullHandshakes({ binary, port, host, seconds, connections, cpus }) {
  const res = await run(binary, [String(port), host, String(connections), String(seconds)], {
    timeoutMs: (seconds + 20) * 1000,
    cpus,
  });
  const report = benchReport(res, 'the TLS client');
  if (report.error) return report;
  const errorKinds = ['connect', 'handshake', 'read', 'status'];
  const errors =
    errorKinds.reduce((sum, kind) => sum + report[`${kind}_errors`], 0) + report.timeouts;
  const errorDetail = errors
    ? [
        ...errorKinds.map((kind) => `${kind} ${report[`${kind}_errors`]}`),
        `timeout ${report.timeouts}`,
      ].join(', ')
    : undefined;
  if (report.completed === 0)
    return {
      error: `no full handshake + request completed in ${seconds} s (${errorDetail ?? 'no error counted'})`,
    };
  if (report.resumed > 0)
    return {
      error: `${report.resumed} handshakes were resumptions: the client is not doing full handshakes`,
    };
  return closedLoopFigure(report, report.completed, { errors, errorDetail });
}

/**
 * What one TLS handshake with `port` negotiates (`openssl s_client -brief`, the OpenSSL wrk uses):
 * { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', key: 'X25519, 253 bits' } or
 * { error }. Handshake rates are only comparable between targets that negotiate the same.
 */
export async function negotiatedTls({ port, host }) {
  const res = await run(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', host, '-brief'],
    { timeoutMs: 10_000, input: '' },
  );
  const field = (name) => new RegExp(`^${name}: (.+)$`, 'm').exec(res.stdout + res.stderr)?.[1];
  const protocol = field('Protocol version');
  if (!protocol) return { error: firstLine(res.stderr) || `openssl exited with ${res.code}` };
  return { protocol, cipher: field('Ciphersuite'), key: field('Server Temp Key') };
}

/** A dnsperf query file (a few names dnsmasq answers from its own data). */
export function writeQueryFile(dir) {
  const path = join(dir, 'queries.txt');
  writeFileSync(
    path,
    ['bench.test A', 'a.bench.test A', 'b.bench.test A', 'c.bench.test A'].join('\n') + '\n',
  );
  return path;
}

/**
 * UDP request/response at the highest rate dnsperf reaches with `clients` source ports (each one
 * UDP session in the proxy) and up to `outstanding` queries in flight.
 */
export async function dnsperfRate({
  port,
  seconds,
  queryFile,
  clients = 10,
  outstanding = 200,
  cpus,
}) {
  const res = await run(
    'dnsperf',
    [
      '-s',
      '127.0.0.1',
      '-p',
      String(port),
      '-d',
      queryFile,
      '-l',
      String(seconds),
      '-c',
      String(clients),
      '-q',
      String(outstanding),
      '-t',
      '1',
    ],
    { timeoutMs: (seconds + 20) * 1000, cpus },
  );
  const out = res.stdout;
  const num = (re) => {
    const match = re.exec(out);
    return match ? Number(match[1]) : undefined;
  };
  const sent = num(/Queries sent:\s+(\d+)/);
  const completed = num(/Queries completed:\s+(\d+)/);
  const lost = num(/Queries lost:\s+(\d+)/);
  const qps = num(/Queries per second:\s+([\d.]+)/);
  const avgLatency = num(/Average Latency \(s\):\s+([\d.]+)/);
  if (sent === undefined || qps === undefined) {
    return {
      error: `dnsperf gave no statistics (exit ${res.code}${res.timedOut ? ', timed out' : ''}): ${firstLine(res.stderr || res.stdout)}`,
    };
  }
  if (!completed) return { error: `dnsperf: no query answered (${sent} sent, ${lost} lost)` };
  return {
    sent,
    completed,
    lost,
    lossPercent: sent ? (100 * lost) / sent : 0,
    rate: qps,
    avgLatencyUs: avgLatency * 1e6,
  };
}

/** Per-query latency at a fixed, modest rate (no queueing): p50/p99 from dnsperf -v. */
export async function dnsperfLatency({ port, seconds, queryFile, qps = 2000, cpus }) {
  const res = await run(
    'dnsperf',
    [
      '-s',
      '127.0.0.1',
      '-p',
      String(port),
      '-d',
      queryFile,
      '-l',
      String(seconds),
      '-c',
      '4',
      '-Q',
      String(qps),
      '-t',
      '1',
      '-v',
    ],
    { timeoutMs: (seconds + 20) * 1000, cpus },
  );
  const latencies = [];
  for (const match of res.stdout.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm))
    latencies.push(Number(match[1]) * 1e6);
  if (latencies.length === 0)
    return {
      error: `dnsperf -v printed no answered query (exit ${res.code}): ${firstLine(res.stderr || res.stdout)}`,
    };
  latencies.sort((a, b) => a - b);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(res.stdout)?.[1] ?? 0);
  return {
    samples: latencies.length,
    lost,
    p50Us: percentile(latencies, 50),
    p99Us: percentile(latencies, 99),
  };
}

/**
 * The `p` percentile of a histogram ([[value, count], ...] in ascending value order), as wrk
 * computes its own: the first value whose cumulative count reaches round(p% of all + 0.5).
 */
export function histogramPercentile(histogram, p) {
  const total = histogram.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return undefined;
  const rank = Math.round((p / 100) * total + 0.5);
  let seen = 0;
  for (const [value, count] of histogram) {
    seen += count;
    if (seen >= rank) return value;
  }
  return histogram.at(-1)[0];
}

/** Histograms of the same quantity added up, in ascending value order. */
export function poolHistograms(histograms) {
  const counts = new Map();
  for (const histogram of histograms)
    for (const [value, count] of histogram) counts.set(value, (counts.get(value) ?? 0) + count);
  return [...counts].sort((a, b) => a[0] - b[0]);
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}
