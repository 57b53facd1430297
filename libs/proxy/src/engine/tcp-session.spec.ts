import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import type { UpstreamNodeSpec } from '../config';
import {
  collect,
  config,
  exchange,
  LOOPBACK,
  node,
  openClient,
  refusedPort,
  selfSignedCertificate,
  serve,
  startBlackhole,
  startEngine,
  startHalfClosingUpstream,
  startTaggedEchoServer,
  startTcpServer,
  upstream,
  waitFor,
  withDeadline,
} from './testing/loopback';
import { connectPlainTcp, type UpstreamConnector } from './upstream-connector';

describe('TCP proxying', () => {
  it('relays to the matched route and reports the connection', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const { engine, bound, closed } = await startEngine(t);
    const opened: number[] = [];
    engine.on('connection:opened', (event) => opened.push(event.id));
    engine.apply(
      config({ id: '1', remoteAddr: LOOPBACK, upstream: upstream('u1', [node(b1.port)]) }),
    );

    const result = await withDeadline(exchange(bound[0].port, 'mmm'), 3000, 'exchange');
    assert.equal(result.data.toString(), 'B1\nmmm');

    const event = await closed.nth(1);
    assert.deepEqual(opened, [event.id]);
    assert.equal(event.status, 200);
    assert.equal(event.routeId, '1');
    assert.equal(event.node, `${LOOPBACK}:${b1.port}`);
    assert.equal(event.listenerId, bound[0].id);
    assert.equal(event.remoteAddr, LOOPBACK);
    assert.equal(event.serverAddr, LOOPBACK);
    assert.equal(event.serverPort, bound[0].port);
    assert.equal(event.bytesFromClient, 3);
    assert.equal(event.bytesToClient, 6);
    assert.equal(event.attempts, 1);
    assert.ok(event.connectMs !== undefined && event.connectMs >= 0);
    assert.ok(event.durationMs >= event.connectMs);
  });

  it('sends new connections along a route changed by apply() and leaves open ones alone', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const b2 = await serve(t, startTaggedEchoServer('B2'));
    const { engine, bound } = await startEngine(t);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(b1.port)]) }));

    const early = await openClient(bound[0].port);
    await waitFor(() => early.received() === 'B1\n', 2000, 'greeting from B1');

    engine.apply(config({ id: '1', upstream: upstream('u2', [node(b2.port)]) }));
    const later = await withDeadline(exchange(bound[0].port, 'x'), 3000, 'exchange after apply');
    assert.equal(later.data.toString(), 'B2\nx');

    early.socket.write('still');
    await waitFor(() => early.received() === 'B1\nstill', 2000, 'open connection still on B1');
    early.socket.end();
    await withDeadline(early.result, 2000, 'early client close');
  });

  it('closes without a byte when no route matches (remote_addr changed, route deleted)', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const { engine, bound, closed } = await startEngine(t);
    engine.apply(
      config({ id: '1', remoteAddr: '127.0.0.2', upstream: upstream('u1', [node(b1.port)]) }),
    );

    const refused = await withDeadline(exchange(bound[0].port, 'mmm'), 2000, 'no-route exchange');
    assert.equal(refused.data.length, 0);
    const event = await closed.nth(1);
    assert.equal(event.status, 503);
    assert.equal(event.reason, 'ERR_NO_ROUTE');
    assert.equal(event.routeId, undefined);
    assert.equal(b1.accepted.length, 0);

    engine.apply(config());
    const deleted = await withDeadline(exchange(bound[0].port), 2000, 'exchange without routes');
    assert.equal(deleted.data.length, 0);
    assert.equal((await closed.nth(2)).reason, 'ERR_NO_ROUTE');
  });

  it('matches server_addr and server_port, also behind a wildcard listener', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const b2 = await serve(t, startTaggedEchoServer('B2'));
    const b3 = await serve(t, startTaggedEchoServer('B3'));
    const { engine, bound } = await startEngine(t, [
      { protocol: 'tcp', host: '127.0.0.1', port: 0 },
      { protocol: 'tcp', host: '127.0.0.10', port: 0 },
      { protocol: 'tcp', host: '0.0.0.0', port: 0 },
      { protocol: 'tcp', host: '127.0.0.1', port: 0 },
    ]);
    const [plain, tenth, wildcard, second] = bound;
    engine.apply(
      config(
        { id: 'addr', serverAddr: '127.0.0.10', upstream: upstream('u2', [node(b2.port)]) },
        { id: 'port', serverPort: second.port, upstream: upstream('u3', [node(b3.port)]) },
        { id: 'rest', upstream: upstream('u1', [node(b1.port)]) },
      ),
    );
    const reached = async (port: number, host: string): Promise<string> =>
      (
        await withDeadline(exchange(port, '', { host }), 2000, `exchange ${host}:${port}`)
      ).data.toString();

    assert.equal(await reached(plain.port, '127.0.0.1'), 'B1\n');
    assert.equal(await reached(tenth.port, '127.0.0.10'), 'B2\n');
    assert.equal(await reached(wildcard.port, '127.0.0.10'), 'B2\n');
    assert.equal(await reached(wildcard.port, '127.0.0.1'), 'B1\n');
    assert.equal(await reached(second.port, '127.0.0.1'), 'B3\n');
  });

  it('relays over IPv6 and labels the node in brackets', async (t) => {
    const b6 = await serve(t, startTaggedEchoServer('B6', '::1'));
    const { engine, bound, closed } = await startEngine(t, [
      { protocol: 'tcp', host: '::1', port: 0 },
    ]);
    engine.apply(
      config({ id: 'v6', remoteAddr: '::1/128', upstream: upstream('u6', [node(b6.port, '::1')]) }),
    );
    const result = await withDeadline(
      exchange(bound[0].port, 'six', { host: '::1' }),
      2000,
      'v6 exchange',
    );
    assert.equal(result.data.toString(), 'B6\nsix');
    const event = await closed.nth(1);
    assert.equal(event.remoteAddr, '::1');
    assert.equal(event.serverAddr, '::1');
    assert.equal(event.node, `[::1]:${b6.port}`);
  });

  it('speaks TLS to a scheme tls upstream, sending SNI apisix_backend for a plain client', async (t) => {
    const certificate = selfSignedCertificate();
    if (!certificate) return t.skip('openssl is not installed');
    const server = tls.createServer({ ...certificate, allowHalfOpen: true }, (socket) => {
      socket.on('error', () => undefined);
      socket.write(`hello ${(socket as tls.TLSSocket & { servername?: string }).servername}\n`);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => server.listen({ host: LOOPBACK, port: 0 }, resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as net.AddressInfo).port;

    const { engine, bound, closed } = await startEngine(t);
    engine.apply(config({ id: 'tls', upstream: upstream('ut', [node(port)], { scheme: 'tls' }) }));
    const result = await withDeadline(
      exchange(bound[0].port, 'ping'),
      3000,
      'TLS upstream exchange',
    );
    assert.equal(result.data.toString(), 'hello apisix_backend\nping');
    const event = await closed.nth(1);
    assert.equal(event.status, 200);
    assert.equal(event.bytesFromClient, 4);
  });

  it('closes promptly when the upstream is missing, has no nodes or an unknown balancer', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const { engine, bound, closed } = await startEngine(t);
    const cases = [
      {
        route: { id: 'dangling', upstreamError: 'upstream 9 not found' },
        reason: 'ERR_UPSTREAM_MISSING',
      },
      { route: { id: 'empty', upstream: upstream('u-empty', []) }, reason: 'ERR_NO_UPSTREAM_NODE' },
      {
        route: {
          id: 'odd',
          upstream: upstream('u-odd', [node(b1.port)], { type: 'no-such-balancer' }),
        },
        reason: 'ERR_UNKNOWN_BALANCER',
      },
    ];
    let count = 0;
    for (const { route, reason } of cases) {
      engine.apply(config(route));
      const result = await withDeadline(
        exchange(bound[0].port, 'x', { keepOpen: true }),
        1000,
        route.id,
      );
      assert.equal(result.data.length, 0, route.id);
      const event = await closed.nth(++count);
      assert.equal(event.status, 503, route.id);
      assert.equal(event.reason, reason);
      assert.equal(event.routeId, route.id);
    }
    assert.equal(b1.accepted.length, 0);
  });

  it('retries dead nodes by priority group and delivers what the client sent meanwhile', async (t) => {
    const live = await serve(t, startTaggedEchoServer('live'));
    const dead = [
      await refusedPort(),
      await refusedPort(),
      await refusedPort(),
      await refusedPort(),
    ];
    const tried: number[] = [];
    const recording: UpstreamConnector = (target, spec, timeoutMs, clientSni) => {
      tried.push(target.port);
      return connectPlainTcp(target, spec, timeoutMs, clientSni);
    };
    const { engine, bound, closed } = await startEngine(t, undefined, {
      connectUpstream: recording,
    });
    const nodes: UpstreamNodeSpec[] = [
      node(dead[0], LOOPBACK, 1, 2),
      node(dead[1], LOOPBACK, 1, 1),
      node(dead[2], LOOPBACK, 0, 2),
      node(dead[3], LOOPBACK, 0, 1),
      node(live.port, LOOPBACK, -1, 2),
    ];
    engine.apply(config({ id: '1', upstream: upstream('u1', nodes) }));

    const result = await withDeadline(exchange(bound[0].port, 'early'), 3000, 'exchange');
    assert.equal(result.data.toString(), 'live\nearly');
    assert.deepEqual(new Set(tried.slice(0, 2)), new Set([dead[0], dead[1]]));
    assert.deepEqual(new Set(tried.slice(2, 4)), new Set([dead[2], dead[3]]));
    assert.equal(tried[4], live.port);
    const event = await closed.nth(1);
    assert.equal(event.attempts, 5);
    assert.equal(event.status, 200);
    assert.equal(event.node, `${LOOPBACK}:${live.port}`);
  });

  it('gives up with 502 when retries are disabled and the node is dead', async (t) => {
    const live = await serve(t, startTaggedEchoServer('live'));
    const { engine, bound, closed } = await startEngine(t);
    const nodes = [node(await refusedPort(), LOOPBACK, 1), node(live.port, LOOPBACK, 0)];
    engine.apply(config({ id: '1', upstream: upstream('u1', nodes, { retries: 0 }) }));

    const result = await withDeadline(exchange(bound[0].port, 'x'), 3000, 'exchange');
    assert.equal(result.data.length, 0);
    const event = await closed.nth(1);
    assert.equal(event.status, 502);
    assert.equal(event.reason, 'ERR_UPSTREAM_CONNECT');
    assert.equal(event.attempts, 1);
    assert.equal(event.node, undefined);
    assert.equal(live.accepted.length, 0);
  });

  it('times a connect out after timeout.connect and moves to the next node', async (t) => {
    const live = await serve(t, startTaggedEchoServer('live'));
    const blackhole = await serve(t, startBlackhole());
    const { engine, bound, closed } = await startEngine(t);
    const timeout = { connect: 0.2, send: 5, read: 5 };
    engine.apply(
      config({
        id: 'fallback',
        serverPort: bound[0].port,
        upstream: upstream(
          'u1',
          [node(blackhole.port, LOOPBACK, 1), node(live.port, LOOPBACK, 0)],
          { timeout },
        ),
      }),
    );
    const result = await withDeadline(
      exchange(bound[0].port, 'early'),
      3000,
      'exchange via fallback',
    );
    assert.equal(result.data.toString(), 'live\nearly');
    const event = await closed.nth(1);
    assert.equal(event.attempts, 2);
    assert.ok(event.durationMs >= 190, `duration ${event.durationMs}`);

    engine.apply(
      config({
        id: 'only',
        upstream: upstream('u2', [node(blackhole.port)], { timeout, retries: 0 }),
      }),
    );
    const startedAt = Date.now();
    const failed = await withDeadline(
      exchange(bound[0].port, 'x', { keepOpen: true }),
      3000,
      'exchange to blackhole',
    );
    assert.equal(failed.data.length, 0);
    assert.ok(Date.now() - startedAt < 2000);
    const timedOut = await closed.nth(2);
    assert.equal(timedOut.status, 502);
    assert.equal(timedOut.reason, 'ERR_UPSTREAM_CONNECT');
  });

  it('reports a connection closed by the engine while connecting', async (t) => {
    const blackhole = await serve(t, startBlackhole());
    const { engine, bound, closed } = await startEngine(t);
    const timeout = { connect: 5, send: 5, read: 5 };
    engine.apply(
      config({ id: '1', upstream: upstream('u1', [node(blackhole.port)], { timeout }) }),
    );
    const client = await openClient(bound[0].port);
    await waitFor(() => engine.connections()[0]?.phase === 'connecting', 2000, 'connecting');
    assert.equal(engine.closeConnection(engine.connections()[0].id), true);
    const event = await closed.nth(1);
    assert.equal(event.status, 503);
    assert.equal(event.reason, 'ERR_CLOSED_BY_ENGINE');
    assert.equal(event.attempts, 1);
    assert.equal(event.node, undefined);
    await withDeadline(
      new Promise((resolve) => client.socket.once('end', resolve)),
      2000,
      'client sees the close',
    );
    client.socket.destroy();
  });

  it('relays a half-close from the client and keeps the reply direction open', async (t) => {
    const server = await serve(
      t,
      startTcpServer((socket) => {
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        // Answers only after the client's FIN arrived through the proxy.
        socket.on('end', () => socket.end(`got ${Buffer.concat(chunks).toString()} then FIN`));
      }),
    );
    const { engine, bound } = await startEngine(t);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(server.port)]) }));
    const result = await withDeadline(
      exchange(bound[0].port, 'question'),
      3000,
      'half-close exchange',
    );
    assert.equal(result.data.toString(), 'got question then FIN');
    assert.equal(result.errorCode, undefined);
  });

  it('relays a half-close from the upstream and keeps the request direction open', async (t) => {
    const server = await serve(t, startHalfClosingUpstream('bye\n'));
    const { engine, bound } = await startEngine(t);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(server.port)]) }));

    const client = await openClient(bound[0].port);
    await withDeadline(
      new Promise((resolve) => client.socket.once('end', resolve)),
      2000,
      'the upstream FIN reaches the client',
    );
    assert.equal(client.received(), 'bye\n');
    client.socket.write('after your FIN');
    client.socket.end();
    await withDeadline(server.ended, 2000, 'upstream sees the client FIN');
    assert.equal(server.heard(), 'after your FIN');
    await withDeadline(client.result, 2000, 'client closed');
  });

  it('passes an upstream reset on to the client', async (t) => {
    const server = await serve(
      t,
      startTcpServer((socket) => socket.once('data', () => socket.resetAndDestroy())),
    );
    const { engine, bound } = await startEngine(t);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(server.port)]) }));
    const result = await withDeadline(
      exchange(bound[0].port, 'x', { keepOpen: true }),
      3000,
      'reset exchange',
    );
    assert.equal(result.errorCode, 'ECONNRESET');
  });

  it('passes a client reset on to the upstream', async (t) => {
    let upstreamError: string | undefined;
    let upstreamSocket: net.Socket | undefined;
    const server = await serve(
      t,
      startTcpServer((socket) => {
        socket.on('error', (error: NodeJS.ErrnoException) => (upstreamError = error.code));
        // Relaying has started once the client's byte arrives; a reset before that (while the
        // proxy is still connecting) is a different path.
        socket.once('data', () => (upstreamSocket = socket));
      }),
    );
    const { engine, bound } = await startEngine(t);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(server.port)]) }));
    const client = await openClient(bound[0].port);
    client.socket.write('x');
    await waitFor(() => upstreamSocket !== undefined, 2000, 'upstream received the first byte');
    const upstreamClosed = collect(upstreamSocket!);
    client.socket.resetAndDestroy();
    await withDeadline(upstreamClosed, 2000, 'upstream closed');
    assert.equal(upstreamError, 'ECONNRESET');
  });

  it('closes both sides after the idle timeout', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const { engine, bound, closed } = await startEngine(t);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u1', [node(b1.port)], {
          timeout: { connect: 1, send: 0.1, read: 0.2 },
        }),
      }),
    );
    const client = await openClient(bound[0].port);
    await waitFor(() => client.received() === 'B1\n', 2000, 'greeting');
    const startedAt = Date.now();
    await withDeadline(
      new Promise((resolve) => client.socket.once('end', resolve)),
      2000,
      'idle close',
    );
    client.socket.end();
    const idleFor = Date.now() - startedAt;
    assert.ok(idleFor >= 150 && idleFor < 1500, `closed after ${idleFor} ms`);
    assert.equal((await closed.nth(1)).status, 200);
  });

  it('runs preread steps between match and connect (plugin seam)', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const b2 = await serve(t, startTaggedEchoServer('B2'));
    const { engine, bound, closed } = await startEngine(t, undefined, {
      prereadPipeline: (route) =>
        route.plugins?.deny
          ? [{ name: 'deny', run: () => ({ status: 403, reason: 'deny' }) }]
          : route.plugins?.split
            ? [
                {
                  name: 'split',
                  run: async (session) => {
                    await Promise.resolve();
                    session.upstream = upstream('u2', [node(b2.port)]);
                    return undefined;
                  },
                },
              ]
            : [],
    });
    engine.apply(
      config({ id: 'denied', plugins: { deny: {} }, upstream: upstream('u1', [node(b1.port)]) }),
    );
    const denied = await withDeadline(exchange(bound[0].port, 'x'), 2000, 'denied exchange');
    assert.equal(denied.data.length, 0);
    const event = await closed.nth(1);
    assert.equal(event.status, 403);
    assert.equal(event.reason, 'ERR_PREREAD_REJECTED');

    engine.apply(
      config({ id: 'split', plugins: { split: {} }, upstream: upstream('u1', [node(b1.port)]) }),
    );
    const split = await withDeadline(exchange(bound[0].port, 'y'), 2000, 'split exchange');
    assert.equal(split.data.toString(), 'B2\ny');
  });
});
