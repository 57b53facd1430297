/**
 * A data-plane worker process (`strait.workers` > 1): one ProxyEngine with the stream plugins,
 * fed by the API process over IPC (worker-protocol.ts). No Nest, no TypeORM, no YAML: only the
 * engine, the store view and mapper, and the observer. Started by WorkerPool through node:cluster
 * (SCHED_NONE): every worker accepts on every TCP listener directly. Native-path listeners are
 * SO_REUSEPORT sockets of its own (`apisix.enable_reuseport`) or the API process's sockets received
 * over the channel before `init`; the others are node:cluster's shared handles.
 */
import { FieldEncryption } from '../crypto/field-encryption';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import { JsonLogger } from '../logging/json-logger';
import * as net from 'node:net';
import { EngineHost, type HostLogger } from '../proxy-runtime/engine-host';
import type { ConnectionRow } from './data-plane';
import { sharedSocketKey } from './shared-listen-sockets';
import {
  connectionIdsFor,
  type PrimaryMessage,
  type WorkerMessage,
  type WorkerQueries,
  type WorkerQueryName,
  type WorkerSettings,
} from './worker-protocol';

/** Writes up to PIPE_BUF are atomic, so access-log lines of several workers never interleave. */
const PIPE_BUF = 4096;

let settings: WorkerSettings | undefined;
/** Listening sockets the API process shares with every worker, by sharedSocketKey, until listen. */
const sharedSockets = new Map<string, net.Socket>();
let host: EngineHost | undefined;
let draining: Promise<void> | undefined;

function send(message: WorkerMessage): void {
  // The channel is gone only when the primary is: cluster then exits this process.
  if (process.connected) process.send?.(message);
}

function loggerFactory(json: JsonLogger, worker: number): (context: string) => HostLogger {
  return (context) => ({
    log: (fields) => json.log({ ...fields, worker }, context),
    warn: (fields) => json.warn({ ...fields, worker }, context),
    error: (fields) => json.error({ ...fields, worker }, context),
    debug: (fields) => json.debug({ ...fields, worker }, context),
  });
}

async function init(message: PrimaryMessage & { type: 'init' }): Promise<void> {
  const received = message.settings;
  settings = received;
  const json = new JsonLogger(received.logLevel);
  const engineHost = new EngineHost({
    engine: received.engine,
    fallbackSni: received.fallbackSni,
    accessLog: received.accessLog,
    nodeId: received.nodeId,
    connectionIds: connectionIdsFor(received.index, received.count, received.generation),
    maxStdoutWriteBytes: PIPE_BUF,
    reusePort: received.reusePort,
    activeHealthChecks: received.activeHealthChecks,
    sharedListenSocket: received.reusePort
      ? undefined
      : (spec) => descriptorOf(sharedSockets.get(sharedSocketKey(spec))),
    privateKeys: new PrivateKeyFields(new FieldEncryption(received.keyring)),
    logger: loggerFactory(json, received.index),
  });
  host = engineHost;
  engineHost.engine.on('health:changed', (event) => send({ type: 'health', event }));
  engineHost.engine.on('listener:error', (event) =>
    send({
      type: 'listener-error',
      listenerId: event.listenerId,
      error: { message: event.error.message, code: (event.error as NodeJS.ErrnoException).code },
    }),
  );
  engineHost.restore(message.snapshot);
  engineHost.reapply();
  try {
    const listeners = await engineHost.listen(received.listeners);
    send({ type: 'ready', listeners });
  } catch (error) {
    const failed = error as NodeJS.ErrnoException;
    send({
      type: 'failed',
      error: { message: failed.message ?? String(error), code: failed.code },
    });
  } finally {
    // The engine polls its own copies now; the API process keeps the sockets open.
    for (const socket of sharedSockets.values()) socket.destroy();
    sharedSockets.clear();
  }
}

/** The libuv handle under a net.Socket (not public API, stable since Node 0.x). */
type SocketHandle = { fd?: number; readStop?: () => number } | undefined;

function handleOf(socket: net.Socket | undefined): SocketHandle {
  return (socket as unknown as { _handle?: SocketHandle } | undefined)?._handle;
}

/**
 * A received socket arrives as a net.Socket that has asked to read. For a listening socket that
 * read would fail once a connection is queued, so it is stopped at once, in the turn the handle
 * arrived in, before the event loop polls it. An error anyway only closes this copy: listen then
 * fails and the API process restarts the worker.
 */
function keepSharedSocket(key: string, socket: net.Socket): void {
  handleOf(socket)?.readStop?.();
  socket.on('error', () => sharedSockets.delete(key));
  sharedSockets.set(key, socket);
}

/** The descriptor the addon dups to poll the same socket (Linux). */
function descriptorOf(socket: net.Socket | undefined): number | undefined {
  const fd = handleOf(socket)?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

const queries: {
  [Name in WorkerQueryName]: (
    engineHost: EngineHost,
    args: WorkerQueries[Name]['args'],
  ) => WorkerQueries[Name]['result'];
} = {
  listeners: (engineHost) => engineHost.openListenerIds(),
  connections: (engineHost) =>
    engineHost.engine
      .connections()
      .map(
        ({
          bufferedToClient: _toClient,
          bufferedToUpstream: _toUpstream,
          ...row
        }): ConnectionRow => ({
          ...row,
          worker: settings?.index ?? 0,
        }),
      ),
  connectionCount: (engineHost) => engineHost.engine.connectionCount,
  closeConnection: (engineHost, id) => engineHost.engine.closeConnection(id),
  closeConnectionsToNode: (engineHost, node) => engineHost.engine.closeConnectionsToNode(node),
  explainMatch: (engineHost, context) => engineHost.explainMatch(context),
  health: (engineHost) => engineHost.engine.health(),
  upstreamHealth: (engineHost, key) => engineHost.engine.health(key) ?? null,
  handshakeStats: (engineHost) => engineHost.engine.handshakeStats(),
  pluginStats: (engineHost) => engineHost.plugins.stats(),
  traffic: (engineHost, seconds) => engineHost.observer.trafficReport(seconds),
  metrics: (engineHost) => engineHost.observer.metricsReport(),
};

function answer(id: number, op: WorkerQueryName, args: unknown): void {
  try {
    if (!host) throw new Error('worker not initialised');
    const run = queries[op] as (engineHost: EngineHost, value: unknown) => unknown;
    send({ type: 'reply', id, ok: true, value: run(host, args) });
  } catch (error) {
    send({ type: 'reply', id, ok: false, error: String(error) });
  }
}

/** Stops accepting, lets connections finish within the timeout, flushes the access log, exits. */
function drain(timeoutMs: number): Promise<void> {
  draining ??= (async () => {
    try {
      await host?.drain(timeoutMs);
    } finally {
      process.exit(0);
    }
  })();
  return draining;
}

process.on('message', (message: PrimaryMessage, handle?: unknown) => {
  switch (message.type) {
    case 'listen-socket':
      if (handle instanceof net.Socket) keepSharedSocket(message.key, handle);
      break;
    case 'init':
      void init(message);
      break;
    case 'changes': {
      if (!host) {
        send({ type: 'applied', seq: message.seq });
        break;
      }
      for (const change of message.changes) host.applyChange(change);
      // Acknowledged once in force; messages that arrive meanwhile share the re-apply.
      const seq = message.seq;
      void host.requestReapply().then(() => send({ type: 'applied', seq }));
      break;
    }
    case 'query':
      answer(message.id, message.op, message.args);
      break;
    case 'drain':
      void drain(message.timeoutMs);
      break;
    case 'health':
      host?.engine.applyHealthChange(message.event);
      break;
  }
});

// Signals sent to the whole process group (Ctrl-C) or to this pid: drain like the primary would.
// The primary restarts a worker that exits while it is not stopping itself.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    send({ type: 'signalled', signal });
    void drain((settings?.drainTimeoutSeconds ?? 10) * 1000);
  });
}

if (!process.send) {
  process.stderr.write(
    'strait: the data-plane worker is started by the API process (strait.workers)\n',
  );
  process.exit(2);
}
