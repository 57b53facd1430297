// Real client programs through the running service, against real servers on loopback:
// mysqlslap against MariaDB, redis-cli and redis-benchmark (kept-alive and a connection per
// request) against Redis, and dig against dnsmasq through a UDP listener. Each check records
// its numbers for docs/reliability.md.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminOk, closeAllConnections } from './support/admin-client';
import { countAnswered, DnsmasqServer, dig, digBatch } from './support/dnsmasq';
import { MARIADB_ROOT_PASSWORD, MariaDbServer } from './support/mariadb';
import { freeTcpPort, freeUdpPort } from './support/ports';
import { runProgram } from './support/programs';
import { parseBenchmarkCsv, RedisServer } from './support/redis';
import { ms, percentile, recordReliability } from './support/reliability-report';
import { StraitProcess } from './support/strait-process';
import { liveConnections, routeTraffic } from './support/strait-runtime';
import { waitFor } from './support/wait';

const DNS_NAMES: Record<string, string> = {
  'test.example': '127.0.0.42',
  'alpha.example': '127.0.1.1',
  'bravo.example': '127.0.1.2',
  'charlie.example': '127.0.1.3',
  'delta.example': '127.0.1.4',
  'echo.example': '127.0.1.5',
  'foxtrot.example': '127.0.1.6',
  'golf.example': '127.0.1.7',
};

describe('real clients through the proxy', { timeout: 180_000 }, () => {
  let strait: StraitProcess;
  let mariadb: MariaDbServer | undefined;
  let redis: RedisServer | undefined;
  let dns: DnsmasqServer | undefined;
  const port = { mysql: 0, redis: 0, dns: 0 };

  before(async () => {
    // Started side by side; each is kept as soon as it is up, so after() stops whatever started
    // even when another one failed.
    const started = await Promise.allSettled([
      MariaDbServer.available()
        ? MariaDbServer.start().then((server) => (mariadb = server))
        : undefined,
      RedisServer.available() ? RedisServer.start().then((server) => (redis = server)) : undefined,
      DnsmasqServer.available()
        ? DnsmasqServer.start(DNS_NAMES).then((server) => (dns = server))
        : undefined,
    ]);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    port.mysql = await freeTcpPort();
    port.redis = await freeTcpPort();
    port.dns = await freeUdpPort();
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        `    - "127.0.0.1:${port.mysql}"`,
        `    - "127.0.0.1:${port.redis}"`,
        '  udp:',
        `    - "127.0.0.1:${port.dns}"`,
      ].join('\n'),
    });
  });

  after(async () => {
    if (strait?.running) await closeAllConnections(strait.adminUrl);
    await strait?.stop();
    await Promise.all([mariadb?.stop(), redis?.stop(), dns?.stop()]);
  });

  it('MariaDB: mysqlslap with 20 concurrent clients, 3 iterations, finishes without errors', async (t) => {
    if (!mariadb) return t.skip('mariadb-server is not installed');
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/mysql', {
      server_port: port.mysql,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${mariadb.port}`]: 1 } },
    });
    const statusValue = (name: string) => {
      const result = mariadb!.sql(`SHOW GLOBAL STATUS LIKE '${name}'`, { socket: true });
      assert.equal(result.status, 0, result.stderr);
      return Number(result.stdout.trim().split('\t')[1]);
    };
    const before = {
      connections: statusValue('Connections'),
      abortedClients: statusValue('Aborted_clients'),
      abortedConnects: statusValue('Aborted_connects'),
    };
    const slap = await runProgram(
      'mysqlslap',
      [
        '--protocol=TCP',
        '--host=127.0.0.1',
        `--port=${port.mysql}`,
        '--user=root',
        `--password=${MARIADB_ROOT_PASSWORD}`,
        '--concurrency=20',
        '--iterations=3',
        '--number-of-queries=400',
        '--auto-generate-sql',
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(slap.code, 0, `mysqlslap failed: ${slap.stderr}\n${slap.stdout}`);
    assert.doesNotMatch(slap.stderr, /error/i);
    assert.match(slap.stdout, /Number of clients running queries: 20/);
    const average = Number(
      /Average number of seconds to run all queries: ([\d.]+)/.exec(slap.stdout)?.[1],
    );
    const after = {
      connections: statusValue('Connections'),
      abortedClients: statusValue('Aborted_clients'),
      abortedConnects: statusValue('Aborted_connects'),
    };
    // The server saw every connection arrive and none of them was aborted.
    assert.equal(after.abortedClients, before.abortedClients, 'aborted clients');
    assert.equal(after.abortedConnects, before.abortedConnects, 'aborted connects');
    const serverConnections = after.connections - before.connections - 3; // our SHOW STATUS calls
    const traffic = await routeTraffic(strait.adminUrl, 'mysql');
    assert.ok(serverConnections >= 60, `${serverConnections} connections reached MariaDB`);
    assert.equal(
      traffic.connectionsTotal,
      serverConnections,
      'every proxied connection reached the server',
    );
    t.diagnostic(
      `mysqlslap ${slap.ms} ms, ${serverConnections} connections, avg ${average} s/iteration`,
    );
    recordReliability({
      section: 'Real clients',
      title: 'MariaDB: mysqlslap through a stream route',
      checked:
        'mysqlslap exits 0 with no error output; every connection the proxy accepted reached MariaDB; ' +
        "MariaDB's Aborted_clients and Aborted_connects did not move.",
      facts: {
        command:
          'mysqlslap --concurrency=20 --iterations=3 --number-of-queries=400 --auto-generate-sql',
        'connections through the proxy': traffic.connectionsTotal,
        'connections that reached MariaDB': serverConnections,
        'aborted clients / connects': `${after.abortedClients - before.abortedClients} / ${after.abortedConnects - before.abortedConnects}`,
        'bytes client → server / server → client': `${traffic.bytesFromClient} / ${traffic.bytesToClient}`,
        'average seconds per iteration (mysqlslap)': average,
        'wall time': ms(slap.ms),
      },
    });
  });

  it('Redis: redis-cli commands and a 1 MiB value through the proxy', async (t) => {
    if (!redis) return t.skip('redis-server is not installed');
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/redis', {
      server_port: port.redis,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${redis.port}`]: 1 } },
    });
    const cli = async (...args: string[]) => {
      const result = await redis!.cli(args, port.redis);
      assert.equal(result.code, 0, `redis-cli ${args.join(' ')}: ${result.stderr}`);
      return result.stdout.trim();
    };
    assert.equal(await cli('PING'), 'PONG');
    assert.equal(await cli('SET', 'strait:greeting', 'héllo wörld ✓'), 'OK');
    assert.equal(await cli('GET', 'strait:greeting'), 'héllo wörld ✓');
    assert.equal(await cli('INCRBY', 'strait:counter', '41'), '41');
    assert.equal(await cli('INCR', 'strait:counter'), '42');
    assert.equal(await cli('RPUSH', 'strait:list', 'a', 'b', 'c'), '3');
    assert.equal(await cli('LRANGE', 'strait:list', '0', '-1'), 'a\nb\nc');
    assert.match(await cli('INFO', 'server'), /redis_version:/);
    // A 1 MiB value in and out (-x reads the last argument from stdin).
    const big = 'strait-'.repeat(150_000).slice(0, 1 << 20);
    const set = await runProgram(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(port.redis), '-x', 'SET', 'strait:big'],
      { input: big, timeoutMs: 10_000 },
    );
    assert.equal(set.stdout.trim(), 'OK', set.stderr);
    assert.equal(await cli('STRLEN', 'strait:big'), String(1 << 20));
    const got = await runProgram(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(port.redis), '--no-raw', 'GET', 'strait:big'],
      { timeoutMs: 10_000 },
    );
    assert.equal(got.code, 0);
    assert.equal(got.stdout.trim(), JSON.stringify(big), 'the 1 MiB value came back byte for byte');
    const traffic = await routeTraffic(strait.adminUrl, 'redis');
    recordReliability({
      section: 'Real clients',
      title: 'Redis: redis-cli commands',
      checked:
        'PING, SET/GET with UTF-8, INCRBY/INCR, RPUSH/LRANGE, INFO and a 1 MiB value (SET -x, STRLEN, GET) ' +
        'all answer exactly as redis-server does directly.',
      facts: {
        'redis-cli invocations': 11,
        'connections through the proxy': traffic.connectionsTotal,
        'bytes client → server / server → client': `${traffic.bytesFromClient} / ${traffic.bytesToClient}`,
      },
    });
  });

  for (const keepAlive of [1, 0]) {
    const label =
      keepAlive === 1 ? 'kept-alive connections (-k 1)' : 'a new connection per request (-k 0)';
    it(`Redis: redis-benchmark -n 2000 -c 20 -t set,get with ${label}: every command arrives`, async (t) => {
      if (!redis) return t.skip('redis-server is not installed');
      const direct = async (...args: string[]) => (await redis!.cli(args)).stdout.trim();
      assert.equal(await direct('CONFIG', 'RESETSTAT'), 'OK');
      const trafficBefore = await routeTraffic(strait.adminUrl, 'redis');
      const bench = await runProgram(
        'redis-benchmark',
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(port.redis),
          '-n',
          '2000',
          '-c',
          '20',
          '-t',
          'set,get',
          '-k',
          String(keepAlive),
          '--csv',
        ],
        { timeoutMs: 60_000 },
      );
      assert.equal(bench.code, 0, `redis-benchmark: ${bench.stderr}`);
      assert.equal(bench.timedOut, false);
      assert.doesNotMatch(bench.stderr, /error|closed|reset/i);
      const lines = parseBenchmarkCsv(bench.stdout);
      assert.deepEqual(
        lines.map((line) => line.test),
        ['SET', 'GET'],
        bench.stdout,
      );
      // Redis counted exactly the commands the benchmark sent: none lost, none doubled.
      const stats = await direct('INFO', 'commandstats');
      const calls = (command: string) =>
        Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      assert.equal(calls('set'), 2000, stats);
      assert.equal(calls('get'), 2000, stats);
      const info = await direct('INFO', 'stats');
      const connectionsReceived = Number(/total_connections_received:(\d+)/.exec(info)?.[1]);
      assert.equal(Number(/rejected_connections:(\d+)/.exec(info)?.[1]), 0);
      const trafficAfter = await routeTraffic(strait.adminUrl, 'redis');
      const proxied = trafficAfter.connectionsTotal - trafficBefore.connectionsTotal;
      if (keepAlive === 0) assert.ok(proxied >= 4000, `${proxied} connections through the proxy`);
      else assert.ok(proxied <= 100, `${proxied} connections through the proxy`);
      const rps = Object.fromEntries(lines.map((line) => [line.test, line.requestsPerSecond]));
      t.diagnostic(
        `-k ${keepAlive}: ${proxied} proxied connections, SET ${rps.SET} rps, GET ${rps.GET} rps`,
      );
      recordReliability({
        section: 'Real clients',
        title: `Redis: redis-benchmark, ${label}`,
        checked:
          'redis-benchmark exits 0 without error output; Redis counted exactly 2000 SET and 2000 GET calls; ' +
          'no connection was rejected.',
        facts: {
          command: `redis-benchmark -n 2000 -c 20 -t set,get -k ${keepAlive}`,
          'connections through the proxy': proxied,
          'connections Redis received (incl. redis-cli probes)': connectionsReceived,
          'SET / GET calls counted by Redis': `${calls('set')} / ${calls('get')}`,
          'SET requests/s': rps.SET,
          'GET requests/s': rps.GET,
          'wall time': ms(bench.ms),
        },
      });
    });
  }

  it('DNS over UDP: dig through the UDP listener, 500 sequential and 5×200 parallel queries, none lost', async (t) => {
    if (!dns) return t.skip('dnsmasq or dig is not installed');
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/dns', {
      server_port: port.dns,
      upstream: {
        type: 'roundrobin',
        scheme: 'udp',
        nodes: { [`127.0.0.1:${dns.port}`]: 1 },
        // Each dig query comes from a fresh source port: a session each, gone after 1 s idle.
        timeout: { connect: 1, send: 1, read: 1 },
      },
    });
    const single = await dig(port.dns, 'test.example');
    assert.equal(single.code, 0, single.stderr);
    assert.equal(single.stdout.trim(), '127.0.0.42');

    const names = Object.keys(DNS_NAMES);
    const queries = (count: number, offset: number) =>
      Array.from({ length: count }, (_, index) => names[(index + offset) % names.length]);
    const sequential = queries(500, 0);
    const seq = await digBatch(port.dns, sequential);
    const seqCount = countAnswered(sequential, seq.answers, DNS_NAMES);

    // The same parallel load straight at dnsmasq first: the control for the proxied run.
    const batches = Array.from({ length: 5 }, (_, batch) => queries(200, batch));
    const lostIn = (runs: Awaited<ReturnType<typeof digBatch>>[]) =>
      runs.reduce(
        (sum, run, batch) => sum + countAnswered(batches[batch], run.answers, DNS_NAMES).lost,
        0,
      );
    // One source address per dig process (see digBatch).
    const source = (batch: number) => ({ source: `127.0.0.${batch + 2}` });
    const direct = await Promise.all(
      batches.map((batch, index) => digBatch(dns!.port, batch, source(index))),
    );
    const directLost = lostIn(direct);
    const started = Date.now();
    const parallel = await Promise.all(
      batches.map((batch, index) => digBatch(port.dns, batch, source(index))),
    );
    const parallelMs = Date.now() - started;
    const parallelLost = lostIn(parallel);
    const errors = [seq, ...parallel].flatMap((run) => run.errors).slice(0, 5);
    const queryMs = [seq, ...parallel].flatMap((run) => run.queryMs);
    assert.equal(
      seqCount.lost,
      0,
      `sequential: ${seqCount.lost} of 500 lost or wrong; ${errors.join(' | ')}`,
    );
    assert.equal(
      parallelLost,
      0,
      `parallel: ${parallelLost} of 1000 lost or wrong through the proxy (${directLost} straight to dnsmasq); ` +
        errors.join(' | '),
    );
    const peakSessions = (await liveConnections(strait.adminUrl, 'dns')).length;
    // The sessions end by themselves after 1 s of silence.
    const drained = Date.now();
    await waitFor(
      async () => (await liveConnections(strait.adminUrl, 'dns')).length === 0,
      5000,
      'the UDP sessions to expire',
      100,
    );
    const traffic = await routeTraffic(strait.adminUrl, 'dns');
    t.diagnostic(`dns: ${seq.result.ms} ms for 500 sequential, ${parallelMs} ms for 1000 parallel`);
    recordReliability({
      section: 'Real clients',
      title: 'DNS over UDP: dig against dnsmasq through a UDP listener',
      checked:
        'every query (one try, so a lost datagram cannot hide behind a retry; 5 s timeout; each from a new ' +
        'source port, so a new UDP session each) got its own correct A record, in order; the sessions expired ' +
        'on their own after the 1 s idle timeout.',
      facts: {
        'sequential queries (dig -f, one process)': 500,
        'parallel queries (5 dig processes × 200, from 127.0.0.2–6)': 1000,
        'answers lost or wrong through the proxy': seqCount.lost + parallelLost,
        'control: the parallel batch straight to dnsmasq, lost': directLost,
        'query time through the proxy (dig): p50 / p99 / max': `${ms(percentile(queryMs, 50))} / ${ms(percentile(queryMs, 99))} / ${ms(Math.max(...queryMs))}`,
        'sequential wall time': ms(seq.result.ms),
        'parallel wall time': ms(parallelMs),
        'UDP sessions open right after the batch': peakSessions,
        'sessions gone after': ms(Date.now() - drained),
        'sessions counted on the route': traffic.connectionsTotal,
      },
    });
  });
});
