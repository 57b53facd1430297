import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionSample, ConnectionSummary, LiveConnection } from '@strait/proxy';
import { AccessLog, wholeLineChunks } from './access-log';
import { renderPrometheusText } from './prometheus-text';
import { TrafficStats } from './traffic-stats';

const base = {
  protocol: 'tcp' as const,
  listenerId: 'tcp://127.0.0.1:9100',
  remoteAddr: '127.0.0.1',
  remotePort: 50000,
  serverAddr: '127.0.0.1',
  serverPort: 9100,
  routeId: '1',
  startedAt: Date.now(),
};

function summary(
  id: number,
  fromClient: number,
  toClient: number,
  extra: Partial<ConnectionSummary> = {},
): ConnectionSummary {
  return {
    ...base,
    id,
    node: '127.0.0.1:1995',
    status: 200,
    bytesFromClient: fromClient,
    bytesToClient: toClient,
    durationMs: 5,
    connectMs: 0.4,
    attempts: 1,
    ...extra,
  };
}

function live(id: number, fromClient: number, toClient: number): LiveConnection {
  return {
    ...base,
    id,
    node: '127.0.0.1:1995',
    phase: 'relaying',
    bytesFromClient: fromClient,
    bytesToClient: toClient,
    ageMs: 1000,
    bufferedToClient: 0,
    bufferedToUpstream: 0,
  };
}

/** One second of the observer's ticker: every open connection sampled, then the second closed. */
function tick(stats: TrafficStats, open: ConnectionSample[], nowSeconds: number): void {
  for (const connection of open) stats.countLive(connection);
  stats.closeSecond(nowSeconds);
}

describe('TrafficStats', () => {
  it('counts bytes of long connections while they flow and each byte once at close', () => {
    const stats = new TrafficStats();
    stats.opened(summary(1, 0, 0));
    tick(stats, [live(1, 100, 1000)], 10);
    tick(stats, [live(1, 150, 3000)], 11);
    stats.closed(summary(1, 200, 3500));
    tick(stats, [], 12);
    const counters = stats.routeCounters().get('1');
    assert.equal(counters?.bytesFromClient, 200);
    assert.equal(counters?.bytesToClient, 3500);
    assert.equal(counters?.active, 0);
    assert.equal(counters?.connectionsTotal, 1);
    const series = stats.series(60, 12).get('1') ?? [];
    assert.deepEqual(
      series.map((sample) => [sample.time, sample.connections, sample.bytesToClient]),
      [
        [10, 1, 1000],
        [11, 0, 2000],
        [12, 0, 500],
      ],
    );
  });

  it('counts only connections it saw opened as active, and bytes of short ones at close', () => {
    const stats = new TrafficStats();
    stats.closed(summary(1, 5, 5)); // opened before the stats subscribed
    tick(stats, [live(1, 5, 5)], 9);
    stats.opened(summary(2, 0, 0));
    stats.opened(summary(3, 0, 0));
    tick(stats, [live(2, 10, 20)], 10); // 3 is short: it never enters the per-connection table
    stats.closed(summary(3, 1, 2));
    stats.closed(summary(2, 15, 30));
    const counters = stats.routeCounters().get('1');
    assert.equal(counters?.connectionsTotal, 2);
    assert.equal(counters?.active, 0);
    assert.equal(counters?.bytesFromClient, 5 + 1 + 15);
    assert.equal(counters?.bytesToClient, 5 + 2 + 30);
    assert.deepEqual([...(counters?.statusTotals ?? [])], [[200, 3]]);
  });

  it('renders Prometheus text with per-route counters, statuses and a connect histogram', () => {
    const stats = new TrafficStats();
    stats.opened(summary(1, 0, 0));
    stats.opened(summary(2, 0, 0));
    stats.closed(summary(1, 10, 20));
    stats.closed(summary(2, 0, 0, { status: 502, connectMs: undefined }));
    const text = renderPrometheusText({
      prefix: 'apisix_',
      routes: stats.routeCounters(),
      listeners: [{ id: 'tcp://127.0.0.1:9100', up: true, activeConnections: 0, udpSessions: 0 }],
      nodeHealth: [],
      accessLogDropped: 0,
    });
    assert.match(text, /^apisix_stream_connection_total\{route="1"\} 2$/m);
    assert.match(text, /^apisix_stream_status\{route="1",code="502"\} 1$/m);
    assert.match(text, /^apisix_stream_bandwidth\{route="1",type="egress"\} 20$/m);
    assert.match(
      text,
      /^apisix_stream_upstream_connect_seconds_bucket\{route="1",le="0.0005"\} 1$/m,
    );
    assert.match(text, /^apisix_stream_upstream_connect_seconds_count\{route="1"\} 1$/m);
    assert.match(text, /^apisix_stream_listener_up\{listen_addr="tcp:\/\/127.0.0.1:9100"\} 1$/m);
    for (const line of text.trim().split('\n')) {
      assert.match(line, /^(# (HELP|TYPE) \S+ .+|[a-z_]+(\{[^}]*\})? [0-9.e+-]+)$/, line);
    }
  });
});

describe('AccessLog', () => {
  it('writes one JSON line per closed connection to a file, asynchronously', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'strait-log-')), 'access.log');
    const log = new AccessLog({ output: 'file', path, progressIntervalSeconds: 0 }, 'node-a');
    log.closed(summary(7, 12, 34, { sni: 'a.test.com' }));
    log.progress(live(8, 1, 2));
    await log.close();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    assert.equal(lines[0].event, 'close');
    assert.equal(lines[0].connection_id, 'node-a-7');
    assert.equal(lines[0].sni, 'a.test.com');
    assert.equal(lines[0].bytes_to_client, 34);
    assert.equal(lines[0].client, '127.0.0.1:50000');
    assert.equal(lines[1].event, 'progress');
  });

  it('writes nothing when off', async () => {
    const log = new AccessLog(
      { output: 'off', path: '/nonexistent/x', progressIntervalSeconds: 0 },
      'n',
    );
    log.closed(summary(1, 1, 1));
    assert.equal(log.enabled, false);
    await log.close();
  });
});

describe('wholeLineChunks', () => {
  it('packs whole lines into writes of at most the limit (PIPE_BUF for worker stdout)', () => {
    const line = (n: number) => `${'x'.repeat(n - 1)}\n`;
    assert.deepEqual(
      wholeLineChunks([line(3), line(3), line(3), line(10), line(2)], 6).map(
        (chunk) => chunk.length,
      ),
      [6, 3, 10, 2],
    );
    assert.deepEqual(wholeLineChunks([], 4096), []);
  });
});
