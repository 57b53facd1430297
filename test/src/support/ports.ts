import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

/**
 * A port that was free a moment ago on `host`, for config files that need a concrete number.
 * Asking the OS for port 0 and releasing it is racy in general, but nothing else on a test
 * machine competes for ephemeral loopback ports at that rate.
 */
export async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  return fresh(() => probeTcpPort(host));
}

/**
 * Ports handed out in this process. The OS may offer the same free port to two consecutive
 * probes (say a stream listener and the dashboard of one config), so a port is never handed out
 * twice.
 */
const handedOut = new Set<number>();

async function fresh(probe: () => Promise<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = await probe();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no fresh free port after 50 probes');
}

async function probeTcpPort(host: string): Promise<number> {
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
  return fresh(() => probeUdpPort(host));
}

async function probeUdpPort(host: string): Promise<number> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, resolve);
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/**
 * `count` consecutive TCP ports free on `host`, for `"a-b"` listener ranges. Picked below the
 * kernel's ephemeral range (32768+) so outgoing connections of other tests cannot take them
 * between the probe and the service's bind; bounded attempts.
 */
export async function freeTcpPortRange(count: number, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const first = 20_000 + Math.floor(Math.random() * 12_000);
    const servers: ReturnType<typeof createServer>[] = [];
    let ok = true;
    for (let port = first; port < first + count && ok; port += 1) {
      const server = createServer();
      ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, host, () => resolve(true));
      });
      if (ok) servers.push(server);
    }
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    if (ok) return first;
  }
  throw new Error(`no ${count} consecutive free ports found on ${host}`);
}
