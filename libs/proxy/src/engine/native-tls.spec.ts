import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { loadFastpath } from '@strait/fastpath';
import type { CreateProxyEngineOptions } from './proxy-engine';
import { certificateSpec, opensslAvailable, testPki } from '../tls/testing/test-pki';
import { openTlsClient, tlsExchange } from '../tls/testing/tls-clients';
import {
  LOOPBACK,
  node,
  serve,
  startEngine,
  startHalfClosingUpstream,
  startTaggedEchoServer,
  startTcpServer,
  upstream,
  waitFor,
  withDeadline,
  type TestServer,
} from './testing/loopback';

/**
 * TLS listeners whose handshakes and records the addon handles (native-tls-handshake.ts). The
 * behaviour both paths share is specified in tls-listener.spec.ts; these are the fast path's own
 * concerns (no Node socket per connection; bytes through SSL_read and SSL_write with
 * back-pressure and half-closes intact; a ClientHello peeked at until whole), and they run on
 * both paths (libs/proxy's test target runs them again with STRAIT_FASTPATH=off).
 */
const skip = !opensslAvailable() && 'the openssl CLI is not installed';
const needsAddon =
  loadFastpath() === undefined && 'the native fast path is not available (or STRAIT_FASTPATH=off)';

async function tlsEngine(
  t: TestContext,
  backend: TestServer,
  options: CreateProxyEngineOptions = {},
) {
  const pki = testPki();
  const { engine, bound, closed } = await startEngine(
    t,
    [{ protocol: 'tcp', host: LOOPBACK, port: 0, tls: true }],
    options,
  );
  engine.apply({
    routes: [{ id: '1', upstream: upstream('u1', [node(backend.port)]) }],
    certificates: [certificateSpec('c', ['localhost'], [pki.localhost])],
  });
  return { engine, port: bound[0].port, closed };
}

/** Node's socket handles of this process, TCP and TLS. */
function socketHandles(): number {
  return process
    .getActiveResourcesInfo()
    .filter((name) => name === 'TCPSocketWrap' || name === 'TLSWrap').length;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A TLS client of the listener's `localhost` certificate (not verified: the specs test bytes). */
function connectTls(port: number, extra: tls.ConnectionOptions = {}): tls.TLSSocket {
  return tls.connect({
    host: LOOPBACK,
    port,
    servername: 'localhost',
    rejectUnauthorized: false,
    ...extra,
  });
}

/** Reads a TLS client until it closes, everything as one buffer. */
function readAll(socket: tls.TLSSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/**
 * A TLS client whose writes reach the proxy cut into `pieces(chunk, index)`, each sent on its own
 * turn a millisecond apart (so they arrive as separate segments).
 */
function tlsClientInPieces(
  port: number,
  pieces: (chunk: Buffer, index: number) => Buffer[],
): tls.TLSSocket {
  const raw = net.connect({ host: LOOPBACK, port });
  raw.setNoDelay(true);
  let writes = 0;
  const piecewise = new Duplex({
    read() {
      raw.resume();
    },
    write(chunk: Buffer, _encoding, done) {
      const queue = pieces(chunk, writes++);
      const next = (): void => {
        const piece = queue.shift();
        if (piece === undefined) return done();
        raw.write(piece);
        setTimeout(next, 1);
      };
      next();
    },
    final(done) {
      raw.end();
      done();
    },
  });
  raw.on('data', (data: Buffer) => {
    if (!piecewise.push(data)) raw.pause();
  });
  raw.on('end', () => piecewise.push(null));
  raw.on('error', (error) => piecewise.destroy(error));
  piecewise.on('close', () => raw.destroy());
  return tls.connect({ socket: piecewise, servername: 'localhost', rejectUnauthorized: false });
}

/** The first record a TLS client sends for `localhost`: its ClientHello, to replay raw. */
async function capturedClientHello(): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  try {
    const { port } = server.address() as net.AddressInfo;
    const first = new Promise<Buffer>((resolve) =>
      server.once('connection', (socket) => socket.once('data', resolve)),
    );
    const client = connectTls(port);
    client.on('error', () => {});
    const hello = await withDeadline(first, 3000, 'a ClientHello');
    client.destroy();
    return hello;
  } finally {
    server.close();
  }
}

/** `count` TLS clients at once, each echoed through the tagged backend B1. */
async function concurrentExchanges(port: number, count: number): Promise<void> {
  const results = await withDeadline(
    Promise.all(
      Array.from({ length: count }, (_, index) =>
        tlsExchange(port, { servername: 'localhost', payload: `m${index}` }, 15_000),
      ),
    ),
    20_000,
    `${count} TLS exchanges`,
  );
  results.forEach((result, index) => assert.equal(result.data, `B1\nm${index}`));
}

/** One byte per segment. */
function bytewise(chunk: Buffer): Buffer[] {
  return Array.from({ length: chunk.length }, (_, at) => chunk.subarray(at, at + 1));
}

/**
 * The ClientHello (the client's first write, one handshake record) re-framed as three records of
 * a third of the message each, as a client may send it: the hello is whole only with the third.
 */
function helloInThreeRecords(chunk: Buffer, index: number): Buffer[] {
  if (index > 0 || chunk[0] !== 22) return [chunk];
  const body = chunk.subarray(5, 5 + chunk.readUInt16BE(3));
  const third = Math.ceil(body.length / 3);
  const records = [0, 1, 2].map((part) => {
    const fragment = body.subarray(part * third, (part + 1) * third);
    const header = Buffer.from([
      22,
      chunk[1],
      chunk[2],
      fragment.length >> 8,
      fragment.length & 255,
    ]);
    return Buffer.concat([header, fragment]);
  });
  return [...records, chunk.subarray(5 + body.length)].filter((piece) => piece.length > 0);
}

/** Handshake, then the backend's greeting, through a client cut into pieces. */
async function greetedInPieces(
  port: number,
  pieces: (chunk: Buffer, index: number) => Buffer[],
): Promise<void> {
  const socket = tlsClientInPieces(port, pieces);
  socket.setEncoding('utf8');
  let got = '';
  socket.on('data', (chunk: string) => (got += chunk));
  try {
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      }),
      8000,
      'handshake in pieces',
    );
    await waitFor(() => got === 'B1\n', 3000, 'greeting');
  } finally {
    socket.destroy();
  }
}

describe('TLS listeners: the relay and the ClientHello wait', { skip }, () => {
  it(
    'terminates TLS in the addon: the proxy holds no Node socket for the connection',
    { skip: needsAddon },
    async (t) => {
      const backend = await serve(t, startTaggedEchoServer('B1'));
      const handles = async (fastpath: boolean): Promise<number> => {
        const { port } = await tlsEngine(t, backend, { fastpath });
        const before = socketHandles();
        const client = await openTlsClient(port, { servername: 'localhost' });
        await waitFor(() => client.received() === 'B1\n', 2000, 'greeting');
        const during = socketHandles() - before;
        client.socket.end();
        await withDeadline(client.closed, 2000, 'closed');
        return during;
      };
      // The client and the backend's socket, plus the raw and upstream sockets on the JS path.
      assert.equal(await handles(true), 2);
      assert.equal(await handles(false), 4);
    },
  );

  it('relays megabytes both ways through SSL_read and SSL_write, in order and complete', async (t) => {
    const echo = await serve(
      t,
      startTcpServer((socket) => socket.pipe(socket)),
    );
    const { port, closed } = await tlsEngine(t, echo);
    const payload = randomBytes(6 * 1024 * 1024);
    const socket = connectTls(port);
    const received = readAll(socket);
    socket.once('secureConnect', () => {
      // In slices, so records and socket writes interleave with the echo coming back.
      for (let at = 0; at < payload.length; at += 100_000)
        socket.write(payload.subarray(at, at + 100_000));
      socket.end();
    });
    const echoed = await withDeadline(received, 15_000, 'echo of 6 MiB');
    assert.equal(echoed.length, payload.length);
    assert.equal(sha256(echoed), sha256(payload));
    await waitFor(() => closed.events.length === 1, 2000, 'closed event');
    assert.equal(closed.events[0].bytesFromClient, payload.length);
    assert.equal(closed.events[0].bytesToClient, payload.length);
    assert.equal(closed.events[0].tls?.protocol, 'TLSv1.3');
  });

  it('holds a slow reader to what it takes (no loss, no unbounded buffering)', async (t) => {
    const size = 16 * 1024 * 1024;
    const source = randomBytes(size);
    const producer = await serve(
      t,
      startTcpServer((socket) => socket.end(source)),
    );
    const { port } = await tlsEngine(t, producer);
    const socket = connectTls(port);
    const received = readAll(socket);
    // Not reading for a while: the proxy must stop reading the upstream, not buffer 16 MiB.
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stalled = producer.accepted[0];
    assert.ok(stalled, 'the upstream was connected');
    assert.ok(stalled.writableLength > 0, 'the upstream is held back by the stalled client');
    socket.resume();
    const all = await withDeadline(received, 15_000, 'slow read of 16 MiB');
    assert.equal(all.length, size);
    assert.equal(sha256(all), sha256(source));
  });

  it('passes an upstream half-close to the client as close_notify while the client may still send', async (t) => {
    const server = await serve(t, startHalfClosingUpstream('bye\n'));
    const { port } = await tlsEngine(t, server);
    const socket = connectTls(port, {
      // Passed on to the underlying net.Socket (not in tls.ConnectionOptions' type).
      allowHalfOpen: true,
    } as tls.ConnectionOptions);
    socket.setEncoding('utf8');
    let got = '';
    socket.on('data', (chunk: string) => (got += chunk));
    await withDeadline(
      new Promise<void>((resolve) => socket.on('end', () => resolve())),
      3000,
      'end from the upstream',
    );
    assert.equal(got, 'bye\n');
    socket.end('late\n');
    await withDeadline(server.ended, 3000, 'the late bytes and the client end upstream');
    assert.equal(server.heard(), 'late\n');
    socket.destroy();
  });
  it('waits for a ClientHello that trickles in byte by byte, then completes the handshake', async (t) => {
    const backend = await serve(t, startTaggedEchoServer('B1'));
    const { port, engine } = await tlsEngine(t, backend);
    await greetedInPieces(port, bytewise);
    assert.equal(engine.handshakeStats().completed, 1);
  });

  it('reads a ClientHello split over several TLS records', async (t) => {
    const backend = await serve(t, startTaggedEchoServer('B1'));
    const { port, engine } = await tlsEngine(t, backend);
    await greetedInPieces(port, helloInThreeRecords);
    assert.equal(engine.handshakeStats().completed, 1);
  });

  it('serves hundreds of concurrent handshakes, each relayed and closed once', async (t) => {
    const backend = await serve(t, startTaggedEchoServer('B1'));
    const { port, closed, engine } = await tlsEngine(t, backend);
    const count = 300;
    await concurrentExchanges(port, count);
    await waitFor(() => closed.events.length === count, 5000, 'closed events');
    assert.equal(engine.handshakeStats().completed, count);
    assert.equal(engine.handshakeStats().pending, 0);
  });

  it('cleans up clients that vanish after their ClientHello, amid handshakes that complete', async (t) => {
    // A burst of hellos is answered at once and the handshakes start one by one (the addon's
    // queue): clients that reset meanwhile leave the queue holding connections that are gone.
    const backend = await serve(t, startTaggedEchoServer('B1'));
    const { port, engine } = await tlsEngine(t, backend);
    const hello = await capturedClientHello();
    const vanishing = Array.from({ length: 100 }, () => {
      const socket = net.connect({ host: LOOPBACK, port });
      socket.on('error', () => {});
      socket.on('connect', () => socket.write(hello, () => socket.resetAndDestroy()));
      return socket;
    });
    const count = 50;
    await concurrentExchanges(port, count);
    assert.ok(vanishing.every((socket) => socket.destroyed));
    await waitFor(
      () => engine.handshakeStats().pending === 0 && engine.connectionCount === 0,
      5000,
      'every handshake settled and every connection gone',
    );
  });

  it('resumes sessions across engines that share a sessionTicketSecret (data-plane workers)', async (t) => {
    const backend = await serve(t, startTaggedEchoServer('B1'));
    const shared = randomBytes(32).toString('base64');
    const first = await tlsEngine(t, backend, { sessionTicketSecret: shared });
    const sibling = await tlsEngine(t, backend, { sessionTicketSecret: shared });
    const stranger = await tlsEngine(t, backend);
    const initial = await tlsExchange(first.port, { servername: 'localhost', payload: 'a' });
    assert.equal(initial.data, 'B1\na');
    assert.ok(initial.session, 'a ticket was issued');
    const again = (port: number) =>
      tlsExchange(port, { servername: 'localhost', payload: 'b', session: initial.session });
    const onSibling = await again(sibling.port);
    assert.equal(onSibling.data, 'B1\nb');
    assert.equal(onSibling.resumed, true, 'the sibling engine resumed the ticket');
    const onStranger = await again(stranger.port);
    assert.equal(onStranger.data, 'B1\nb');
    assert.equal(onStranger.resumed, false, 'another secret: a full handshake');
  });
});
