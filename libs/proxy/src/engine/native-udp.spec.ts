import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { loadFastpath } from '@strait/fastpath';
import { createProxyEngine } from './proxy-engine';
import {
  config,
  LOOPBACK,
  node,
  serve,
  startEngine,
  startUdpClient,
  startUdpServer,
  upstream,
  waitFor,
} from './testing/loopback';

/** These specs run twice (libs/proxy test target): on the native path and with STRAIT_FASTPATH=off. */
const native = loadFastpath() !== undefined;
const UDP_LISTENER = [{ protocol: 'udp' as const, host: LOOPBACK, port: 0 }];

const udpHandles = (): number =>
  process.getActiveResourcesInfo().filter((name) => name === 'UDPWrap').length;

describe('UDP listeners on the native relay', () => {
  it('relays sessions without a Node socket on the native path (one per session in JavaScript)', async (t) => {
    const u1 = await serve(t, startUdpServer('U1'));
    const { engine, bound } = await startEngine(t, UDP_LISTENER);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(u1.port)]) }));
    const before = udpHandles();
    const clients = await Promise.all([1, 2, 3].map(() => startUdpClient()));
    t.after(() => Promise.all(clients.map((client) => client.close())));
    for (const client of clients) client.send(bound[0].port, 'hi');
    await waitFor(
      () => clients.every((client) => client.received.length === 1),
      2000,
      'a reply for every client',
    );
    assert.equal(engine.connections().length, 3);
    // The test's three clients, plus the proxy's three upstream sockets on the JavaScript path.
    assert.equal(udpHandles() - before, native ? 3 : 6);
  });

  it('reports a port in use with the same ERR_BIND message on both paths', async (t) => {
    const occupied = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => occupied.bind({ address: LOOPBACK, port: 0 }, resolve));
    t.after(() => new Promise<void>((resolve) => occupied.close(() => resolve())));
    const port = occupied.address().port;
    const messages: string[] = [];
    for (const fastpath of native ? [false, true] : [false]) {
      const engine = createProxyEngine({ fastpath });
      t.after(() => engine.close({ force: true }));
      await assert.rejects(
        engine.listen([{ protocol: 'udp', host: LOOPBACK, port }]),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_BIND');
          messages.push(error.message);
          return true;
        },
      );
    }
    assert.equal(messages[0], `cannot listen on udp ${LOOPBACK}:${port}: address already in use`);
    assert.equal(new Set(messages).size, 1, messages.join(' / '));
  });

  it('resolves a node given by host name', async (t) => {
    const u1 = await serve(t, startUdpServer('named'));
    const { engine, bound, closed } = await startEngine(t, UDP_LISTENER);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u1', [node(u1.port, 'localhost')], {
          timeout: { connect: 1, send: 0.2, read: 0.2 },
        }),
      }),
    );
    const client = await serve(t, startUdpClient());
    client.send(bound[0].port, 'n');
    await waitFor(() => client.received.length === 1, 3000, 'reply');
    assert.equal(client.received[0], 'named:0:n');
    const summary = await closed.nth(1);
    assert.equal(summary.node, `localhost:${u1.port}`);
    assert.equal(summary.bytesFromClient, 1);
    assert.equal(summary.bytesToClient, 'named:0:n'.length);
  });

  it('carries 2,000 request/response exchanges of 200 clients without losing one', async (t) => {
    const u1 = await serve(t, startUdpServer('U'));
    const { engine, bound, closed } = await startEngine(t, UDP_LISTENER);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u1', [node(u1.port)], {
          timeout: { connect: 1, send: 0.3, read: 0.3 },
        }),
      }),
    );
    const clients = await Promise.all(Array.from({ length: 200 }, () => startUdpClient()));
    t.after(() => Promise.all(clients.map((client) => client.close())));
    // Ten rounds, every client one datagram per round, each round waiting for every reply.
    for (let round = 0; round < 10; round++) {
      for (const client of clients) client.send(bound[0].port, `r${round}`);
      await waitFor(
        () => clients.every((client) => client.received.length === round + 1),
        3000,
        `round ${round}`,
      );
    }
    for (const client of clients) {
      assert.deepEqual(
        client.received,
        Array.from({ length: 10 }, (_, round) => `U:0:r${round}`),
      );
    }
    assert.equal(engine.connections().length, 200);
    // Idle sessions end after the timeout with every byte counted.
    const summaries = await Promise.all(
      Array.from({ length: 200 }, (_, index) => closed.nth(index + 1)),
    );
    const total = summaries.reduce((sum, summary) => sum + summary.bytesFromClient, 0);
    assert.equal(total, 200 * 10 * 2);
  });

  it('drops datagrams of new clients while draining and closes once sessions ended', async (t) => {
    const u1 = await serve(t, startUdpServer('U'));
    const { engine, bound, closed } = await startEngine(t, UDP_LISTENER);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u1', [node(u1.port)], {
          timeout: { connect: 1, send: 0.3, read: 0.3 },
        }),
      }),
    );
    const early = await serve(t, startUdpClient());
    early.send(bound[0].port, 'a');
    await waitFor(() => early.received.length === 1, 2000, 'reply before draining');
    const closing = engine.close();
    const late = await serve(t, startUdpClient());
    late.send(bound[0].port, 'b');
    early.send(bound[0].port, 'c');
    await waitFor(() => early.received.length === 2, 2000, 'the open session still relays');
    await closing;
    assert.equal(late.received.length, 0, 'a new client got nothing while draining');
    assert.equal((await closed.nth(1)).bytesFromClient, 2);
  });
});
