import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import * as net from 'node:net';
import { Worker } from 'node:worker_threads';
import {
  CloseHow,
  ConnectFailure,
  FastpathEvent,
  fastpathStatus,
  loadFastpath,
  loopOptionsFromEnv,
} from './index';
import {
  BATCH_FIELDS,
  collect,
  connectClient,
  connectPausedClient,
  exchange,
  LOOPBACK,
  refusedPort,
  startBlackhole,
  startEchoServer,
  startServer,
  TestLoop,
  waitFor,
  waitForStall,
  withDeadline,
} from './testing';

describe('fast path addon', () => {
  it('is built and loads on this machine (CI must not test only the JavaScript fallback)', (t) => {
    if (process.platform !== 'linux') return t.skip('the fast path is Linux only');
    const status = fastpathStatus({});
    assert.equal(
      status.loaded,
      true,
      `the native fast path is not available: ${status.reason}. ` +
        'Install a C toolchain (cc, make, python3) and run `npx nx run fastpath:build`.',
    );
  });

  it('takes relay options from the environment', () => {
    assert.deepEqual(loopOptionsFromEnv({}), {});
    assert.deepEqual(
      loopOptionsFromEnv({ STRAIT_FASTPATH: 'splice', STRAIT_FASTPATH_BUFFER: '65536' }),
      {
        relay: 'splice',
        bufferSize: 65536,
      },
    );
    assert.deepEqual(
      loopOptionsFromEnv({ STRAIT_FASTPATH: 'copy', STRAIT_FASTPATH_BUFFER: '12' }),
      {},
    );
  });

  it('refuses unknown loop options', { skip: !fastpathStatus({}).loaded }, () => {
    const binding = loadFastpath({})!;
    assert.throws(
      () => binding.createLoop(() => undefined, { relay: 'zero-copy' as 'copy' }),
      /relay/,
    );
    assert.throws(() => binding.createLoop(() => undefined, { bufferSize: 100 }), /bufferSize/);
    const loop = binding.createLoop(() => undefined, { relay: 'splice', bufferSize: 65536 });
    assert.equal(loop.stats().relay, 'splice');
    assert.equal(loop.stats().bufferSize, 65536);
    loop.shutdown();
  });

  it(
    'closes a loop whose worker thread ends with connections open',
    { skip: !fastpathStatus({}).loaded },
    async () => {
      // The loop's handles must be closed before Node unloads the addon with the worker.
      const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      const net = require('node:net');
      const { loadFastpath } = require(workerData);
      const echo = net.createServer((socket) => socket.pipe(socket)).listen(0, '127.0.0.1', () => {
        const loop = loadFastpath({}).createLoop((type, id) => {
          if (type === 1) loop.connect(id, '127.0.0.1', echo.address().port, 1000, 0);
        });
        const bound = loop.listenTcp('127.0.0.1', 0);
        const client = net.connect(bound.port, '127.0.0.1', () => client.write('x'));
        client.on('error', () => undefined);
        client.once('data', () => parentPort.postMessage('relaying'));
      });
    `;
      for (let index = 0; index < 3; index++) {
        const worker = new Worker(script, { eval: true, workerData: require.resolve('./index') });
        await withDeadline(once(worker, 'message'), 5000, 'worker relaying');
        await withDeadline(worker.terminate(), 5000, 'worker terminated');
      }
    },
  );

  it(
    'takes an event buffer only as a Float64Array of whole events',
    { skip: !fastpathStatus({}).loaded },
    () => {
      const loop = loadFastpath({})!.createLoop(() => undefined);
      assert.equal(loop.useEventBuffer(new Float64Array(BATCH_FIELDS - 1)), false);
      assert.equal(loop.useEventBuffer(new Uint32Array(64) as unknown as Float64Array), false);
      assert.equal(loop.useEventBuffer(new Float64Array(BATCH_FIELDS * 2)), true);
      loop.shutdown();
    },
  );

  it('is switched off by STRAIT_FASTPATH=off', () => {
    assert.equal(loadFastpath({ STRAIT_FASTPATH: 'off' }), undefined);
    assert.match(fastpathStatus({ STRAIT_FASTPATH: 'off' }).reason ?? '', /STRAIT_FASTPATH/);
  });
});

const available = fastpathStatus({}).loaded;

const MODES = [
  { relay: 'copy', delivery: 'event' },
  { relay: 'splice', delivery: 'event' },
  { relay: 'copy', delivery: 'batch' },
] as const;

for (const { relay, delivery } of MODES) {
  const name = delivery === 'batch' ? `${relay}, events in batches` : relay;
  describe(`fast path relay (${name})`, { skip: !available && 'the addon is not built' }, () => {
    it('accepts, connects and relays, reporting addresses, timing and byte counts', async (t) => {
      const echo = await startEchoServer(t, 'E');
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      assert.equal(bound.address, LOOPBACK);
      proxy.relayTo(echo.port);

      const socket = net.connect({ host: LOOPBACK, port: bound.port, allowHalfOpen: true });
      let localPort: number | undefined;
      socket.once('connect', () => (localPort = socket.localPort));
      socket.write('ping');
      socket.end();
      const result = await withDeadline(collect(socket), 3000, 'echo through the loop');
      assert.equal(result.data.toString(), 'E\nping');
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed event');

      const [accepted] = proxy.accepted;
      assert.equal(accepted.listenerId, bound.listenerId);
      assert.equal(accepted.remoteAddr, LOOPBACK);
      assert.equal(accepted.remotePort, localPort);
      assert.equal(
        accepted.localAddr,
        undefined,
        'a listener on one address reports no local address',
      );
      assert.equal(proxy.outcomes[0].ok, true);
      assert.ok(proxy.outcomes[0].value > 0, 'connect micros');
      assert.deepEqual(
        { ...proxy.closed[0], at: 0 },
        { id: accepted.id, bytesFromClient: 4, bytesToClient: 6, how: CloseHow.Normal, at: 0 },
      );
      const stats = proxy.loop.stats();
      assert.equal(stats.connections, 0);
      assert.equal(stats.buffersInUse, 0);
      assert.equal(stats.relay, relay);
      assert.equal(proxy.loop.close(accepted.id), false, 'a closed connection is gone');
      // Accept (an IPv4 client), Connected and Closed are all numbers: they come in batches.
      assert.equal(proxy.batchedEvents, delivery === 'batch' ? 3 : 0);
    });

    it('reports the local address on a wildcard listener and unwraps IPv4-mapped peers', async (t) => {
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen('::', 0, { ipv6Only: false });
      assert.equal(bound.address, '::');
      proxy.onAccept = (accepted) => proxy.loop.destroy(accepted.id);
      for (const host of ['127.0.0.1', '::1']) {
        const socket = net.connect({ host, port: bound.port });
        socket.write('dropped');
        const result = await withDeadline(collect(socket), 2000, `destroyed ${host} client`);
        assert.equal(result.data.length, 0);
      }
      await proxy.until(() => proxy.closed.length === 2, 2000, 'closed events');
      assert.deepEqual(
        proxy.accepted.map((accepted) => [accepted.remoteAddr, accepted.localAddr]),
        [
          ['127.0.0.1', '127.0.0.1'],
          ['::1', '::1'],
        ],
      );
      assert.deepEqual(
        proxy.closed.map((closed) => closed.how),
        [CloseHow.Aborted, CloseHow.Aborted],
      );
      // In batches: the IPv4 accept and both closes; the IPv6 accept came by itself, in order.
      assert.equal(proxy.batchedEvents, delivery === 'batch' ? 3 : 0);
    });

    it('relays over IPv6 to an IPv6 upstream', async (t) => {
      const echo = await startEchoServer(t, 'six', '::1');
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen('::1', 0, { ipv6Only: true });
      proxy.relayTo(echo.port, '::1');
      const result = await withDeadline(
        exchange(bound.port, 'v6', { host: '::1' }),
        3000,
        'v6 exchange',
      );
      assert.equal(result.data.toString(), 'six\nv6');
    });

    it('relays 64 MiB each way at once, byte for byte', async (t) => {
      const BLOCK = 1024 * 1024;
      const COUNT = 64;
      const block = randomBytes(BLOCK);
      // Every MiB is stamped with its index (and the direction), so a lost, repeated or reordered
      // block changes the digest.
      const stamped = (base: number, index: number): Buffer => {
        const chunk = Buffer.from(block);
        chunk.writeUInt32BE(base + index, 0);
        return chunk;
      };
      const digestOf = (base: number): string => {
        const hash = createHash('sha256');
        for (let index = 0; index < COUNT; index++) hash.update(stamped(base, index));
        return hash.digest('hex');
      };
      const send = (socket: net.Socket, base: number): void => {
        let index = 0;
        const next = (): void => {
          while (index < COUNT) {
            if (!socket.write(stamped(base, index++))) return void socket.once('drain', next);
          }
          socket.end();
        };
        next();
      };
      const received = (socket: net.Socket): Promise<string> =>
        new Promise((resolve) => {
          const hash = createHash('sha256');
          socket.on('data', (chunk: Buffer) => hash.update(chunk));
          socket.on('end', () => resolve(hash.digest('hex')));
        });
      let upstreamReceived: Promise<string> | undefined;
      const server = await startServer(t, (socket) => {
        upstreamReceived = received(socket);
        send(socket, 0x80000000);
      });
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(server.port);
      const started = Date.now();
      const client = await connectClient(bound.port);
      const clientReceived = received(client);
      send(client, 0);
      const toClient = await withDeadline(clientReceived, 60_000, '64 MiB to the client');
      await waitFor(() => upstreamReceived !== undefined, 5000, 'upstream connection');
      const toUpstream = await withDeadline(upstreamReceived!, 60_000, '64 MiB to the upstream');
      t.diagnostic(`128 MiB relayed in ${Date.now() - started} ms`);
      assert.equal(toUpstream, digestOf(0));
      assert.equal(toClient, digestOf(0x80000000));
      await proxy.until(() => proxy.closed.length === 1, 5000, 'closed event');
      assert.equal(proxy.closed[0].bytesFromClient, COUNT * BLOCK);
      assert.equal(proxy.closed[0].bytesToClient, COUNT * BLOCK);
      assert.equal(proxy.closed[0].how, CloseHow.Normal);
    });

    it('passes a client FIN on and keeps the reply direction open', async (t) => {
      const server = await startServer(t, (socket) => {
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('end', () => socket.end(`got ${Buffer.concat(chunks).toString()} then FIN`));
      });
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(server.port);
      const result = await withDeadline(exchange(bound.port, 'question'), 3000, 'half-close');
      assert.equal(result.data.toString(), 'got question then FIN');
      assert.equal(result.errorCode, undefined);
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed');
      assert.equal(proxy.closed[0].how, CloseHow.Normal);
    });

    it('passes an upstream FIN on and keeps the request direction open', async (t) => {
      let upstreamReceived = '';
      let sawFin!: () => void;
      const finished = new Promise<void>((resolve) => (sawFin = resolve));
      const server = await startServer(t, (socket) => {
        socket.on('data', (chunk: Buffer) => (upstreamReceived += chunk.toString()));
        socket.on('end', () => sawFin());
        socket.end('bye\n');
      });
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(server.port);
      const client = await connectClient(bound.port);
      const result = collect(client, false);
      let received = '';
      client.on('data', (chunk: Buffer) => (received += chunk.toString()));
      await withDeadline(
        new Promise((resolve) => client.once('end', resolve)),
        2000,
        'the upstream FIN reaches the client',
      );
      assert.equal(received, 'bye\n');
      client.write('after your FIN');
      client.end();
      await withDeadline(finished, 2000, 'upstream sees the client FIN');
      assert.equal(upstreamReceived, 'after your FIN');
      await withDeadline(result, 2000, 'client closed');
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed');
      assert.equal(proxy.closed[0].bytesFromClient, 14);
    });

    it('delivers the last bytes before a FIN, also when the client reads them late', async (t) => {
      // The upstream's final bytes are written with MSG_MORE so that the FIN leaves with them; a
      // client that does not read makes those writes partial, and nothing may stay held back.
      const payload = randomBytes(8 * 1024 * 1024);
      const server = await startServer(t, (socket) => socket.end(payload));
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(server.port);
      const client = connectPausedClient(t, bound.port);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const chunks: Buffer[] = [];
      client.on('data', (chunk: Buffer) => chunks.push(chunk));
      client.resume();
      await withDeadline(once(client, 'end'), 5000, 'every byte, then the FIN');
      assert.ok(Buffer.concat(chunks).equals(payload), 'the bytes arrive unchanged');
      client.end();
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed');
      assert.equal(proxy.closed[0].bytesToClient, payload.length);
      assert.equal(proxy.closed[0].how, CloseHow.Normal);
    });

    it('sends the handshake ACK to the upstream with the first bytes it relays', async (t) => {
      // Smart connect: one packet fewer per connection, and the upstream accepts the connection
      // with its request already there.
      let requestArrived!: (socket: net.Socket) => void;
      const upstreamSide = new Promise<net.Socket>((resolve) => (requestArrived = resolve));
      const server = await startServer(t, (socket) =>
        socket.once('data', () => requestArrived(socket)),
      );
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      // Connects once the client's bytes wait at the proxy, so that the first pump relays them.
      proxy.onAccept = (accepted) =>
        setTimeout(() => proxy.loop.connect(accepted.id, LOOPBACK, server.port, 2000, 0), 50);
      const client = await connectClient(bound.port);
      t.after(() => client.destroy());
      client.write('request');
      const segments = segmentsReceived(await withDeadline(upstreamSide, 3000, 'the request'));
      assert.equal(segments.withData, 1);
      assert.equal(segments.all, 2, 'the SYN, then the ACK with the request: no ACK of its own');
    });

    it('does not keep an upstream that speaks first waiting for the handshake ACK', async (t) => {
      const server = await startServer(t, (socket) => socket.write('greeting\n'));
      const proxy = new TestLoop(t, { relay }, delivery);
      proxy.relayTo(server.port);
      await assertPromptGreetings(proxy.listen().port);
    });

    it('passes an upstream reset on to the client as a reset', async (t) => {
      const server = await startServer(t, (socket) =>
        socket.once('data', () => socket.resetAndDestroy()),
      );
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(server.port);
      const client = await connectClient(bound.port);
      const result = collect(client);
      client.write('x');
      assert.equal((await withDeadline(result, 3000, 'reset')).errorCode, 'ECONNRESET');
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed');
      assert.equal(proxy.closed[0].how, CloseHow.Reset);
    });

    it('passes a client reset on to the upstream as a reset', async (t) => {
      let upstream: net.Socket | undefined;
      let upstreamError: string | undefined;
      const server = await startServer(t, (socket) => {
        socket.on('error', (error: NodeJS.ErrnoException) => (upstreamError = error.code));
        socket.once('data', () => (upstream = socket));
      });
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(server.port);
      const client = await connectClient(bound.port);
      client.write('x');
      await waitFor(() => upstream !== undefined, 2000, 'first byte upstream');
      const upstreamClosed = collect(upstream!);
      client.resetAndDestroy();
      await withDeadline(upstreamClosed, 2000, 'upstream closed');
      assert.equal(upstreamError, 'ECONNRESET');
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed');
      assert.equal(proxy.closed[0].how, CloseHow.Reset);
    });

    it('closes both sides after the idle timeout, measured from the last byte', async (t) => {
      const echo = await startEchoServer(t);
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(echo.port, LOOPBACK, 500);
      const client = await connectClient(bound.port);
      const result = collect(client);
      let lastReply = 0;
      client.on('data', () => (lastReply = performance.now()));
      // Traffic every 150 ms for a second keeps it open well past 500 ms.
      for (let index = 0; index < 7; index++) {
        client.write('k');
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      assert.equal(proxy.closed.length, 0, 'still open while bytes move');
      await withDeadline(result, 3000, 'idle close');
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed');
      const idleFor = proxy.closed[0].at - lastReply;
      assert.ok(
        idleFor >= 480 && idleFor < 650,
        `closed ${idleFor.toFixed(1)} ms after the last byte`,
      );
      assert.equal(proxy.closed[0].how, CloseHow.IdleTimeout);
      assert.equal(proxy.closed[0].bytesFromClient, 7);
    });

    it('times a connect out against a blackholed address, then connects elsewhere', async (t) => {
      const blackhole = await startBlackhole();
      t.after(() => blackhole.close());
      const echo = await startEchoServer(t, 'live');
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      let startedAt = 0;
      proxy.onAccept = (accepted) => {
        startedAt = performance.now();
        assert.equal(proxy.loop.connect(accepted.id, LOOPBACK, blackhole.port, 300, 5000), true);
        assert.equal(
          proxy.loop.connect(accepted.id, LOOPBACK, blackhole.port, 300, 5000),
          false,
          'one attempt at a time',
        );
      };
      proxy.onOutcome = (outcome) => {
        if (!outcome.ok) proxy.loop.connect(outcome.id, LOOPBACK, echo.port, 1000, 5000);
      };
      const result = await withDeadline(exchange(bound.port, 'early'), 3000, 'exchange');
      assert.equal(result.data.toString(), 'live\nearly');
      const [failed, connected] = proxy.outcomes;
      assert.equal(failed.ok, false);
      assert.equal(failed.value, ConnectFailure.Timeout);
      const waited = failed.at - startedAt;
      assert.ok(waited >= 295 && waited < 450, `timed out after ${waited.toFixed(1)} ms`);
      assert.equal(connected.ok, true);
    });

    it('reports a refused connect with its errno and allows another attempt', async (t) => {
      const dead = await refusedPort();
      const echo = await startEchoServer(t, 'second');
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.onAccept = (accepted) => proxy.loop.connect(accepted.id, LOOPBACK, dead, 1000, 5000);
      proxy.onOutcome = (outcome) => {
        if (!outcome.ok) proxy.loop.connect(outcome.id, LOOPBACK, echo.port, 1000, 5000);
      };
      const result = await withDeadline(exchange(bound.port, 'x'), 3000, 'exchange');
      assert.equal(result.data.toString(), 'second\nx');
      assert.equal(proxy.outcomes[0].value, ConnectFailure.Refused);
      assert.equal(proxy.outcomes[0].errno, -111); // -ECONNREFUSED, as libuv spells errors
    });

    it('connects first and relays on request (relay() after Connected)', async (t) => {
      const echo = await startEchoServer(t, 'later');
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.onAccept = (accepted) => proxy.loop.connect(accepted.id, LOOPBACK, echo.port, 1000);
      proxy.onOutcome = (outcome) => {
        assert.equal(proxy.loop.relay(outcome.id, 0), true);
        assert.equal(proxy.loop.relay(outcome.id, 0), false, 'relaying already');
      };
      const result = await withDeadline(exchange(bound.port, 'y'), 3000, 'exchange');
      assert.equal(result.data.toString(), 'later\ny');
    });

    it('holds at most one buffer toward a client that stops reading, and the upstream blocks', async (t) => {
      const TOTAL = 64 * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const server = await startServer(t, (socket) => {
        const next = (): void => {
          while (sent < TOTAL) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', next);
          }
          socket.end();
        };
        next();
      });
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(server.port);
      const client = connectPausedClient(t, bound.port);

      await waitForStall(
        () => sent,
        () => sent > 0,
        10_000,
        'the upstream stalls behind the client',
      );
      assert.ok(sent < TOTAL, `the upstream was never held back (sent ${sent})`);
      const counters = new Float64Array(4);
      assert.equal(proxy.loop.counters(proxy.accepted[0].id, counters), true);
      const stats = proxy.loop.stats();
      assert.ok(counters[3] <= stats.bufferSize, `${counters[3]} bytes held toward the client`);
      assert.ok(stats.buffersInUse <= 1, `${stats.buffersInUse} buffers in use`);
      assert.deepEqual(proxy.loop.counters(proxy.accepted[0].id)?.slice(2, 3), [0]);
      t.diagnostic(
        `stalled after ${(sent / 1048576).toFixed(1)} MiB; ${counters[3]} bytes in flight`,
      );

      let received = 0;
      client.on('data', (data: Buffer) => (received += data.length));
      const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
      client.resume();
      await withDeadline(closed, 20_000, 'all 64 MiB delivered');
      assert.equal(received, TOTAL);
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed');
      assert.equal(proxy.closed[0].bytesToClient, TOTAL);
    });

    it('holds at most one buffer toward an upstream that stops reading, and the client blocks', async (t) => {
      const server = await startServer(t, (socket) => socket.pause());
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(server.port);
      const client = await connectClient(bound.port);
      client.on('error', () => undefined);
      t.after(() => client.destroy());
      const chunk = Buffer.alloc(64 * 1024, 0x62);
      let sent = 0;
      let stalled = false;
      const next = (): void => {
        while (sent < 64 * 1024 * 1024) {
          sent += chunk.length;
          if (!client.write(chunk)) {
            stalled = true;
            return void client.once('drain', () => {
              stalled = false;
              next();
            });
          }
        }
      };
      next();
      await waitForStall(
        () => sent,
        () => stalled,
        10_000,
        'the client stalls behind the upstream',
      );
      const counters = proxy.loop.counters(proxy.accepted[0].id)!;
      assert.ok(counters[2] <= proxy.loop.stats().bufferSize, `${counters[2]} bytes held`);
      assert.ok(sent < 64 * 1024 * 1024);
    });

    it('serves 2,000 concurrent connections', async (t) => {
      const COUNT = 2000;
      const echo = await startEchoServer(t);
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen(LOOPBACK, 0, { backlog: 4096 });
      proxy.relayTo(echo.port, LOOPBACK, 30_000);
      const clients: net.Socket[] = [];
      t.after(() => clients.forEach((client) => client.destroy()));
      let echoed = 0;
      for (let index = 0; index < COUNT; index++) {
        const client = net.connect({ host: LOOPBACK, port: bound.port, allowHalfOpen: true });
        client.on('error', () => undefined);
        client.setEncoding('utf8');
        let text = '';
        client.on('data', (data: string) => {
          text += data;
          if (text === `#${index}`) echoed++;
        });
        client.write(`#${index}`);
        clients.push(client);
      }
      await waitFor(() => echoed === COUNT, 30_000, `${COUNT} echoes`);
      assert.equal(proxy.loop.stats().connections, COUNT);
      const closedAll = Promise.all(clients.map((client) => collect(client)));
      for (const client of clients) client.end();
      await withDeadline(closedAll, 30_000, 'every client closed');
      await proxy.until(() => proxy.closed.length === COUNT, 10_000, 'every closed event');
      assert.ok(proxy.closed.every((closed) => closed.how === CloseHow.Normal));
      assert.equal(new Set(proxy.closed.map((closed) => closed.id)).size, COUNT);
      assert.equal(proxy.loop.stats().connections, 0);
      assert.equal(proxy.loop.stats().buffersInUse, 0);
    });

    it('close() ends a relaying connection with FIN, not RST', async (t) => {
      let upstream: net.Socket | undefined;
      const server = await startServer(t, (socket) => {
        upstream = socket;
        socket.write('hi');
      });
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(server.port);
      const client = await connectClient(bound.port);
      const result = collect(client);
      await waitFor(() => upstream !== undefined && proxy.outcomes.length === 1, 2000, 'relaying');
      await waitFor(() => client.bytesRead === 2, 2000, 'greeting');
      const upstreamResult = collect(upstream!);
      assert.equal(proxy.loop.close(proxy.accepted[0].id), true);
      assert.equal(proxy.loop.close(proxy.accepted[0].id), false);
      assert.equal((await withDeadline(result, 2000, 'client closed')).errorCode, undefined);
      assert.equal(
        (await withDeadline(upstreamResult, 2000, 'upstream closed')).errorCode,
        undefined,
      );
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed');
      assert.equal(proxy.closed[0].how, CloseHow.Aborted);
    });

    it('close() while connecting abandons the attempt without a connect event', async (t) => {
      const blackhole = await startBlackhole();
      t.after(() => blackhole.close());
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.onAccept = (accepted) =>
        proxy.loop.connect(accepted.id, LOOPBACK, blackhole.port, 5000, 0);
      const client = await connectClient(bound.port);
      const result = collect(client);
      await proxy.until(() => proxy.accepted.length === 1, 2000, 'accepted');
      assert.equal(proxy.loop.stats().deadlines, 1);
      proxy.loop.close(proxy.accepted[0].id);
      await withDeadline(result, 2000, 'client closed');
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(proxy.outcomes.length, 0);
      assert.equal(proxy.loop.stats().deadlines, 0);
    });

    it('detach() hands over the client socket with its unread bytes', async (t) => {
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      let adopted: net.Socket | undefined;
      proxy.onAccept = (accepted) => {
        const fd = proxy.loop.detach(accepted.id);
        assert.ok(fd >= 0);
        assert.equal(proxy.loop.detach(accepted.id), -1, 'detached once');
        adopted = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
        adopted.once('data', (data: Buffer) => adopted!.end(`adopted ${data.toString()}`));
      };
      const socket = net.connect({ host: LOOPBACK, port: bound.port, allowHalfOpen: true });
      socket.write('early');
      const result = await withDeadline(collect(socket), 3000, 'adopted exchange');
      assert.equal(result.data.toString(), 'adopted early');
      assert.equal(proxy.closed.length, 0, 'a detached connection has no closed event');
      assert.equal(proxy.loop.stats().connections, 0);
      adopted?.destroy();
    });

    it('refuses detach() once relaying', async (t) => {
      const echo = await startEchoServer(t, 'r');
      const proxy = new TestLoop(t, { relay }, delivery);
      const bound = proxy.listen();
      proxy.relayTo(echo.port);
      const client = await connectClient(bound.port);
      await proxy.until(() => proxy.outcomes.length === 1, 2000, 'relaying');
      assert.equal(proxy.loop.detach(proxy.accepted[0].id), -1);
      client.end();
      await proxy.until(() => proxy.closed.length === 1, 2000, 'closed');
    });

    it('throws bind errors with the errno code, like net.Server', async (t) => {
      const proxy = new TestLoop(t, { relay }, delivery);
      const first = proxy.listen();
      const inUse = (() => {
        try {
          proxy.listen(LOOPBACK, first.port);
        } catch (error) {
          return error as NodeJS.ErrnoException;
        }
        return undefined;
      })();
      assert.equal(inUse?.code, 'EADDRINUSE');
      assert.equal(inUse?.errno, -98);
      assert.equal(inUse?.syscall, 'bind');
      assert.match(inUse?.message ?? '', /EADDRINUSE 127\.0\.0\.1:\d+/);
      assert.throws(() => proxy.listen('192.0.2.1', 0), { code: 'EADDRNOTAVAIL' });
      assert.throws(() => proxy.listen('not-an-address', 0), { code: 'EINVAL' });
      assert.equal(proxy.loop.stats().listeners, 1);
      assert.equal(proxy.loop.closeListener(first.listenerId), true);
      assert.equal(proxy.loop.closeListener(first.listenerId), false);
      await withDeadline(
        new Promise<void>((resolve) => {
          const socket = net.connect({ host: LOOPBACK, port: first.port });
          socket.on('error', (error: NodeJS.ErrnoException) => {
            assert.equal(error.code, 'ECONNREFUSED');
            resolve();
          });
        }),
        2000,
        'closed listener refuses',
      );
    });

    it('shares one port between two loops with reusePort', async (t) => {
      const echo = await startEchoServer(t);
      const a = new TestLoop(t, { relay }, delivery);
      const b = new TestLoop(t, { relay }, delivery);
      const first = a.listen(LOOPBACK, 0, { reusePort: true });
      b.listen(LOOPBACK, first.port, { reusePort: true });
      assert.throws(() => new TestLoop(t, { relay }, delivery).listen(LOOPBACK, first.port), {
        code: 'EADDRINUSE',
      });
      a.relayTo(echo.port);
      b.relayTo(echo.port);
      const results = await withDeadline(
        Promise.all(Array.from({ length: 64 }, (_, index) => exchange(first.port, `${index}`))),
        10_000,
        '64 exchanges',
      );
      assert.deepEqual(
        results.map((result) => result.data.toString()),
        Array.from({ length: 64 }, (_, index) => `${index}`),
      );
      assert.equal(a.accepted.length + b.accepted.length, 64);
      assert.ok(
        a.accepted.length > 0 && b.accepted.length > 0,
        'the kernel spread the connections',
      );
    });

    it('shutdown() closes every socket, buffer and descriptor it opened', async (t) => {
      const fds = (): number => readdirSync('/proc/self/fd').length;
      const echo = await startEchoServer(t, 'up');
      const before = fds();
      const binding = loadFastpath({})!;
      let accepted = 0;
      let closedEvents = 0;
      const loop = binding.createLoop(
        (type, id) => {
          // The first client is relayed; the others are left waiting for a decision.
          if (type === FastpathEvent.Accept && ++accepted === 1) {
            loop.connect(id, LOOPBACK, echo.port, 1000, 0);
          }
          if (type === FastpathEvent.Closed) closedEvents++;
        },
        { relay },
      );
      const bound = loop.listenTcp(LOOPBACK, 0);
      const clients: net.Socket[] = [];
      for (let index = 0; index < 3; index++) {
        const socket = net.connect({ host: LOOPBACK, port: bound.port });
        socket.on('error', () => undefined);
        clients.push(socket);
      }
      const results = clients.map((socket) => collect(socket));
      await waitFor(
        () => loop.stats().accepted === 3 && clients[0].bytesRead > 0,
        2000,
        'three accepted, one relaying',
      );
      assert.ok(fds() > before);
      loop.shutdown();
      assert.equal(loop.stats().shutDown, true);
      assert.equal(loop.connect(1, LOOPBACK, echo.port, 1), false);
      assert.throws(() => loop.listenTcp(LOOPBACK, 0), /shut down/);
      await withDeadline(Promise.all(results), 2000, 'clients see the close');
      await waitFor(() => fds() <= before, 2000, `descriptors back to ${before}`);
      assert.equal(closedEvents, 0, 'shutdown() reports nothing');
    });
  });
}

/** Runs `source` in another Node process for the rest of the test (stdout piped back). */
function inOtherProcess(t: TestContext, source: string): ChildProcess {
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  return child;
}

/** The first thing `child` prints. */
async function firstOutput(child: ChildProcess, what: string): Promise<string> {
  const [chunk] = (await withDeadline(once(child.stdout!, 'data'), 5000, what)) as [Buffer];
  return chunk.toString();
}

/** Node source for a TCP server on an ephemeral loopback port that prints the port. */
function serverSource(onConnection: string): string {
  return `require('net').createServer(${onConnection}).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port)); })`;
}

describe('loops on one thread', { skip: !available && 'the addon is not built' }, () => {
  it('the first loop owns the thread, a second is polled by libuv, and both relay', async (t) => {
    const echo = await startEchoServer(t, 'E');
    const first = new TestLoop(t);
    const second = new TestLoop(t);
    assert.equal(first.loop.stats().ownsThread, true);
    assert.equal(second.loop.stats().ownsThread, false);
    const ports = [first, second].map((proxy) => {
      proxy.relayTo(echo.port);
      return proxy.listen().port;
    });
    const results = await withDeadline(
      Promise.all(ports.flatMap((port) => [exchange(port, 'a'), exchange(port, 'b')])),
      3000,
      'both loops relay',
    );
    assert.deepEqual(
      results.map((result) => result.data.toString()),
      ['E\na', 'E\nb', 'E\na', 'E\nb'],
    );
  });

  it('a nested loop does not keep an upstream that speaks first waiting either', async (t) => {
    const server = await startServer(t, (socket) => socket.write('greeting\n'));
    const owner = new TestLoop(t);
    const nested = new TestLoop(t);
    assert.equal(nested.loop.stats().ownsThread, false);
    for (const proxy of [owner, nested]) proxy.relayTo(server.port);
    await assertPromptGreetings(nested.listen().port);
    await assertPromptGreetings(owner.listen().port);
  });

  it('after the owner shuts down, the other loop relays on and the next new loop owns the thread', async (t) => {
    const echo = await startEchoServer(t, 'E');
    const owner = new TestLoop(t);
    const other = new TestLoop(t);
    other.relayTo(echo.port);
    const port = other.listen().port;
    owner.loop.shutdown();
    const result = await withDeadline(exchange(port, 'on'), 3000, 'the remaining loop relays');
    assert.equal(result.data.toString(), 'E\non');
    const next = new TestLoop(t);
    assert.equal(next.loop.stats().ownsThread, true);
    next.relayTo(echo.port);
    const again = await withDeadline(exchange(next.listen().port, 'new'), 3000, 'the new owner');
    assert.equal(again.data.toString(), 'E\nnew');
  });

  it('an owner loop woken from its sleep by a client measures idle time from a fresh clock', async (t) => {
    const sink = await startServer(t, () => undefined);
    const proxy = new TestLoop(t);
    assert.equal(proxy.loop.stats().ownsThread, true);
    proxy.relayTo(sink.port, LOOPBACK, 400);
    const port = proxy.listen().port;
    // The client is another process, so the loop sleeps until its byte arrives: a byte stamped
    // with the clock from before that sleep would make the idle timeout end early.
    const client = inOtherProcess(
      t,
      `const s = require('net').connect(${port}, '127.0.0.1', () => setTimeout(() => { s.write('x'); process.stdout.write(String(Date.now())); }, 300)); s.on('error', () => undefined);`,
    );
    const sentText = await firstOutput(client, 'the byte');
    await proxy.until(() => proxy.closed.length === 1, 3000, 'the idle close');
    const idleFor = Date.now() - Number(sentText);
    assert.equal(proxy.closed[0].how, CloseHow.IdleTimeout);
    assert.ok(idleFor >= 370, `closed ${idleFor} ms after the last byte (idle timeout 400 ms)`);
  });

  it('while an owner loop serves a busy connection, timers and immediates still run', async (t) => {
    // The sink and the writer are other processes, so nothing but the relay wakes this loop: the
    // timers below run only if the owner hands the thread back when one is due.
    const sinkPort = await firstOutput(
      inOtherProcess(t, serverSource('(s) => s.resume()')),
      'port',
    );
    const proxy = new TestLoop(t);
    assert.equal(proxy.loop.stats().ownsThread, true);
    proxy.relayTo(Number(sinkPort));
    const port = proxy.listen().port;
    inOtherProcess(
      t,
      `const s = require('net').connect(${port}, '127.0.0.1'); const b = Buffer.alloc(65536); const go = () => { while (s.write(b)); }; s.on('connect', go); s.on('drain', go); s.on('error', () => undefined);`,
    );
    const relayed = () => proxy.loop.stats().relayedBytes;
    await waitFor(() => relayed() > 10_000_000, 5000, 'bytes flowing');
    for (let round = 0; round < 10; round++) {
      const started = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const late = performance.now() - started - 20;
      assert.ok(late < 250, `a 20 ms timer fired ${late.toFixed(1)} ms late`);
      const queued = performance.now();
      await new Promise((resolve) => setImmediate(resolve));
      const waited = performance.now() - queued;
      assert.ok(waited < 250, `an immediate ran after ${waited.toFixed(1)} ms`);
    }
    const before = relayed();
    await waitFor(() => relayed() > before, 2000, 'bytes still flowing');
  });

  it('while an owner loop sleeps, timers keep their time and sockets opened from JavaScript work', async (t) => {
    const proxy = new TestLoop(t);
    assert.equal(proxy.loop.stats().ownsThread, true);
    proxy.listen(); // a listener keeps the loop referenced: it sleeps on its own set
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 30));
      const late = performance.now() - started - 30;
      // A loop that overslept would miss the timer by its whole wait (nothing else wakes it);
      // the bound leaves room for a loaded machine.
      assert.ok(late < 250, `a 30 ms timer fired ${late.toFixed(1)} ms late`);
    }
    // An echo server in another process, so that no socket of this one wakes the loop: a socket
    // created here is registered with libuv only at its next poll, after the owner's wait.
    const serverPort = Number(
      await firstOutput(inOtherProcess(t, serverSource('(s) => s.pipe(s)')), 'port'),
    );
    for (let round = 0; round < 5; round++) {
      const result = await withDeadline(
        exchange(serverPort, `js ${round}`),
        2000,
        'a plain Node socket',
      );
      assert.equal(result.data.toString(), `js ${round}`);
    }
  });
});

/**
 * Segments the kernel received on `socket` so far (`ss -ti`: segs_in, data_segs_in), counted
 * from the SYN of its handshake.
 */
function segmentsReceived(socket: net.Socket): { all: number; withData: number } {
  const filter = `( sport = :${socket.localPort} and dport = :${socket.remotePort} )`;
  const info = execFileSync('ss', ['-tinH', 'state', 'established', filter]).toString();
  const count = (name: string): number => {
    const match = new RegExp(`\\b${name}:(\\d+)`).exec(info);
    if (!match) throw new Error(`ss reports no ${name} for the upstream's socket: ${info}`);
    return Number(match[1]);
  };
  return { all: count('segs_in'), withData: count('data_segs_in') };
}

/**
 * Five clients in turn connect through `port` and say nothing; the upstream greets each. Held
 * for the client's first bytes, the handshake ACK would leave with the kernel's delayed-ACK
 * timer, about 200 ms later, and only then could the upstream accept and greet.
 */
async function assertPromptGreetings(port: number): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    const client = net.connect({ host: LOOPBACK, port });
    try {
      await withDeadline(once(client, 'data'), 3000, 'the greeting');
    } finally {
      client.destroy();
    }
    const waitedMs = performance.now() - started;
    assert.ok(waitedMs < 100, `greeting ${round + 1} came after ${waitedMs.toFixed(1)} ms`);
  }
}
