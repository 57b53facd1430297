import { connect, createServer, type Server, type Socket } from 'node:net';

export interface EchoServer {
  server: Server;
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/**
 * A backend like APISIX's test upstream on 1995: reads one chunk and answers `reply`. The reply
 * names the backend, so tests can tell which node served them.
 */
export async function startReplyServer(reply: string, host = '127.0.0.1'): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  const state = { accepted: 0 };
  const server = createServer((socket) => {
    state.accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end(reply));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    get accepted() {
      return state.accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Connects, sends `payload`, and collects everything until the peer closes, with a deadline so a
 * hanging proxy fails the test instead of the suite.
 */
export function exchange(
  port: number,
  payload: string,
  options: { host?: string; localAddress?: string; timeoutMs?: number } = {},
): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: options.host ?? '127.0.0.1', localAddress: options.localAddress });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close from 127.0.0.1:${port} within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks).toString(), closed: true });
    });
  });
}
