import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { closeSync } from 'node:fs';
import * as tls from 'node:tls';
import { fastpathDisabledByEnv, loadFastpath } from '@strait/fastpath';
import type { ConnectionInfo } from './connection-events';
import { createProxyEngine } from './proxy-engine';
import { openSharedListenSocket } from './shared-listen-socket';
import {
  config,
  exchange,
  LOOPBACK,
  node,
  openClient,
  refusedPort,
  selfSignedCertificate,
  serve,
  startEngine,
  startTaggedEchoServer,
  startTcpServer,
  upstream,
  waitFor,
  withDeadline,
} from './testing/loopback';
import { connectPlainTcp, type UpstreamConnector } from './upstream-connector';

/**
 * `count` exchanges through `port`, which several engines serve (each routing to the tagged echo
 * server B1): every one answered, and as many closed events added up over the engines.
 */
async function exchangeThroughAll(
  port: number,
  count: number,
  engines: readonly { closed: { events: readonly unknown[] } }[],
): Promise<void> {
  const closedSoFar = () => engines.reduce((sum, { closed }) => sum + closed.events.length, 0);
  const before = closedSoFar();
  const results = await withDeadline(
    Promise.all(Array.from({ length: count }, () => exchange(port, 'r'))),
    5000,
    `${count} exchanges`,
  );
  assert.ok(results.every((result) => result.data.toString() === 'B1\nr'));
  await waitFor(() => closedSoFar() === before + count, 2000, 'closed events');
}

/** An engine that binds for itself cannot have `port`. */
async function assertPortTaken(t: TestContext, port: number): Promise<void> {
  const engine = createProxyEngine({ fastpath: true });
  t.after(() => engine.close());
  await assert.rejects(engine.listen([{ protocol: 'tcp', host: LOOPBACK, port }]), {
    code: 'ERR_BIND',
  });
}

/** These specs run twice (libs/proxy test target): on the native path and with STRAIT_FASTPATH=off. */
const native = loadFastpath() !== undefined;
const needsAddon = !native && 'the native fast path is not available (or STRAIT_FASTPATH=off)';

async function tlsEcho(t: Parameters<typeof serve>[0]): Promise<number> {
  const certificate = selfSignedCertificate();
  if (!certificate) throw new Error('openssl is not installed');
  const server = tls.createServer({ ...certificate, allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.write(`tls ${(socket as tls.TLSSocket & { servername?: string }).servername}\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: LOOPBACK, port: 0 }, resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

describe('native fast path in the engine', () => {
  it('serves plain TCP listeners natively by default, unless switched off', (t) => {
    const auto = createProxyEngine();
    const off = createProxyEngine({ fastpath: false });
    const injected = createProxyEngine({ connectUpstream: connectPlainTcp });
    t.after(() => Promise.all([auto, off, injected].map((engine) => engine.close())));
    assert.equal(auto.fastpath, native);
    assert.equal(native, process.platform === 'linux' && !fastpathDisabledByEnv());
    assert.equal(off.fastpath, false);
    assert.equal(injected.fastpath, false, 'an injected connector keeps the JavaScript path');
  });

  it('relays without a Node socket on the native path (two with the JavaScript path)', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const { engine, bound } = await startEngine(t);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(b1.port)]) }));
    const sockets = (): number =>
      process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
    const before = sockets();
    const client = await openClient(bound[0].port);
    await waitFor(() => client.received() === 'B1\n', 2000, 'greeting');
    // The test's own client and the echo server's socket, plus the proxy's two on the JS path.
    assert.equal(sockets() - before, native ? 2 : 4);
    client.socket.end();
    await withDeadline(client.result, 2000, 'closed');
  });

  it('refuses fastpath: true when the addon is not available', { skip: native }, () => {
    assert.throws(() => createProxyEngine({ fastpath: true }), {
      code: 'ERR_FASTPATH_UNAVAILABLE',
    });
  });

  it('reports a port in use with the same ERR_BIND message on both paths', async (t) => {
    const occupied = await serve(
      t,
      startTcpServer(() => undefined),
    );
    const messages: string[] = [];
    for (const fastpath of native ? [false, true] : [false]) {
      const engine = createProxyEngine({ fastpath });
      t.after(() => engine.close({ force: true }));
      await assert.rejects(
        engine.listen([{ protocol: 'tcp', host: LOOPBACK, port: occupied.port }]),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_BIND');
          messages.push(error.message);
          return true;
        },
      );
    }
    assert.equal(
      messages[0],
      `cannot listen on tcp ${LOOPBACK}:${occupied.port}: address already in use`,
    );
    assert.equal(new Set(messages).size, 1, messages.join(' / '));
  });

  it('hands a route whose step reads the client to the JavaScript path, unread and in order', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    let peeked = '';
    const { engine, bound, closed } = await startEngine(t, undefined, {
      prereadPipeline: (route) =>
        route.plugins?.peek
          ? [
              {
                name: 'peek',
                readsClient: true,
                run: (session) =>
                  new Promise((resolve) => {
                    const socket = session.client!;
                    socket.once('readable', () => {
                      const chunk = socket.read() as Buffer;
                      peeked = chunk.toString();
                      socket.unshift(chunk);
                      socket.pause();
                      resolve(undefined);
                    });
                  }),
              },
            ]
          : [],
    });
    const opened: ConnectionInfo[] = [];
    engine.on('connection:opened', (info) => opened.push(info));
    engine.apply(
      config({
        id: 'peek',
        plugins: { peek: {} },
        serverPort: bound[0].port,
        remoteAddr: LOOPBACK,
        upstream: upstream('u1', [node(b1.port)]),
      }),
    );
    const result = await withDeadline(exchange(bound[0].port, 'first bytes'), 3000, 'peeked');
    assert.equal(result.data.toString(), 'B1\nfirst bytes');
    assert.equal(peeked, 'first bytes');
    const event = await closed.nth(1);
    assert.equal(event.status, 200);
    assert.equal(event.bytesFromClient, 11);
    assert.deepEqual(
      opened.map((info) => info.id),
      [event.id],
      'one opened event, and the id sequence has no hole',
    );
    assert.equal(event.id, 1);
  });

  it('hands a TLS upstream to the JavaScript connector', async (t) => {
    const port = await tlsEcho(t);
    const { engine, bound, closed } = await startEngine(t);
    engine.apply(config({ id: 'tls', upstream: upstream('ut', [node(port)], { scheme: 'tls' }) }));
    const result = await withDeadline(exchange(bound[0].port, 'ping'), 3000, 'TLS upstream');
    assert.equal(result.data.toString(), 'tls apisix_backend\nping');
    assert.equal((await closed.nth(1)).status, 200);
  });

  it('continues on the JavaScript path when a step switches to a TLS upstream, with the same id', async (t) => {
    const port = await tlsEcho(t);
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const { engine, bound, closed } = await startEngine(t, undefined, {
      prereadPipeline: () => [
        {
          name: 'to-tls',
          run: async (session) => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            session.upstream = upstream('ut', [node(port)], { scheme: 'tls' });
            return undefined;
          },
        },
      ],
    });
    const opened: number[] = [];
    engine.on('connection:opened', (info) => opened.push(info.id));
    engine.apply(config({ id: 'split', upstream: upstream('u1', [node(b1.port)]) }));
    const client = await openClient(bound[0].port);
    client.socket.write('early');
    await waitFor(() => client.received() === 'tls apisix_backend\nearly', 3000, 'TLS reply');
    const [row] = engine.connections();
    assert.equal(row.id, opened[0]);
    assert.equal(row.phase, 'relaying');
    assert.equal(row.routeId, 'split');
    client.socket.end();
    const event = await closed.nth(1);
    assert.equal(event.id, opened[0]);
    assert.equal(event.bytesFromClient, 5);
    assert.equal(opened.length, 1);
    assert.equal(engine.connectionCount, 0);
  });

  it(
    'hands every connection to an injected connector when fastpath is forced',
    { skip: needsAddon },
    async (t) => {
      const live = await serve(t, startTaggedEchoServer('live'));
      const dead = await refusedPort();
      const tried: number[] = [];
      const recording: UpstreamConnector = (target, spec, timeoutMs, clientSni) => {
        tried.push(target.port);
        return connectPlainTcp(target, spec, timeoutMs, clientSni);
      };
      const { engine, bound, closed } = await startEngine(t, undefined, {
        fastpath: true,
        connectUpstream: recording,
      });
      assert.equal(engine.fastpath, true);
      engine.apply(
        config({
          id: '1',
          upstream: upstream('u1', [node(dead, LOOPBACK, 1), node(live.port, LOOPBACK, 0)]),
        }),
      );
      const result = await withDeadline(exchange(bound[0].port, 'x'), 3000, 'exchange');
      assert.equal(result.data.toString(), 'live\nx');
      assert.deepEqual(tried, [dead, live.port]);
      const event = await closed.nth(1);
      assert.equal(event.attempts, 2);
      // Closing the listener waits for connections handed to the JavaScript path too.
      const client = await openClient(bound[0].port);
      await waitFor(() => client.received() === 'live\n', 2000, 'second connection');
      let listenerClosed = false;
      const closing = engine.closeListener(bound[0].id).then(() => (listenerClosed = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(listenerClosed, false);
      client.socket.end();
      await withDeadline(closing, 2000, 'listener closed after its last connection');
    },
  );

  it(
    'retries natively, reporting refused nodes to the balancer',
    { skip: needsAddon },
    async (t) => {
      const live = await serve(t, startTaggedEchoServer('live'));
      const { engine, bound, closed } = await startEngine(t, undefined, { fastpath: true });
      const nodes = [
        node(await refusedPort(), LOOPBACK, 2),
        node(await refusedPort(), LOOPBACK, 1),
        node(live.port, LOOPBACK, 0),
      ];
      engine.apply(config({ id: '1', upstream: upstream('u1', nodes) }));
      const result = await withDeadline(exchange(bound[0].port, 'early'), 3000, 'exchange');
      assert.equal(result.data.toString(), 'live\nearly');
      const event = await closed.nth(1);
      assert.equal(event.attempts, 3);
      assert.equal(event.node, `${LOOPBACK}:${live.port}`);
      assert.ok(event.connectMs !== undefined && event.connectMs > 0);
    },
  );

  it('resolves a node given by host name', { skip: needsAddon }, async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('named'));
    const { engine, bound, closed } = await startEngine(t, undefined, { fastpath: true });
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(b1.port, 'localhost')]) }));
    const result = await withDeadline(exchange(bound[0].port, 'n'), 3000, 'exchange');
    assert.equal(result.data.toString(), 'named\nn');
    assert.equal((await closed.nth(1)).node, `localhost:${b1.port}`);
  });

  it('lets engines share a port with reusePort', { skip: needsAddon }, async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const first = await startEngine(t, undefined, { fastpath: true, reusePort: true });
    const port = first.bound[0].port;
    const second = await startEngine(t, [{ protocol: 'tcp', host: LOOPBACK, port }], {
      fastpath: true,
      reusePort: true,
    });
    for (const { engine } of [first, second]) {
      engine.apply(config({ id: '1', upstream: upstream('u1', [node(b1.port)]) }));
    }
    await exchangeThroughAll(port, 32, [first, second]);
    assert.ok(first.closed.events.length > 0 && second.closed.events.length > 0);
    // Without reusePort the port is taken.
    await assertPortTaken(t, port);
  });

  it('lets engines share one listening socket', { skip: needsAddon }, async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const spec = { protocol: 'tcp' as const, host: LOOPBACK, port: 0 };
    const fd = openSharedListenSocket(spec);
    assert.ok(fd !== undefined);
    t.after(() => closeSync(fd));
    const shared = { fastpath: true, sharedListenSocket: () => fd };
    const first = await startEngine(t, [spec], shared);
    const second = await startEngine(t, [spec], shared);
    const port = first.bound[0].port;
    assert.equal(second.bound[0].port, port);
    for (const { engine } of [first, second]) {
      engine.apply(config({ id: '1', upstream: upstream('u1', [node(b1.port)]) }));
    }
    await exchangeThroughAll(port, 16, [first, second]);
    // An engine that stops accepting takes none: the other one serves every connection.
    await first.engine.closeListener(first.bound[0].id);
    const firstServed = first.closed.events.length;
    await exchangeThroughAll(port, 16, [first, second]);
    assert.equal(first.closed.events.length, firstServed);
    // The socket is taken: an engine that binds for itself cannot have the port.
    await assertPortTaken(t, port);
  });

  it(
    'refuses a shared descriptor that is not a listening socket',
    { skip: needsAddon },
    async (t) => {
      const b1 = await serve(t, startTaggedEchoServer('B1'));
      const engine = createProxyEngine({ fastpath: true, sharedListenSocket: () => 0 });
      t.after(() => engine.close());
      await assert.rejects(engine.listen([{ protocol: 'tcp', host: LOOPBACK, port: b1.port }]), {
        code: 'ERR_BIND',
      });
    },
  );

  it(
    'closes a listener only after the connections it accepted have ended',
    { skip: needsAddon },
    async (t) => {
      const b1 = await serve(t, startTaggedEchoServer('B1'));
      const { engine, bound } = await startEngine(t, undefined, { fastpath: true });
      engine.apply(config({ id: '1', upstream: upstream('u1', [node(b1.port)]) }));
      const client = await openClient(bound[0].port);
      await waitFor(() => client.received() === 'B1\n', 2000, 'greeting');
      let closedAt = 0;
      const closing = engine.closeListener(bound[0].id).then(() => (closedAt = Date.now()));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(closedAt, 0);
      client.socket.write('still');
      await waitFor(() => client.received() === 'B1\nstill', 2000, 'still relaying');
      client.socket.end();
      await withDeadline(closing, 2000, 'listener closed');
      assert.deepEqual(engine.listeners(), []);
    },
  );
});
