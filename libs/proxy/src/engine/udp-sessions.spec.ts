import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import {
  sampleOf,
  config,
  LOOPBACK,
  node,
  sampledConnections,
  serve,
  startEngine,
  startUdpClient,
  startUdpServer,
  upstream,
  waitFor,
} from './testing/loopback';

const UDP_LISTENER = [{ protocol: 'udp' as const, host: LOOPBACK, port: 0 }];

/** A port where nothing listens: datagrams to it draw an ICMP port unreachable. */
async function deadUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind({ address: LOOPBACK, port: 0 }, resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('UDP sessions', () => {
  it('forwards a datagram and returns every reply datagram to the client', async (t) => {
    const u1 = await serve(t, startUdpServer('U1', 3));
    const { engine, bound, closed } = await startEngine(t, UDP_LISTENER);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(u1.port)], { scheme: 'udp' }) }));
    const client = await serve(t, startUdpClient());

    client.send(bound[0].port, 'ping');
    await waitFor(() => client.received.length === 3, 2000, 'three replies');
    assert.deepEqual(client.received, ['U1:0:ping', 'U1:1:ping', 'U1:2:ping']);

    const [row] = engine.connections();
    assert.equal(row.protocol, 'udp');
    assert.equal(row.node, `${LOOPBACK}:${u1.port}`);
    assert.equal(row.bytesFromClient, 4);
    assert.equal(row.bytesToClient, 3 * 'U1:0:ping'.length);
    assert.deepEqual(sampledConnections(engine), [sampleOf(row)]);
    assert.equal(closed.events.length, 0);
  });

  it('keeps one node and one upstream socket per client address, across route changes', async (t) => {
    const u1 = await serve(t, startUdpServer('U1'));
    const u2 = await serve(t, startUdpServer('U2'));
    const { engine, bound } = await startEngine(t, UDP_LISTENER);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(u1.port), node(u2.port)]) }));
    const first = await serve(t, startUdpClient());

    for (let index = 0; index < 3; index++) {
      first.send(bound[0].port, `m${index}`);
      await waitFor(() => first.received.length === index + 1, 2000, `reply ${index}`);
    }
    const tags = new Set(first.received.map((reply) => reply.split(':')[0]));
    assert.equal(tags.size, 1, `replies came from ${[...tags].join(', ')}`);
    const chosen = first.received[0].split(':')[0] === 'U1' ? u1 : u2;
    assert.equal(new Set(chosen.peers).size, 1);

    // A route change does not move the open session.
    const other = chosen === u1 ? u2 : u1;
    engine.apply(config({ id: '1', upstream: upstream('moved', [node(other.port)]) }));
    first.send(bound[0].port, 'm3');
    await waitFor(() => first.received.length === 4, 2000, 'reply after apply');
    assert.equal(first.received[3].split(':')[0], first.received[0].split(':')[0]);

    // A new client follows the new route.
    const second = await serve(t, startUdpClient());
    second.send(bound[0].port, 'n');
    await waitFor(() => second.received.length === 1, 2000, 'second client reply');
    assert.equal(second.received[0].split(':')[0], chosen === u1 ? 'U2' : 'U1');
    assert.equal(engine.connections().length, 2);
  });

  it('applies remote_addr to the first datagram and drops unmatched clients', async (t) => {
    const u1 = await serve(t, startUdpServer('U1'));
    const { engine, bound, closed } = await startEngine(t, UDP_LISTENER);
    engine.apply(
      config({ id: '1', remoteAddr: '127.0.0.2', upstream: upstream('u1', [node(u1.port)]) }),
    );
    const client = await serve(t, startUdpClient());
    client.send(bound[0].port, 'x');
    const event = await closed.nth(1);
    assert.equal(event.status, 503);
    assert.equal(event.reason, 'ERR_NO_ROUTE');
    assert.equal(event.protocol, 'udp');
    assert.equal(engine.connections().length, 0);
    assert.equal(u1.peers.length, 0);
  });

  it('ends a session after the idle timeout and starts a new one on the next datagram', async (t) => {
    const u1 = await serve(t, startUdpServer('U1'));
    const { engine, bound, closed } = await startEngine(t, UDP_LISTENER);
    const timeout = { connect: 1, send: 0.1, read: 0.15 };
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(u1.port)], { timeout }) }));
    const client = await serve(t, startUdpClient());

    const startedAt = Date.now();
    client.send(bound[0].port, 'a');
    await waitFor(() => client.received.length === 1, 2000, 'reply');
    const first = await closed.nth(1);
    const lived = Date.now() - startedAt;
    assert.ok(lived >= 140 && lived < 1500, `session lived ${lived} ms`);
    assert.equal(first.status, 200);
    assert.equal(first.bytesFromClient, 1);
    assert.equal(first.bytesToClient, 'U1:0:a'.length);
    assert.equal(engine.connections().length, 0);

    client.send(bound[0].port, 'b');
    await waitFor(() => client.received.length === 2, 2000, 'reply in a new session');
    assert.notEqual(engine.connections()[0].id, first.id);
  });

  it('evicts the oldest session when the table is full', async (t) => {
    const u1 = await serve(t, startUdpServer('U1'));
    const { engine, bound, closed } = await startEngine(t, UDP_LISTENER, { udpSessionLimit: 2 });
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(u1.port)]) }));
    const clients = [
      await serve(t, startUdpClient()),
      await serve(t, startUdpClient()),
      await serve(t, startUdpClient()),
    ];
    for (const client of clients) {
      client.send(bound[0].port, 'hi');
      await waitFor(() => client.received.length === 1, 2000, 'reply');
    }
    const evicted = await closed.nth(1);
    assert.equal(evicted.reason, 'ERR_SESSION_EVICTED');
    assert.equal(evicted.remotePort, clients[0].socket.address().port);
    assert.deepEqual(
      engine.connections().map((row) => row.remotePort),
      [clients[1].socket.address().port, clients[2].socket.address().port],
    );
  });

  it('moves to the next node when the first answers with port unreachable', async (t) => {
    const live = await serve(t, startUdpServer('live'));
    const { engine, bound, closed } = await startEngine(t, UDP_LISTENER);
    const nodes = [node(await deadUdpPort(), LOOPBACK, 1), node(live.port, LOOPBACK, 0)];
    engine.apply(config({ id: '1', upstream: upstream('u1', nodes) }));
    const client = await serve(t, startUdpClient());
    client.send(bound[0].port, 'first');
    await waitFor(() => client.received.length === 1, 2000, 'reply from the live node');
    assert.deepEqual(client.received, ['live:0:first']);
    engine.closeConnection(engine.connections()[0].id);
    const event = await closed.nth(1);
    assert.equal(event.attempts, 2);
    assert.equal(event.node, `${LOOPBACK}:${live.port}`);
  });

  it('runs preread steps on the first datagram', async (t) => {
    const u1 = await serve(t, startUdpServer('U1'));
    const { engine, bound, closed } = await startEngine(t, UDP_LISTENER, {
      prereadPipeline: () => [{ name: 'deny', run: async () => ({ status: 403 }) }],
    });
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(u1.port)]) }));
    const client = await serve(t, startUdpClient());
    client.send(bound[0].port, 'x');
    const event = await closed.nth(1);
    assert.equal(event.status, 403);
    assert.equal(event.reason, 'ERR_PREREAD_REJECTED');
    assert.equal(u1.peers.length, 0);
  });

  it('proxies over IPv6', async (t) => {
    const u6 = await serve(t, startUdpServer('U6', 1, '::1'));
    const { engine, bound } = await startEngine(t, [{ protocol: 'udp', host: '::1', port: 0 }]);
    engine.apply(config({ id: '1', upstream: upstream('u6', [node(u6.port, '::1')]) }));
    const client = await serve(t, startUdpClient('::1'));
    client.send(bound[0].port, 'v6');
    await waitFor(() => client.received.length === 1, 2000, 'reply over IPv6');
    assert.deepEqual(client.received, ['U6:0:v6']);
    assert.equal(engine.connections()[0].node, `[::1]:${u6.port}`);
  });
});
