// Operations through the running service: Prometheus metrics scraped and parsed, the JSON access
// log, and per-route traffic for the dashboard.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin } from './support/admin-client';
import { freeTcpPort } from './support/ports';
import { exchange, startReplyServer, type EchoServer } from './support/sockets';
import { StraitProcess } from './support/strait-process';

describe('metrics, access log and traffic through the service', () => {
  let backend: EchoServer;
  let strait: StraitProcess;
  let proxyPort: number;
  let metricsPort: number;
  let accessLogPath: string;

  before(async () => {
    backend = await startReplyServer('hello world\n');
    proxyPort = await freeTcpPort();
    metricsPort = await freeTcpPort();
    const dataDir = mkdtempSync(join(tmpdir(), 'strait-e2e-'));
    accessLogPath = join(dataDir, 'access.log');
    strait = await StraitProcess.start({
      dataDir,
      apisixYaml: ['stream_proxy:', '  tcp:', `    - "127.0.0.1:${proxyPort}"`].join('\n'),
      extraYaml: [
        'stream_plugins: [ip-restriction, limit-conn, mqtt-proxy, traffic-split, prometheus, syslog]',
        'plugin_attr:',
        `  prometheus: { export_addr: { ip: 127.0.0.1, port: ${metricsPort} } }`,
      ].join('\n'),
      straitYaml: `  access_log: { output: file, path: ${accessLogPath} }`,
    });
    const put = await admin(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/r1', {
      upstream: { nodes: { [`127.0.0.1:${backend.port}`]: 1 }, type: 'roundrobin' },
    });
    assert.equal(put.status, 201, put.text);
  });

  after(async () => {
    await strait?.stop();
    await backend?.close();
  });

  it('counts connections, statuses and bytes per route in Prometheus text format', async () => {
    for (let index = 0; index < 5; index += 1) {
      const { data } = await exchange(proxyPort, 'ping');
      assert.equal(data, 'hello world\n');
    }
    const deadline = Date.now() + 5000;
    let text = '';
    while (Date.now() < deadline) {
      text = await (
        await fetch(`http://127.0.0.1:${metricsPort}/apisix/prometheus/metrics`)
      ).text();
      if (/apisix_stream_status\{route="r1",code="200"\} 5/.test(text)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const samples = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^(\S+) (\S+)$/.exec(line);
      assert.ok(match, `unparseable metrics line: ${line}`);
      samples.set(match[1], Number(match[2]));
    }
    assert.equal(samples.get('apisix_stream_connection_total{route="r1"}'), 5);
    assert.equal(samples.get('apisix_stream_status{route="r1",code="200"}'), 5);
    assert.equal(samples.get('apisix_stream_bandwidth{route="r1",type="ingress"}'), 20);
    assert.equal(samples.get('apisix_stream_bandwidth{route="r1",type="egress"}'), 60);
    assert.equal(
      samples.get(`apisix_stream_listener_up{listen_addr="tcp://127.0.0.1:${proxyPort}"}`),
      1,
    );
    assert.equal(samples.get('apisix_stream_upstream_connect_seconds_count{route="r1"}'), 5);
  });

  it('writes a JSON access log line per connection', async () => {
    const path = accessLogPath;
    const deadline = Date.now() + 5000;
    let lines: Record<string, unknown>[] = [];
    while (Date.now() < deadline) {
      if (existsSync(path)) {
        lines = readFileSync(path, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        if (lines.length >= 5) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(lines.length >= 5, `expected 5 access log lines, got ${lines.length}`);
    const line = lines[0];
    assert.equal(line.event, 'close');
    assert.equal(line.route_id, 'r1');
    assert.equal(line.node, `127.0.0.1:${backend.port}`);
    assert.equal(line.status, 200);
    assert.equal(line.bytes_from_client, 4);
    assert.equal(line.bytes_to_client, 12);
    assert.match(String(line.connection_id), /-\d+$/);
    assert.match(String(line.client), /^127\.0\.0\.1:\d+$/);
  });

  it('reports per-route traffic with per-second samples for the dashboard', async () => {
    const deadline = Date.now() + 5000;
    let route:
      { routeId: string; connectionsTotal: number; series: { connections: number }[] } | undefined;
    while (Date.now() < deadline) {
      const traffic = await admin(strait.adminUrl, 'GET', '/strait/v1/traffic?seconds=60');
      assert.equal(traffic.status, 200);
      route = (traffic.json.routes as (typeof route)[]).find(
        (candidate) => candidate?.routeId === 'r1',
      );
      if (route && route.series.reduce((sum, sample) => sum + sample.connections, 0) === 5) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(route?.connectionsTotal, 5);
    assert.equal(
      route?.series.reduce((sum, sample) => sum + sample.connections, 0),
      5,
    );
  });
});
