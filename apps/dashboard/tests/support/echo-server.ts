import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP backend that answers every chunk with "echo: <chunk>". */
export async function startEchoServer(): Promise<{
  server: Server;
  port: number;
  close(): Promise<void>;
}> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => socket.write(`echo: ${chunk.toString()}`));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolveListen);
  });
  const { port } = server.address() as { port: number };
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.unref();
      }),
  };
}

/** Sends `message` to host:port and resolves with the first answer; rejects on close or deadline. */
export function exchange(port: number, message: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolveAnswer, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(message));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.length >= message.length) {
        clearTimeout(timer);
        socket.end();
        resolveAnswer(answer);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (answer === '') reject(new Error('connection closed without an answer'));
    });
  });
}

/** Retries `exchange` until it answers (the route is applied asynchronously) or the deadline passes. */
export async function exchangeEventually(
  port: number,
  message: string,
  deadlineMs = 10_000,
): Promise<string> {
  const deadline = Date.now() + deadlineMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await exchange(port, message, Math.min(3000, Math.max(500, deadline - Date.now())));
    } catch (error) {
      lastError = error;
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
  }
  throw new Error(`no answer through port ${port}: ${String(lastError)}`);
}

/** A connection kept open through the proxy: its first answer, and a promise of its close. */
export interface HeldConnection {
  socket: Socket;
  /** The client's own port (the dashboard shows the client as 127.0.0.1:<localPort>). */
  localPort: number;
  /** Resolves when the socket is closed, by either side. */
  closed: Promise<void>;
  isClosed(): boolean;
}

/** Opens a connection, sends `message` and waits for the echo; the connection stays open. */
export async function holdConnection(
  port: number,
  message: string,
  timeoutMs = 5000,
): Promise<HeldConnection> {
  const socket = connect({ host: '127.0.0.1', port });
  let closedFlag = false;
  const closed = new Promise<void>((resolveClose) =>
    socket.once('close', () => {
      closedFlag = true;
      resolveClose();
    }),
  );
  socket.on('error', () => undefined);
  await new Promise<void>((resolveAnswer, reject) => {
    let answer = '';
    const timer = setTimeout(() => reject(new Error(`no echo within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(message));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.length >= message.length) {
        clearTimeout(timer);
        resolveAnswer();
      }
    });
    void closed.then(() => {
      clearTimeout(timer);
      reject(new Error('closed before the echo'));
    });
  });
  return { socket, localPort: socket.localPort ?? 0, closed, isClosed: () => closedFlag };
}

/**
 * Connects, sends a line and resolves with how many bytes came back before the proxy closed the
 * connection (0 when no route took it); rejects if it stays open past the deadline.
 */
export function bytesBeforeClose(port: number, timeoutMs = 5000): Promise<number> {
  return new Promise((resolveBytes, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write('anyone there?\n'));
    socket.on('data', (chunk) => (received += chunk.length));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolveBytes(received);
    });
  });
}

/** Waits for `promise` at most `timeoutMs`, then fails with `what`. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]);
}
