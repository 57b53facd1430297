import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { loadFastpath } from '@strait/fastpath';
import {
  config,
  LOOPBACK,
  node,
  serve,
  startEngine,
  startTcpServer,
  upstream,
  withDeadline,
} from './testing/loopback';
import { setUserBufferReads, userBufferReadsEnabled } from './relay-buffers';

const PAYLOAD = 12 * 1024 * 1024;

/** Reads everything, pausing now and then so the writer's kernel buffer fills (partial writes). */
function slowDigest(socket: net.Socket): Promise<{ bytes: number; sha: string }> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let reads = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (++reads % 16 === 0) {
        socket.pause();
        setTimeout(() => socket.resume(), 2);
      }
    });
    socket.on('end', () => resolve({ bytes, sha: hash.digest('hex') }));
  });
}

/** Sends `data` in random-sized pieces, respecting back-pressure, then FIN. */
function pump(socket: net.Socket, data: Buffer): void {
  let offset = 0;
  const next = (): void => {
    while (offset < data.length) {
      const size = 1 + Math.floor(Math.random() * 200_000);
      const piece = data.subarray(offset, offset + size);
      offset += piece.length;
      if (!socket.write(piece)) {
        socket.once('drain', next);
        return;
      }
    }
    socket.end();
  };
  next();
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

// The same byte-exact checks run on the JavaScript relay (both read modes) and, when the addon
// is available and not switched off, on the native fast path.
const modes = ['user-buffer reads', "'data' events", 'the native fast path'] as const;

for (const mode of loadFastpath() === undefined ? modes.slice(0, 2) : modes) {
  describe(`relay on ${mode}`, () => {
    const on = mode !== "'data' events";
    const options = { fastpath: mode === 'the native fast path' };

    it('relays both directions byte-exact through slow readers, beside a chatty connection', async (t) => {
      setUserBufferReads(on);
      t.after(() => setUserBufferReads(true));
      if (on) assert.ok(userBufferReadsEnabled(), 'user-buffer reads available on this Node');
      const toUpstream = randomBytes(PAYLOAD);
      const toClient = randomBytes(PAYLOAD);
      let upstreamDigest!: Promise<{ bytes: number; sha: string }>;
      const server = await serve(
        t,
        startTcpServer((socket) => {
          socket.once('data', (first: Buffer) => {
            if (first.toString() === 'ping') {
              // The chatty connection: echo small messages (reads through the shared buffer).
              socket.write(first);
              socket.on('data', (chunk: Buffer) => socket.write(chunk));
              socket.on('end', () => socket.end());
              return;
            }
            socket.unshift(first);
            upstreamDigest = slowDigest(socket);
            pump(socket, toClient);
          });
        }),
      );
      const { engine, bound, closed } = await startEngine(t, undefined, options);
      engine.apply(config({ id: '1', upstream: upstream('u1', [node(server.port)]) }));

      // A small request/response connection running all along.
      const chatty = net.connect({ host: LOOPBACK, port: bound[0].port, allowHalfOpen: true });
      let echoed = '';
      let stopChatty = false;
      chatty.on('data', (chunk: Buffer) => {
        echoed += chunk.toString();
        if (!stopChatty) chatty.write('ping');
      });
      chatty.write('ping');

      const bulk = net.connect({ host: LOOPBACK, port: bound[0].port, allowHalfOpen: true });
      const clientDigest = slowDigest(bulk);
      // The upstream tells the bulk connection from the chatty one by its first bytes.
      bulk.write('bulk');
      pump(bulk, toUpstream);

      const received = await withDeadline(clientDigest, 30_000, 'client received everything');
      stopChatty = true;
      chatty.end();
      const sent = await withDeadline(upstreamDigest, 30_000, 'upstream received everything');
      assert.equal(received.bytes, PAYLOAD);
      assert.equal(received.sha, sha(toClient));
      assert.equal(sent.bytes, PAYLOAD + 4);
      assert.equal(sent.sha, sha(Buffer.concat([Buffer.from('bulk'), toUpstream])));
      assert.ok(echoed.length >= 4 && /^(ping)+$/.test(echoed), 'chatty echoes intact');

      const first = await closed.nth(1, 10_000);
      const second = await closed.nth(2, 10_000);
      const bulkEvent = first.bytesToClient === PAYLOAD ? first : second;
      assert.equal(bulkEvent.status, 200);
      assert.equal(bulkEvent.bytesFromClient, PAYLOAD + 4);
      assert.equal(bulkEvent.bytesToClient, PAYLOAD);
    });

    it('delivers every queued byte before the FIN in both orders of the two FINs', async (t) => {
      setUserBufferReads(on);
      t.after(() => setUserBufferReads(true));
      const reply = randomBytes(4 * 1024 * 1024);
      const server = await serve(
        t,
        startTcpServer((socket) => {
          socket.once('data', (first: Buffer) => {
            if (first.toString() === 'upstream-first') {
              // FIN after a big reply, while the client still sends and has not ended.
              socket.end(reply);
              socket.resume();
            } else {
              // Waits for the client's FIN, then replies big and ends.
              socket.resume();
              socket.on('end', () => socket.end(reply));
            }
          });
        }),
      );
      const { engine, bound, closed } = await startEngine(t, undefined, options);
      engine.apply(config({ id: '1', upstream: upstream('u1', [node(server.port)]) }));

      for (const [index, order] of (['upstream-first', 'client-first'] as const).entries()) {
        const client = net.connect({ host: LOOPBACK, port: bound[0].port, allowHalfOpen: true });
        let errorCode: string | undefined;
        client.on('error', (error: NodeJS.ErrnoException) => (errorCode = error.code));
        const digest = slowDigest(client);
        client.write(order);
        if (order === 'client-first') client.end();
        const got = await withDeadline(digest, 20_000, `${order}: reply and FIN`);
        if (order === 'upstream-first') client.end();
        await withDeadline(
          new Promise((resolve) => client.once('close', resolve)),
          5000,
          `${order}: closed`,
        );
        assert.equal(errorCode, undefined, `${order}: no reset`);
        assert.equal(got.bytes, reply.length);
        assert.equal(got.sha, sha(reply));
        const event = await closed.nth(index + 1, 5000);
        assert.equal(event.status, 200);
        assert.equal(event.reason, undefined);
        assert.equal(event.bytesToClient, reply.length);
      }
    });
  });
}
