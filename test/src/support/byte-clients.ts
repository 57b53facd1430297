import { createHash, type Hash } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface CountingOutcome {
  bytes: number;
  /** sha256 (hex) of every byte received, when asked for. */
  sha256?: string;
  /** The error code the client saw (ECONNRESET for a reset), if any. */
  errorCode?: string;
  /** Date.now() at close. */
  closedAt: number;
}

export interface CountingClient {
  socket: Socket;
  /** Date.now() just before connecting: nothing on the far side can have started earlier. */
  startedAt: number;
  /** Date.now() when this process saw the connection established (may lag under load). */
  connectedAt: number;
  readonly bytes: number;
  /** Date.now() of the first byte received, if any. */
  readonly firstByteAt: number | undefined;
  readonly isClosed: boolean;
  closed: Promise<CountingOutcome>;
  /** Resolves once at least `count` bytes have arrived; rejects on close or at the deadline. */
  waitForBytes(count: number, timeoutMs?: number): Promise<void>;
}

/**
 * A client for bulk transfers: counts (and optionally hashes) what it receives instead of
 * keeping it, so thousands of them or megabytes each stay cheap for the test process.
 */
export async function countingClient(
  port: number,
  options: { host?: string; hash?: boolean; connectTimeoutMs?: number } = {},
): Promise<CountingClient> {
  const startedAt = Date.now();
  const socket = connect({ port, host: options.host ?? '127.0.0.1' });
  const hash: Hash | undefined = options.hash ? createHash('sha256') : undefined;
  const state = {
    bytes: 0,
    firstByteAt: undefined as number | undefined,
    closed: false,
    errorCode: undefined as string | undefined,
  };
  const waiters = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    state.bytes += chunk.length;
    state.firstByteAt ??= Date.now();
    hash?.update(chunk);
    for (const waiter of waiters) waiter();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => (state.errorCode ??= error.code));
  const closed = new Promise<CountingOutcome>((resolve) =>
    socket.once('close', () => {
      state.closed = true;
      for (const waiter of waiters) waiter();
      resolve({
        bytes: state.bytes,
        sha256: hash?.digest('hex'),
        errorCode: state.errorCode,
        closedAt: Date.now(),
      });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`connect to ${port} timed out`)),
      options.connectTimeoutMs ?? 5000,
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  return {
    socket,
    startedAt,
    connectedAt: Date.now(),
    get bytes() {
      return state.bytes;
    },
    get firstByteAt() {
      return state.firstByteAt;
    },
    get isClosed() {
      return state.closed;
    },
    closed,
    waitForBytes: (count, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (state.bytes >= count) {
            done();
            resolve();
          } else if (state.closed) {
            done();
            reject(new Error(`closed after ${state.bytes} bytes, before ${count}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${count} bytes not received within ${timeoutMs} ms (${state.bytes})`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}
