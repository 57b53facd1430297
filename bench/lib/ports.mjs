// Loopback ports for the benchmark's own listeners. Picked below the kernel's ephemeral range
// (32768+) and below the ranges the e2e tests use (19000+), so outgoing connections of the load
// itself or of concurrent test runs cannot take them between the probe and the bind. Each port is
// checked free for both TCP and UDP on 127.0.0.1.
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

const given = new Set();
const LOW = 10_000;
const HIGH = 18_000;

function tcpFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

function udpFree(port) {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

export async function freePort() {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (given.has(port)) continue;
    if ((await tcpFree(port)) && (await udpFree(port))) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port found in ${LOW}-${HIGH}`);
}

/** An object of free ports, one per name. */
export async function freePorts(names) {
  const out = {};
  for (const name of names) out[name] = await freePort();
  return out;
}
