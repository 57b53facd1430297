import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import {
  config,
  connectPausedClient,
  LOOPBACK,
  node,
  serve,
  startEngine,
  startTcpServer,
  upstream,
  waitForStall,
  withDeadline,
} from './testing/loopback';

const TOTAL_BYTES = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
/** One socket high-water mark per direction plus one read, with generous room. */
const BUFFER_BOUND = 1024 * 1024;

describe('back-pressure', () => {
  it('holds a bounded amount for a client that does not read while the upstream sends 64 MiB', async (t) => {
    let sent = 0;
    // The upstream writes as fast as the proxy lets it (respecting its own 'drain').
    const server = await serve(
      t,
      startTcpServer((socket) => {
        const pump = (): void => {
          while (sent < TOTAL_BYTES) {
            sent += CHUNK.length;
            if (!socket.write(CHUNK)) {
              socket.once('drain', pump);
              return;
            }
          }
          socket.end();
        };
        pump();
      }),
    );
    const { engine, bound, closed } = await startEngine(t);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(server.port)]) }));

    const client = connectPausedClient(t, bound[0].port);

    // Wait until the upstream is stalled: its progress stops moving for a while.
    await waitForStall(
      () => sent,
      () => sent > 0,
      10_000,
      'upstream stalls behind the non-reading client',
    );
    assert.ok(sent < TOTAL_BYTES, `the upstream was never held back (sent ${sent})`);
    const [row] = engine.connections();
    assert.ok(
      row.bufferedToClient <= BUFFER_BOUND,
      `proxy holds ${row.bufferedToClient} bytes toward the client`,
    );
    t.diagnostic(
      `stalled after ${(sent / 1048576).toFixed(1)} MiB sent; proxy holds ${row.bufferedToClient} bytes`,
    );

    let received = 0;
    const done = new Promise<void>((resolve) => client.on('close', () => resolve()));
    client.on('data', (chunk: Buffer) => (received += chunk.length));
    client.resume();
    await withDeadline(done, 20_000, 'all 64 MiB delivered');
    assert.equal(received, TOTAL_BYTES);
    const event = await closed.nth(1);
    assert.equal(event.bytesToClient, TOTAL_BYTES);
    assert.equal(event.status, 200);
  });

  it('holds a bounded amount for an upstream that does not read while the client sends', async (t) => {
    let upstreamSocket: net.Socket | undefined;
    const server = await serve(
      t,
      startTcpServer((socket) => {
        upstreamSocket = socket;
        socket.pause();
      }),
    );
    const { engine, bound } = await startEngine(t);
    engine.apply(config({ id: '1', upstream: upstream('u1', [node(server.port)]) }));

    const client = net.connect({ host: LOOPBACK, port: bound[0].port });
    client.on('error', () => undefined);
    t.after(() => client.destroy());
    let sent = 0;
    let stalled = false;
    const pump = (): void => {
      while (sent < TOTAL_BYTES) {
        sent += CHUNK.length;
        if (!client.write(CHUNK)) {
          stalled = true;
          client.once('drain', () => {
            stalled = false;
            pump();
          });
          return;
        }
      }
    };
    pump();
    await waitForStall(
      () => sent,
      () => stalled,
      10_000,
      'client stalls behind the non-reading upstream',
    );
    assert.ok(sent < TOTAL_BYTES);
    const [row] = engine.connections();
    assert.ok(
      row.bufferedToUpstream <= BUFFER_BOUND,
      `proxy holds ${row.bufferedToUpstream} bytes`,
    );
    assert.ok(upstreamSocket !== undefined);
  });
});
