/**
 * Fixtures for the fast path specs: real sockets on loopback, deadlines instead of sleeps,
 * everything closed when the test ends. Not exported from the package's main entry point: the
 * specs of other packages (libs/proxy, test/) import what they share from the test-only subpath
 * `@strait/fastpath/testing` (package.json "exports"; "typesVersions" for the compiler).
 */
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { Worker } from 'node:worker_threads';
import type { TestContext } from 'node:test';
import {
  FastpathEvent,
  loadFastpath,
  type BoundTcpListener,
  type CreateLoopOptions,
  type FastpathLoop,
  type ListenTcpOptions,
} from './index';

export const LOOPBACK = '127.0.0.1';

/** Rejects when `promise` has not settled within `ms`, naming what was awaited. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`deadline of ${ms} ms passed: ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Polls `probe` (sync or async) every `intervalMs` until it returns something truthy, and returns
 * that; rejects with `what` once `ms` have passed.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  ms: number,
  what: string,
  intervalMs = 5,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`deadline of ${ms} ms passed: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits until `progress()` (bytes written so far, say) has stood still for `quietMs` while
 * `ready()` holds: how the back-pressure specs tell a writer held back from one that is slow.
 */
export async function waitForStall(
  progress: () => number,
  ready: () => boolean,
  ms: number,
  what: string,
  quietMs = 300,
): Promise<void> {
  let last = -1;
  let stableSince = Date.now();
  await waitFor(
    () => {
      const now = progress();
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
      return ready() && Date.now() - stableSince > quietMs;
    },
    ms,
    what,
  );
}

export interface Accepted {
  id: number;
  listenerId: number;
  remoteAddr: string;
  remotePort: number;
  localAddr: string | undefined;
}

export interface Closed {
  id: number;
  bytesFromClient: number;
  bytesToClient: number;
  how: number;
  at: number;
}

export interface ConnectOutcome {
  id: number;
  ok: boolean;
  /** connect micros when ok, else the failure reason */
  value: number;
  errno?: number;
  at: number;
}

/**
 * How a TestLoop takes its events: one onEvent call each, or in batches (useEventBuffer: numbers
 * in a Float64Array, onEvent(0, count); IPv6 accepts and listener errors still come one by one).
 */
export type Delivery = 'event' | 'batch';

/** Batched delivery is not in FastpathLoop's type yet (see ../README.md, "Events"). */

export const BATCH_FIELDS = 6;

/** The dotted quad of an IPv4 address a batch carries as a number. */
export function ipv4Text(address: number): string {
  return [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join('.');
}

/** A loop whose events are recorded; `onAccept` decides what to do with each connection. */
export class TestLoop {
  readonly loop: FastpathLoop;
  readonly accepted: Accepted[] = [];
  readonly closed: Closed[] = [];
  readonly outcomes: ConnectOutcome[] = [];
  readonly listenerErrors: string[] = [];
  onAccept: (accepted: Accepted) => void = () => undefined;
  onOutcome: (outcome: ConnectOutcome) => void = () => undefined;
  private waiters: (() => void)[] = [];

  /** Events that came in batches (batch delivery only). */
  batchedEvents = 0;
  private readonly batch = new Float64Array(BATCH_FIELDS * 4);

  constructor(t: TestContext, options: CreateLoopOptions = {}, delivery: Delivery = 'event') {
    const binding = loadFastpath({});
    if (!binding) throw new Error('the fast path addon is not available');
    this.loop = binding.createLoop((type, id, a, b, c, d) => {
      if (type === 0) {
        // A batch of `id` events (a small buffer, so that tests cross batch boundaries too).
        for (let index = 0; index < id; index++) {
          const at = index * BATCH_FIELDS;
          const event = this.batch.subarray(at, at + BATCH_FIELDS);
          const local = event[5];
          this.record(
            event[0],
            event[1],
            event[2],
            event[0] === FastpathEvent.Accept ? ipv4Text(event[3]) : event[3],
            event[4],
            event[0] === FastpathEvent.Accept && local >= 0 ? ipv4Text(local) : undefined,
          );
          this.batchedEvents++;
        }
        return;
      }
      this.record(type, id, a, b, c, d);
    }, options);
    if (delivery === 'batch' && !this.loop.useEventBuffer(this.batch)) {
      throw new Error('useEventBuffer refused the buffer');
    }
    t.after(() => this.loop.shutdown());
  }

  private record(
    type: number,
    id: number,
    a: number,
    b: number | string | Buffer | undefined,
    c: number | undefined,
    d: string | undefined,
  ): void {
    const at = performance.now();
    switch (type) {
      case FastpathEvent.Accept: {
        const accepted = {
          id,
          listenerId: a,
          remoteAddr: b as string,
          remotePort: c as number,
          localAddr: d,
        };
        this.accepted.push(accepted);
        this.onAccept(accepted);
        break;
      }
      case FastpathEvent.Connected:
      case FastpathEvent.ConnectFailed: {
        const outcome: ConnectOutcome = {
          id,
          ok: type === FastpathEvent.Connected,
          value: a,
          errno: typeof b === 'number' ? b : undefined,
          at,
        };
        this.outcomes.push(outcome);
        this.onOutcome(outcome);
        break;
      }
      case FastpathEvent.Closed:
        this.closed.push({
          id,
          bytesFromClient: a,
          bytesToClient: b as number,
          how: c as number,
          at,
        });
        break;
      case FastpathEvent.ListenerError:
        this.listenerErrors.push(String(b));
        break;
      default:
        throw new Error(`unknown event ${type}`);
    }
    for (const wake of this.waiters.splice(0)) wake();
  }

  listen(host = LOOPBACK, port = 0, options: ListenTcpOptions = {}): BoundTcpListener {
    return this.loop.listenTcp(host, port, options);
  }

  /** Relays every accepted connection to `port` (auto-relay with `idleMs`). */
  relayTo(port: number, host = LOOPBACK, idleMs = 0, connectTimeoutMs = 2000): void {
    this.onAccept = (accepted) => {
      if (!this.loop.connect(accepted.id, host, port, connectTimeoutMs, idleMs)) {
        throw new Error(`connect(${accepted.id}) refused by the loop`);
      }
    };
  }

  /** Resolves once `condition` holds after some event (bounded). */
  async until(condition: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`deadline of ${ms} ms passed: ${what}`);
      await withDeadline(
        new Promise<void>((resolve) => this.waiters.push(resolve)),
        left,
        what,
      ).catch(() => undefined);
    }
  }

  closedOf(id: number): Closed | undefined {
    return this.closed.find((event) => event.id === id);
  }
}

export interface TestServer {
  readonly host: string;
  readonly port: number;
  readonly server: net.Server;
  /** Sockets accepted so far (open or not). */
  readonly accepted: net.Socket[];
  close(): Promise<void>;
}

/** A TCP server (half-open allowed) on `host`; `close()` destroys what it accepted, then closes. */
export async function startTcpServer(
  onConnection: (socket: net.Socket) => void,
  host = LOOPBACK,
  port = 0,
  backlog?: number,
): Promise<TestServer> {
  const accepted: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    accepted.push(socket);
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog }, () => resolve());
  });
  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    server,
    accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of accepted) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * startTcpServer on an ephemeral port, closed when the test ends; a backlog of 4096 takes the
 * concurrent-connections spec's 2,000 connects at once.
 */
export async function startServer(
  t: TestContext,
  onConnection: (socket: net.Socket) => void,
  host = LOOPBACK,
): Promise<TestServer> {
  const server = await startTcpServer(onConnection, host, 0, 4096);
  t.after(() => server.close());
  return server;
}

/** Greets with `tag\n`, then echoes; ends when the client ends. */
export function startEchoServer(t: TestContext, tag = '', host = LOOPBACK): Promise<TestServer> {
  return startServer(
    t,
    (socket) => {
      if (tag) socket.write(`${tag}\n`);
      socket.pipe(socket);
    },
    host,
  );
}

export interface ClientResult {
  data: Buffer;
  /** The error code the client saw, if any (ECONNRESET for a reset). */
  errorCode?: string;
}

/** Resolves at close with all data and the error seen; `endOnEnd` answers a FIN with a FIN. */
export function collect(socket: net.Socket, endOnEnd = true): Promise<ClientResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let errorCode: string | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (errorCode = error.code));
    if (endOnEnd) socket.on('end', () => socket.end());
    socket.on('close', () => resolve({ data: Buffer.concat(chunks), errorCode }));
  });
}

export function connectClient(port: number, host = LOOPBACK): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * A client that connects and reads nothing (paused) until the test resumes it, for back-pressure
 * toward the client; destroyed when the test ends.
 */
export function connectPausedClient(t: TestContext, port: number, host = LOOPBACK): net.Socket {
  const client = net.connect({ host, port });
  client.on('error', () => undefined);
  client.pause();
  t.after(() => client.destroy());
  return client;
}

/** Connects, sends `payload` (then FIN unless `keepOpen`), and collects everything until close. */
export function exchange(
  port: number,
  payload: string | Buffer = '',
  options: { host?: string; localAddress?: string; keepOpen?: boolean } = {},
): Promise<ClientResult> {
  const socket = net.connect({
    host: options.host ?? LOOPBACK,
    port,
    localAddress: options.localAddress,
    allowHalfOpen: true,
  });
  if (payload.length > 0) socket.write(payload);
  if (!options.keepOpen) socket.end();
  return collect(socket);
}

/**
 * A loopback port nobody listens on: connecting to it is refused at once. It is taken from below
 * the kernel's ephemeral range, where a port released by a test could otherwise be handed out
 * again at once: to another test's listener (then the connect succeeds), or as the source port
 * of the very connect that should be refused (a TCP self-connect, which also succeeds).
 */
export async function refusedPort(host = LOOPBACK): Promise<number> {
  const lowestEphemeral = lowestEphemeralPort();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10000 + Math.floor(Math.random() * (lowestEphemeral - 10000));
    const server = await startTcpServer(() => undefined, host, port).catch(() => undefined);
    if (!server) continue; // in use: try another
    await server.close();
    return port;
  }
  throw new Error(`no free port between 10000 and ${lowestEphemeral} on ${host}`);
}

/** The lowest port the kernel hands out for connects and binds to port 0 (ip_local_port_range). */
function lowestEphemeralPort(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    if (low > 10000) return low;
  } catch {
    // Not Linux, or /proc is hidden: Linux's default range starts at 32768.
  }
  return 32768;
}

/** A loopback port whose connects never complete; `close()` releases it. */
export interface Blackhole {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A loopback port whose SYNs go unanswered, for connect timeouts without leaving loopback: a
 * listener with backlog 1 in a worker thread whose event loop is blocked in Atomics.wait, so it
 * never accepts. Once its accept queue holds two handshaken connections, Linux drops further
 * SYNs (accept queue overflow), and a connect just hangs. Shared with libs/proxy's and test/'s
 * specs through `@strait/fastpath/testing`.
 */
export async function startBlackhole(): Promise<Blackhole> {
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
  const fillers: net.Socket[] = [];
  for (let index = 0; index < 2; index++) {
    const filler = net.connect(port, LOOPBACK);
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
