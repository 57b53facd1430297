// Bounded stress and hygiene through the running service: 2,000 sequential connections leave
// no file descriptors behind, and a client that reads nothing while its backend sends 32 MiB
// does not make the service buffer it (back-pressure).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { adminOk } from './support/admin-client';
import { freeTcpPort } from './support/ports';
import { openFdCount, rssKiB } from './support/proc';
import { exchange, openClient, startReplyServer, type EchoServer } from './support/sockets';
import { StraitProcess } from './support/strait-process';
import { delay, waitFor } from './support/wait';

const FIREHOSE_BYTES = 32 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'strait-');

/** A backend that sends FIREHOSE_BYTES to each client, honouring its own back-pressure. */
async function startFirehose(): Promise<{
  port: number;
  /** Bytes handed to the socket and accepted (write() returned or drained) so far. */
  readonly sent: number;
  close(): Promise<void>;
}> {
  const state = { sent: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const pump = () => {
      while (state.sent < FIREHOSE_BYTES) {
        state.sent += CHUNK.length;
        if (!socket.write(CHUNK)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get sent() {
      return state.sent;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('stress and hygiene', () => {
  let strait: StraitProcess;
  let reply: EchoServer;
  let firehose: Awaited<ReturnType<typeof startFirehose>>;
  const port = { many: 0, firehose: 0 };

  before(async () => {
    reply = await startReplyServer('pong\n');
    firehose = await startFirehose();
    port.many = await freeTcpPort();
    port.firehose = await freeTcpPort();
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        `    - "127.0.0.1:${port.many}"`,
        `    - "127.0.0.1:${port.firehose}"`,
      ].join('\n'),
    });
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/many', {
      server_port: port.many,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${reply.port}`]: 1 } },
    });
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/firehose', {
      server_port: port.firehose,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${firehose.port}`]: 1 } },
    });
  });

  after(async () => {
    await strait?.stop();
    await reply?.close();
    await firehose?.close();
  });

  it('2,000 sequential connections: all served, and the fd count returns to its baseline', async (t) => {
    // Warm up first so lazily opened descriptors (sqlite, epoll, timers) are in the baseline.
    for (let index = 0; index < 20; index += 1)
      assert.equal((await exchange(port.many, 'ping')).data, 'pong\n');
    const baseline = openFdCount(strait.pid);
    let peak = baseline;
    const started = Date.now();
    for (let index = 0; index < 2000; index += 1) {
      const { data } = await exchange(port.many, 'ping');
      if (data !== 'pong\n') assert.fail(`connection ${index} got ${JSON.stringify(data)}`);
      if (index % 100 === 0) peak = Math.max(peak, openFdCount(strait.pid));
    }
    const elapsed = Date.now() - started;
    const settled = await waitFor(
      () => {
        const count = openFdCount(strait.pid);
        return count <= baseline + 4 ? count : undefined;
      },
      3000,
      `fd count back near ${baseline}`,
      50,
    ).catch(() => openFdCount(strait.pid));
    t.diagnostic(
      `2000 connections in ${elapsed} ms; fds baseline ${baseline}, peak ${peak}, after ${settled}`,
    );
    assert.ok(settled <= baseline + 4, `fds ${baseline} -> ${settled}`);
    const status = await adminOk(strait.adminUrl, 'GET', '/strait/v1/status');
    assert.equal(status.json.activeConnections, 0);
  });

  it('a client that reads nothing while the backend sends 32 MiB does not grow the service RSS', async (t) => {
    const rssBefore = rssKiB(strait.pid);
    const client = await openClient(port.firehose);
    client.socket.pause(); // read nothing
    // Wait until the backend cannot push any more: its progress stalls for 300 ms.
    let last = -1;
    await waitFor(
      async () => {
        const now = firehose.sent;
        const stalled = now === last && now > 0;
        last = now;
        if (!stalled) await delay(300);
        return stalled;
      },
      15_000,
      'the backend to stall on back-pressure',
      0,
    );
    const rssStalled = rssKiB(strait.pid);
    const row = (await adminOk(strait.adminUrl, 'GET', '/strait/v1/connections?route_id=firehose'))
      .json.list[0] as { bytesToClient: number };
    const growthMiB = (rssStalled - rssBefore) / 1024;
    t.diagnostic(
      `stalled with backend sent ${(firehose.sent / 2 ** 20).toFixed(1)} MiB, proxy relayed ${(row.bytesToClient / 2 ** 20).toFixed(1)} MiB; ` +
        `RSS ${(rssBefore / 1024).toFixed(1)} -> ${(rssStalled / 1024).toFixed(1)} MiB (+${growthMiB.toFixed(1)} MiB)`,
    );
    assert.ok(
      firehose.sent < FIREHOSE_BYTES,
      'the backend was held back, not drained into the proxy',
    );
    assert.ok(growthMiB < 24, `RSS grew by ${growthMiB.toFixed(1)} MiB`);

    // Now read: every byte arrives, in order, and the connection ends cleanly.
    let received = 0;
    client.socket.on('data', (chunk: Buffer) => (received += chunk.length));
    client.socket.resume();
    const outcome = await client.closed;
    assert.equal(outcome.errorCode, undefined);
    assert.equal(received, FIREHOSE_BYTES);
  });
});
