import { connect, createServer, type Server } from 'node:net';

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
