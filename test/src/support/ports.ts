import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

/**
 * A port that was free a moment ago on `host`, for config files that need a concrete number.
 * Asking the OS for port 0 and releasing it is racy in general, but nothing else on a test
 * machine competes for ephemeral loopback ports at that rate.
 */
export async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, resolve);
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
