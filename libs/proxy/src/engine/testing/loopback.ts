/**
 * Test fixtures for the engine specs: real sockets on loopback only, ephemeral ports, deadlines
 * instead of sleeps, and everything closable. Not exported from the package.
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import {
  collect,
  LOOPBACK,
  startTcpServer,
  withDeadline,
  type ClientResult,
  type TestServer,
} from '@strait/fastpath/testing';
import type {
  BoundListener,
  ListenerSpec,
  ProxyConfig,
  StreamRouteSpec,
  UpstreamNodeSpec,
  UpstreamSpec,
} from '../../config';
import type { ConnectionSample, ConnectionSummary } from '../connection-events';
import {
  createProxyEngine,
  type CreateProxyEngineOptions,
  type ProxyEngine,
} from '../proxy-engine';

/**
 * The socket fixtures the engine specs share with libs/fastpath's specs, one implementation each
 * in its test-only subpath: deadlines, plain TCP servers and clients, a refused port, and a
 * blackholed one (SYNs unanswered, for connect timeouts: a listener with a full accept queue).
 */
export {
  collect,
  connectPausedClient,
  exchange,
  LOOPBACK,
  refusedPort,
  startBlackhole,
  startTcpServer,
  waitFor,
  waitForStall,
  withDeadline,
  type Blackhole,
  type ClientResult,
  type TestServer,
} from '@strait/fastpath/testing';

/**
 * Writes `tag\n` on connect, then echoes; ends its side when the client ends. The tag tells the
 * test which backend it reached.
 */
export function startTaggedEchoServer(tag: string, host = LOOPBACK): Promise<TestServer> {
  return startTcpServer((socket) => {
    socket.write(`${tag}\n`);
    socket.pipe(socket);
  }, host);
}

/**
 * An upstream that sends `farewell` and its FIN at once, then keeps reading (a half-close):
 * `heard()` is what it received since, `ended` resolves when the client's FIN arrives.
 */
export async function startHalfClosingUpstream(
  farewell: string,
  host = LOOPBACK,
): Promise<TestServer & { heard: () => string; ended: Promise<void> }> {
  let heard = '';
  let sawEnd!: () => void;
  const ended = new Promise<void>((resolve) => (sawEnd = resolve));
  const server = await startTcpServer((socket) => {
    socket.on('data', (chunk: Buffer) => (heard += chunk.toString()));
    socket.on('end', () => sawEnd());
    socket.end(farewell);
  }, host);
  return Object.assign(server, { heard: () => heard, ended });
}

/** A connected client plus a reader of what arrived so far. */
export async function openClient(
  port: number,
  host = LOOPBACK,
): Promise<{ socket: net.Socket; received: () => string; result: Promise<ClientResult> }> {
  const socket = net.connect({ host, port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  // The test decides when to end its side.
  const result = collect(socket, false);
  await withDeadline(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }),
    2000,
    'client connect',
  );
  return { socket, received: () => Buffer.concat(chunks).toString(), result };
}

export function node(port: number, host = LOOPBACK, priority = 0, weight = 1): UpstreamNodeSpec {
  return { host, port, weight, priority };
}

export function upstream(
  key: string,
  nodes: UpstreamNodeSpec[],
  extra: Partial<UpstreamSpec> = {},
): UpstreamSpec {
  return {
    key,
    version: '1',
    type: 'roundrobin',
    hashOn: 'vars',
    scheme: 'tcp',
    nodes,
    ...extra,
  };
}

export function config(...routes: StreamRouteSpec[]): ProxyConfig {
  return { routes, certificates: [] };
}

/** Records closed events and lets a test await the next ones. */
export class ClosedEvents {
  readonly events: ConnectionSummary[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(engine: ProxyEngine) {
    engine.on('connection:closed', (event) => {
      this.events.push(event);
      this.waiters = this.waiters.filter((waiter) => {
        if (this.events.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    });
  }

  /** Resolves with the `count`-th event (1-based) once it has arrived. */
  async nth(count: number, ms = 3000): Promise<ConnectionSummary> {
    if (this.events.length < count) {
      await withDeadline(
        new Promise<void>((resolve) => this.waiters.push({ count, resolve })),
        ms,
        `closed event #${count}`,
      );
    }
    return this.events[count - 1];
  }
}

export function openFileDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

export interface UdpServer {
  readonly port: number;
  readonly socket: dgram.Socket;
  /** Source ports of the datagrams received, in order. */
  readonly peers: number[];
  close(): Promise<void>;
}

/** Answers every datagram with `replies` datagrams `tag:<i>:<payload>`. */
export async function startUdpServer(
  tag: string,
  replies = 1,
  host = LOOPBACK,
): Promise<UdpServer> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const peers: number[] = [];
  socket.on('message', (message, remote) => {
    peers.push(remote.port);
    for (let index = 0; index < replies; index++) {
      socket.send(`${tag}:${index}:${message.toString()}`, remote.port, remote.address);
    }
  });
  await new Promise<void>((resolve) => socket.bind({ address: host, port: 0 }, resolve));
  return {
    port: socket.address().port,
    socket,
    peers,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A UDP client that records the datagrams it receives. */
export async function startUdpClient(host = LOOPBACK): Promise<{
  socket: dgram.Socket;
  received: string[];
  send(port: number, text: string, to?: string): void;
  close(): Promise<void>;
}> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const received: string[] = [];
  socket.on('message', (message) => received.push(message.toString()));
  await new Promise<void>((resolve) => socket.bind({ address: host, port: 0 }, resolve));
  return {
    socket,
    received,
    send: (port, text, to = host) => socket.send(text, port, to),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A running engine closed (forcibly) when the test ends, with its closed events recorded. */
export async function startEngine(
  t: TestContext,
  listeners: ListenerSpec[] = [{ protocol: 'tcp', host: LOOPBACK, port: 0 }],
  options: CreateProxyEngineOptions = {},
): Promise<{ engine: ProxyEngine; bound: BoundListener[]; closed: ClosedEvents }> {
  const engine = createProxyEngine(options);
  const closed = new ClosedEvents(engine);
  t.after(() => engine.close({ force: true }));
  const bound = await engine.listen(listeners);
  return { engine, bound, closed };
}

/** Starts servers and closes them when the test ends. */
export async function serve<T extends { close(): Promise<void> }>(
  t: TestContext,
  started: Promise<T>,
): Promise<T> {
  const server = await started;
  t.after(() => server.close());
  return server;
}

/**
 * A throwaway self-signed P-256 certificate for `localhost`, made with the openssl CLI at test
 * time; undefined when openssl is not installed (the test then skips).
 */
export function selfSignedCertificate(): { cert: string; key: string } | undefined {
  const directory = mkdtempSync(join(tmpdir(), 'strait-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(directory, 'key.pem'),
        '-out',
        join(directory, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
    return {
      cert: readFileSync(join(directory, 'cert.pem'), 'utf8'),
      key: readFileSync(join(directory, 'key.pem'), 'utf8'),
    };
  } catch {
    return undefined;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** engine.sampleConnections() as a list, checking that every visit gets the same (reused) object. */
export function sampledConnections(engine: ProxyEngine): ConnectionSample[] {
  const copies: ConnectionSample[] = [];
  let reused: object | undefined;
  engine.sampleConnections((bytes) => {
    reused ??= bytes;
    assert.equal(bytes, reused, 'one object for every connection');
    copies.push(sampleOf(bytes));
  });
  return copies;
}

export function sampleOf(row: ConnectionSample): ConnectionSample {
  const { id, listenerId, protocol, routeId, bytesFromClient, bytesToClient } = row;
  return { id, listenerId, protocol, routeId, bytesFromClient, bytesToClient };
}
