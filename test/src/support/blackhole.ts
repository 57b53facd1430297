import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { withDeadline } from './wait';

/**
 * A loopback port whose SYNs go unanswered, for connect timeouts without leaving loopback: a
 * listener with backlog 1 in a worker thread whose event loop is blocked in Atomics.wait, so it
 * never accepts. Once its accept queue holds two handshaken connections, Linux drops further
 * SYNs (accept queue overflow) and a connect just hangs. (The engine's own tests use the same
 * trick; libs/proxy's fixtures are not importable from the e2e tier.)
 */
export async function startBlackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const gate = new SharedArrayBuffer(4);
  const worker = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads');
    const net = require('node:net');
    const server = net.createServer(() => undefined);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
      parentPort.postMessage(server.address().port);
      parentPort.once('message', () => {
        parentPort.postMessage('blocked');
        Atomics.wait(new Int32Array(workerData), 0, 0);
        server.close();
      });
    });
    `,
    { eval: true, workerData: gate },
  );
  const port = await withDeadline(
    new Promise<number>((resolve) => worker.once('message', resolve)),
    5000,
    'blackhole worker',
  );
  const blocked = new Promise((resolve) => worker.once('message', resolve));
  worker.postMessage('block');
  await withDeadline(blocked, 5000, 'blackhole worker blocked');
  // Fill the accept queue; these connections complete in the kernel and are never accepted.
  const fillers: Socket[] = [];
  for (let index = 0; index < 2; index += 1) {
    const filler = connect(port, '127.0.0.1');
    filler.on('error', () => undefined);
    fillers.push(filler);
    await withDeadline(
      new Promise((resolve) => filler.once('connect', resolve)),
      2000,
      'blackhole filler',
    );
  }
  return {
    port,
    close: async () => {
      for (const filler of fillers) filler.destroy();
      Atomics.store(new Int32Array(gate), 0, 1);
      Atomics.notify(new Int32Array(gate), 0);
      await worker.terminate();
    },
  };
}
