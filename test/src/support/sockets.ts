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
    const socket = connect({
      port,
      host: options.host ?? '127.0.0.1',
      localAddress: options.localAddress,
    });
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

export interface TaggedEchoServer extends EchoServer {
  /** Connections open right now. */
  readonly open: number;
}

/**
 * A backend for long connections: writes `tag\n` on connect, then echoes every chunk back as
 * `tag:chunk`, so a test can tell which node a still-open connection is attached to.
 */
export async function startTaggedEchoServer(
  tag: string,
  host = '127.0.0.1',
): Promise<TaggedEchoServer> {
  const sockets = new Set<Socket>();
  const state = { accepted: 0 };
  const server = createServer((socket) => {
    state.accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write(`${tag}\n`);
    socket.on('data', (chunk) => socket.write(`${tag}:${chunk.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    server,
    port: (server.address() as { port: number }).port,
    get accepted() {
      return state.accepted;
    },
    get open() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface ClientOutcome {
  data: string;
  /** The error code the client saw (ECONNRESET for a reset), if any. */
  errorCode?: string;
  /** Date.now() at close. */
  closedAt: number;
}

export interface OpenClient {
  socket: Socket;
  received(): string;
  /** Resolves at close with everything received. */
  closed: Promise<ClientOutcome>;
  readonly isClosed: boolean;
  /** Resolves once the data received so far contains `text`. */
  waitForData(text: string, timeoutMs?: number): Promise<void>;
  /** Sends `text` and waits until `expected` has arrived (after what was there before). */
  roundTrip(text: string, expected: string, timeoutMs?: number): Promise<void>;
}

/** A connected client that keeps its side open until the test ends it. */
export async function openClient(
  port: number,
  options: { host?: string; localAddress?: string; timeoutMs?: number } = {},
): Promise<OpenClient> {
  const socket = connect({
    port,
    host: options.host ?? '127.0.0.1',
    localAddress: options.localAddress,
  });
  const chunks: Buffer[] = [];
  let errorCode: string | undefined;
  let isClosed = false;
  const listeners = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    for (const listener of listeners) listener();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => (errorCode ??= error.code));
  const closed = new Promise<ClientOutcome>((resolve) =>
    socket.on('close', () => {
      isClosed = true;
      for (const listener of listeners) listener();
      resolve({ data: Buffer.concat(chunks).toString(), errorCode, closedAt: Date.now() });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connect to ${port} timed out`)), 2000);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  const received = () => Buffer.concat(chunks).toString();
  const waitUntil = (test: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (test()) {
          cleanup();
          resolve();
        } else if (isClosed) {
          cleanup();
          reject(new Error(`closed before ${what}; received ${JSON.stringify(received())}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`${what} not seen within ${timeoutMs} ms; got ${JSON.stringify(received())}`),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  return {
    socket,
    received,
    closed,
    get isClosed() {
      return isClosed;
    },
    waitForData: (text, timeoutMs = options.timeoutMs ?? 3000) =>
      waitUntil(() => received().includes(text), JSON.stringify(text), timeoutMs),
    roundTrip: (text, expected, timeoutMs = options.timeoutMs ?? 3000) => {
      const before = received().length;
      socket.write(text);
      return waitUntil(
        () => received().slice(before).includes(expected),
        JSON.stringify(expected),
        timeoutMs,
      );
    },
  };
}
