import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import {
  config,
  exchange,
  LOOPBACK,
  node,
  openClient,
  refusedPort,
  serve,
  startEngine,
  startTcpServer,
  startUdpClient,
  startUdpServer,
  upstream,
  waitFor,
  withDeadline,
} from '../engine/testing/loopback';
import { createPluginPipeline } from './pipeline';

/** Scenario 45's backend: holds each connection 200 ms, then `hello world` and close. */
async function slowServer() {
  const acceptedAt: number[] = [];
  const server = await startTcpServer((socket) => {
    acceptedAt.push(performance.now());
    setTimeout(() => socket.end('hello world'), 200);
  });
  return Object.assign(server, { acceptedAt });
}

const silentLogger = { warn: () => undefined, error: () => undefined };

describe('limit-conn (scenario 45)', () => {
  it('serves conn immediately, delays the burst, closes the rest, and counts back to 0', async (t) => {
    const backend = await serve(t, slowServer());
    const plugins = createPluginPipeline({ logger: silentLogger });
    const { engine, bound, closed } = await startEngine(t, undefined, { prereadPipeline: plugins });
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u1', [node(backend.port)]),
        plugins: {
          'limit-conn': { conn: 2, burst: 1, default_conn_delay: 0.1, key: 'remote_addr' },
        },
      }),
    );
    const started = performance.now();
    const results = await withDeadline(
      Promise.all(
        Array.from({ length: 5 }, () => exchange(bound[0].port, 'x', { keepOpen: true })),
      ),
      3000,
      '5 parallel clients',
    );
    const served = results.filter((result) => result.data.toString() === 'hello world');
    const refused = results.filter((result) => result.data.length === 0);
    assert.equal(served.length, 3);
    assert.equal(refused.length, 2);
    assert.equal(backend.acceptedAt.length, 3);
    const offsets = backend.acceptedAt.map((at) => at - started).sort((a, b) => a - b);
    // Two at once, the third after default_conn_delay × floor((3-1)/2) = 100 ms.
    assert.ok(offsets[2] - offsets[0] >= 90, `burst delay: ${offsets.join(', ')}`);
    assert.ok(offsets[1] - offsets[0] < 90, `immediate pair: ${offsets.join(', ')}`);

    await closed.nth(5);
    const statuses = closed.events.map((event) => event.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 503, 503]);
    assert.deepEqual(plugins.stats().limitConn, { connections: 0, keys: {} });
  });

  it('serves all 5 with conn 100 and burst 50', async (t) => {
    const backend = await serve(t, slowServer());
    const { engine, bound } = await startEngine(t);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u1', [node(backend.port)]),
        plugins: {
          'limit-conn': { conn: 100, burst: 50, default_conn_delay: 0.1, key: 'remote_addr' },
        },
      }),
    );
    const results = await withDeadline(
      Promise.all(
        Array.from({ length: 5 }, () => exchange(bound[0].port, 'x', { keepOpen: true })),
      ),
      3000,
      '5 parallel clients',
    );
    assert.deepEqual(
      results.map((result) => result.data.toString()),
      Array(5).fill('hello world'),
    );
  });

  it('releases the count exactly once on 502 and on a connection closed during its delay', async (t) => {
    const dead = await refusedPort();
    // Holds connections open until the client ends its side.
    const holder = await serve(
      t,
      startTcpServer((socket) => socket.on('end', () => socket.end())),
    );
    const plugins = createPluginPipeline({ logger: silentLogger });
    const { engine, bound, closed } = await startEngine(t, undefined, { prereadPipeline: plugins });
    const route = (target: number) =>
      config({
        id: '9',
        upstream: upstream(`u${target}`, [node(target)]),
        plugins: {
          'limit-conn': {
            conn: 1,
            burst: 5,
            default_conn_delay: 0.3,
            only_use_default_delay: true,
            key: '$remote_addr $server_port',
            key_type: 'var_combination',
          },
        },
      });
    engine.apply(route(dead));
    const failed = await withDeadline(exchange(bound[0].port, 'x'), 2000, 'upstream refused');
    assert.equal(failed.data.length, 0);
    assert.equal((await closed.nth(1)).status, 502);
    assert.equal(plugins.stats().limitConn.connections, 0);

    engine.apply(route(holder.port));
    const first = await openClient(bound[0].port);
    await waitFor(() => holder.accepted.length === 1, 2000, 'first connection relaying');
    const [key] = Object.keys(plugins.stats().limitConn.keys);
    assert.match(
      key,
      new RegExp(`^/apisix/stream_routes/9:[0-9a-f]{8}:127\\.0\\.0\\.1 ${bound[0].port}$`),
    );
    const second = await openClient(bound[0].port);
    await waitFor(() => plugins.stats().limitConn.connections === 2, 1000, 'second counted');
    // Closed by the operator while it waits out its 300 ms delay. (A client that leaves during
    // the delay is only noticed when its socket is read, as in nginx: the socket is paused.)
    const waiting = engine.connections().find((row) => row.phase === 'routing');
    assert.ok(waiting && engine.closeConnection(waiting.id));
    await closed.nth(2);
    second.socket.destroy();
    assert.equal(plugins.stats().limitConn.connections, 1);
    first.socket.destroy();
    await closed.nth(3);
    assert.deepEqual(plugins.stats().limitConn, { connections: 0, keys: {} });
    // The delayed session never reaches the backend once its client has gone.
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.equal(holder.accepted.length, 1);
    assert.equal(plugins.stats().limitConn.connections, 0);
  });

  it('counts UDP sessions, and a session that ends frees its slot', async (t) => {
    const backend = await serve(t, startUdpServer('U'));
    const plugins = createPluginPipeline({ logger: silentLogger });
    const { engine, bound, closed } = await startEngine(
      t,
      [{ protocol: 'udp', host: LOOPBACK, port: 0 }],
      { prereadPipeline: plugins },
    );
    engine.apply(
      config({
        id: 'u',
        upstream: upstream('uu', [node(backend.port)], {
          timeout: { connect: 1, send: 0.2, read: 0.2 },
        }),
        plugins: {
          'limit-conn': { conn: 1, burst: 0, default_conn_delay: 0.1, key: 'remote_addr' },
        },
      }),
    );
    const a = await serve(t, startUdpClient());
    const b = await serve(t, startUdpClient());
    a.send(bound[0].port, 'a');
    await waitFor(() => a.received.length === 1, 2000, 'first session served');
    b.send(bound[0].port, 'b');
    const rejected = await closed.nth(1);
    assert.equal(rejected.status, 503);
    assert.equal(rejected.remotePort, b.socket.address().port);
    // The first session idles out after 200 ms; then the slot is free again.
    await closed.nth(2);
    assert.equal(plugins.stats().limitConn.connections, 0);
    b.send(bound[0].port, 'b2');
    await waitFor(
      () => b.received.length === 1,
      2000,
      'second client served after the first ended',
    );
  });
});
