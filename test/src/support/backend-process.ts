import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild } from './programs';
import { withDeadline } from './wait';

/**
 * A TCP backend in its own process, so a test can SIGKILL it in the middle of a transfer (the
 * kernel then closes its sockets the way a crashed server's are closed). Every connection gets
 * an endless stream of 16 KiB chunks (one per 2 ms, while the socket accepts them), and
 * everything a client sends is read and discarded. Prints its port on the first line.
 */
const SCRIPT = `
const net = require('node:net');
const chunk = Buffer.alloc(16 * 1024, 'k');
const server = net.createServer((socket) => {
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  const timer = setInterval(() => { if (socket.writableLength < 1 << 20) socket.write(chunk); }, 2);
  socket.on('close', () => clearInterval(timer));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

export interface BackendProcess {
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  /** SIGKILL and wait for the exit; returns Date.now() at the moment the signal was sent. */
  kill(): Promise<number>;
  stop(): Promise<void>;
}

export async function startStreamingBackendProcess(): Promise<BackendProcess> {
  const child = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await withDeadline(
    new Promise<number>((resolve, reject) => {
      child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      child.once('exit', (code) => reject(new Error(`backend process exited with ${code}`)));
    }),
    10_000,
    'the backend process to listen',
  );
  return {
    port,
    pid: child.pid as number,
    child,
    kill: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const at = Date.now();
      child.kill('SIGKILL');
      await exited;
      return at;
    },
    stop: () => stopChild(child, 'SIGKILL'),
  };
}
