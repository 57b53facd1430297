import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createProxyEngine } from './proxy-engine';
import {
  sampleOf,
  ClosedEvents,
  config,
  exchange,
  LOOPBACK,
  node,
  openClient,
  openFileDescriptors,
  sampledConnections,
  serve,
  startEngine,
  startTaggedEchoServer,
  upstream,
  waitFor,
  withDeadline,
} from './testing/loopback';

function connectRefused(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, LOOPBACK);
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    socket.on('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

describe('proxy engine', () => {
  it('serves thousands of sequential connections without leaking descriptors', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const { engine, bound, closed } = await startEngine(t);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(b1.port)]) }));
    // Warm up lazily created handles (timers, the balancer) before counting descriptors.
    await exchange(bound[0].port, 'w');
    await closed.nth(1);
    const before = openFileDescriptors();

    const connections = 3000;
    const startedAt = process.hrtime.bigint();
    for (let index = 0; index < connections; index++) {
      const result = await exchange(bound[0].port, 'x');
      if (result.data.toString() !== 'B1\nx')
        assert.fail(`connection ${index}: ${result.data.toString()}`);
    }
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    await closed.nth(connections + 1, 5000);
    await waitFor(() => engine.connectionCount === 0, 2000, 'registry empty');
    // Accepted upstream sockets close asynchronously on the echo server side.
    await waitFor(() => openFileDescriptors() <= before + 2, 3000, 'descriptors released');
    t.diagnostic(
      `${connections} sequential connections (client, proxy and echo server in one process): ` +
        `${Math.round(connections / seconds)} conn/s`,
    );
    // Exactly one closed event per connection, all successful.
    assert.equal(closed.events.length, connections + 1);
    assert.equal(new Set(closed.events.map((event) => event.id)).size, connections + 1);
    assert.ok(closed.events.every((event) => event.status === 200));
  });

  it('lists live connections and closes them by id and by node', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const b2 = await serve(t, startTaggedEchoServer('B2'));
    const { engine, bound, closed } = await startEngine(t, [
      { protocol: 'tcp', host: LOOPBACK, port: 0 },
      { protocol: 'tcp', host: LOOPBACK, port: 0 },
    ]);
    engine.apply(
      config(
        { id: 'one', serverPort: bound[0].port, upstream: upstream('u1', [node(b1.port)]) },
        { id: 'two', serverPort: bound[1].port, upstream: upstream('u2', [node(b2.port)]) },
      ),
    );
    const first = await openClient(bound[0].port);
    const second = await openClient(bound[1].port);
    const third = await openClient(bound[1].port);
    await waitFor(
      () => engine.connections().filter((row) => row.phase === 'relaying').length === 3,
      2000,
      'relaying',
    );

    const rows = engine.connections();
    assert.deepEqual(
      rows.map((row) => [row.routeId, row.node, row.remotePort]),
      [
        ['one', `${LOOPBACK}:${b1.port}`, first.socket.localPort],
        ['two', `${LOOPBACK}:${b2.port}`, second.socket.localPort],
        ['two', `${LOOPBACK}:${b2.port}`, third.socket.localPort],
      ],
    );
    assert.equal(rows[0].bytesToClient, 3);
    assert.ok(rows[0].ageMs >= 0);
    // The per-second sampler sees the same counts, through one reused object.
    assert.deepEqual(sampledConnections(engine), rows.map(sampleOf));

    assert.equal(engine.closeConnection(rows[0].id), true);
    assert.equal(engine.closeConnection(987654), false);
    await withDeadline(
      new Promise((resolve) => first.socket.once('end', resolve)),
      2000,
      'first closed',
    );
    const event = await closed.nth(1);
    assert.equal(event.id, rows[0].id);
    assert.equal(event.reason, 'ERR_CLOSED_BY_ENGINE');

    assert.equal(engine.closeConnectionsToNode(`${LOOPBACK}:${b2.port}`), 2);
    await closed.nth(3);
    assert.equal(engine.connectionCount, 0);
    for (const client of [first, second, third]) client.socket.destroy();
  });

  it('drains on close: stops accepting, lets open connections finish, then resolves', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const engine = createProxyEngine();
    t.after(() => engine.close({ force: true }));
    const [listener] = await engine.listen([{ protocol: 'tcp', host: LOOPBACK, port: 0 }]);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(b1.port)]) }));
    const client = await openClient(listener.port);
    await waitFor(() => client.received() === 'B1\n', 2000, 'greeting');

    let closedAt = 0;
    const closing = engine.close({ drainTimeoutMs: 10_000 }).then(() => (closedAt = Date.now()));
    assert.equal(await connectRefused(listener.port), 'ECONNREFUSED');
    client.socket.write('still here');
    await waitFor(
      () => client.received() === 'B1\nstill here',
      2000,
      'open connection keeps working',
    );
    assert.equal(closedAt, 0);

    const endedAt = Date.now();
    client.socket.end();
    await withDeadline(closing, 2000, 'close resolves after the last connection');
    assert.ok(closedAt >= endedAt);
    assert.throws(() => engine.apply(config()), { code: 'ERR_ENGINE_CLOSED' });
    await assert.rejects(engine.listen([{ protocol: 'tcp', host: LOOPBACK, port: 0 }]), {
      code: 'ERR_ENGINE_CLOSED',
    });
  });

  it('destroys connections still open when the drain timeout passes', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const engine = createProxyEngine();
    const closed = new ClosedEvents(engine);
    const [listener] = await engine.listen([{ protocol: 'tcp', host: LOOPBACK, port: 0 }]);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(b1.port)]) }));
    const client = await openClient(listener.port);
    t.after(() => client.socket.destroy());
    await waitFor(() => client.received() === 'B1\n', 2000, 'greeting');

    const startedAt = Date.now();
    await withDeadline(engine.close({ drainTimeoutMs: 100 }), 2000, 'close with drain timeout');
    const took = Date.now() - startedAt;
    assert.ok(took >= 90 && took < 1500, `close took ${took} ms`);
    assert.equal((await closed.nth(1)).reason, 'ERR_CLOSED_BY_ENGINE');
  });

  it('force-closes everything at once, TCP and UDP', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const engine = createProxyEngine();
    const closed = new ClosedEvents(engine);
    const [tcp] = await engine.listen([
      { protocol: 'tcp', host: LOOPBACK, port: 0 },
      { protocol: 'udp', host: LOOPBACK, port: 0 },
    ]);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(b1.port)]) }));
    const clients = [await openClient(tcp.port), await openClient(tcp.port)];
    t.after(() => clients.forEach((client) => client.socket.destroy()));
    await waitFor(() => clients.every((client) => client.received() === 'B1\n'), 2000, 'greetings');

    await withDeadline(engine.close({ force: true }), 1000, 'forced close');
    assert.equal(engine.connectionCount, 0);
    assert.equal(closed.events.length, 2);
    assert.equal(await connectRefused(tcp.port), 'ECONNREFUSED');
  });
});
