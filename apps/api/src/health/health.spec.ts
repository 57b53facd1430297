import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { ObservabilityService } from '../observability/observability.service';
import { startTestApp, type TestApp } from '../testing/test-app';

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const CHECKS = {
  active: {
    type: 'tcp',
    timeout: 1,
    healthy: { interval: 1, successes: 1 },
    unhealthy: { interval: 1, tcp_failures: 1 },
  },
};

describe('health API', () => {
  let test: TestApp;
  let backend: net.Server;
  let backendPort: number;
  let udpPeer: dgram.Socket;
  const udpReceived: string[] = [];

  before(async () => {
    backend = net.createServer((socket) => socket.end('hello\n'));
    backendPort = await listen(backend);
    udpPeer = dgram.createSocket('udp4');
    udpPeer.on('message', (message, remote) => {
      udpReceived.push(message.toString());
      udpPeer.send('pong', remote.port, remote.address);
    });
    await new Promise<void>((resolve) => udpPeer.bind(0, '127.0.0.1', resolve));
    test = await startTestApp({
      apisixYaml: ['stream_proxy:', '  tcp:', `    - "127.0.0.1:${await freePort()}"`].join('\n'),
    });
  });
  after(async () => {
    await test.close();
    backend.close();
    udpPeer.close();
  });

  it('reports a stored upstream turning unhealthy when its backend dies', async () => {
    const nodes = { [`127.0.0.1:${backendPort}`]: 1 };
    assert.equal(
      (await test.request('PUT', '/apisix/admin/upstreams/1', { nodes, checks: CHECKS })).status,
      201,
    );
    assert.equal((await test.request('PUT', '/apisix/admin/upstreams/2', { nodes })).status, 201);
    // Strait extension: UDP probes with a payload and an expected reply.
    const udpChecks = {
      active: { ...CHECKS.active, type: 'udp', udp_request: 'ping', udp_response: 'pong' },
    };
    const udpNodes = { [`127.0.0.1:${udpPeer.address().port}`]: 1 };
    assert.equal(
      (
        await test.request('PUT', '/apisix/admin/upstreams/3', {
          nodes: udpNodes,
          scheme: 'udp',
          checks: udpChecks,
        })
      ).status,
      201,
    );
    for (const [id, body] of [
      ['1', { server_port: 1, upstream_id: '1' }],
      ['3', { server_port: 3, upstream_id: '3' }],
      ['2', { server_port: 2, upstream: { nodes, checks: CHECKS } }],
    ] as const) {
      assert.equal(
        (await test.request('PUT', `/apisix/admin/stream_routes/${id}`, body)).status,
        201,
      );
    }

    const first = await test.request('GET', '/strait/v1/upstreams/1/health');
    assert.equal(first.status, 200);
    assert.deepEqual(
      { ...first.json, nodes: undefined },
      { upstream_id: '1', checks: true, running: true, type: 'tcp', nodes: undefined },
    );
    assert.equal(first.json.nodes.length, 1);
    assert.equal(first.json.nodes[0].node, `127.0.0.1:${backendPort}`);
    assert.equal(first.json.nodes[0].healthy, true);

    await new Promise((resolve) => backend.close(resolve));
    const deadline = Date.now() + 2500;
    let health = first.json;
    while (health.nodes[0].healthy) {
      assert.ok(Date.now() < deadline, `still healthy: ${JSON.stringify(health)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      health = (await test.request('GET', '/strait/v1/upstreams/1/health')).json;
    }
    const [state] = health.nodes;
    assert.equal(state.consecutiveFailures, 1);
    assert.equal(typeof state.lastCheckAt, 'number');
    assert.equal(state.lastResult, 'failure');
    assert.match(state.lastError, /ECONNREFUSED/);

    const metrics = await test.app.get(ObservabilityService).metricsText();
    assert.match(
      metrics,
      new RegExp(
        `upstream_status\\{name="/apisix/upstreams/1",node="127.0.0.1:${backendPort}"\\} 0`,
      ),
    );

    const list = await test.request('GET', '/strait/v1/health');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.json.list.map((entry: { upstream_key: string; upstream_id?: string }) => [
        entry.upstream_key,
        entry.upstream_id,
      ]),
      [
        ['/apisix/upstreams/1', '1'],
        ['/apisix/upstreams/3', '3'],
        ['/apisix/stream_routes/2#upstream', undefined],
      ],
    );
    assert.equal(list.json.total, 3);

    // The UDP checker started a moment after the TCP one: its first probe is due about now.
    let udp = (await test.request('GET', '/strait/v1/upstreams/3/health')).json;
    while (udp.nodes[0].lastResult === null) {
      assert.ok(Date.now() < deadline + 1000, `UDP node never probed: ${JSON.stringify(udp)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      udp = (await test.request('GET', '/strait/v1/upstreams/3/health')).json;
    }
    assert.equal(udp.type, 'udp');
    assert.equal(udp.nodes[0].healthy, true);
    assert.equal(udp.nodes[0].lastResult, 'success');
    assert.equal(udpReceived[0], 'ping');
  });

  it('an upstream without checks is all healthy; an unknown id is a 404', async () => {
    const plain = await test.request('GET', '/strait/v1/upstreams/2/health');
    assert.equal(plain.status, 200);
    assert.equal(plain.json.checks, false);
    assert.equal(plain.json.running, false);
    assert.deepEqual(
      plain.json.nodes.map((entry: { healthy: boolean }) => entry.healthy),
      [true],
    );
    const missing = await test.request('GET', '/strait/v1/upstreams/9/health');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { error_msg: 'upstream 9 not found' });
  });
});
