import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  formatHostPort,
  type BoundListener,
  type ConnectionContext,
  type HandshakeStats,
  type HealthChangedEvent,
  type PluginPipelineStats,
  type ProxyConfig,
  type UpstreamHealth,
} from '@strait/proxy';
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { AdminError } from '../common/admin-error';
import type { ListenerEntry, StraitConfig } from '../config/strait-config';
import type { PrivateKeyFields } from '../crypto/private-key-fields';
import type { EventBus } from '../events/event-bus';
import { storeEventName, type StoreChangeEvent } from '../events/strait-events';
import type {
  MetricsReport,
  RouteCountersReport,
  TrafficReport,
} from '../observability/engine-observer';
import { engineOptionsOf, type StoreSnapshot } from '../proxy-runtime/engine-host';
import { MappedObjectCache, mapToProxyConfig } from '../proxy-runtime/proxy-config.mapper';
import { StoreView } from '../proxy-runtime/store-view';
import { RESOURCE_KINDS } from '../store/resource-kinds';
import type { ResourceStore } from '../store/resource-store';
import {
  DataPlane,
  type ConnectionRow,
  type DataPlaneEvents,
  type ListenerStatus,
  type MatchSummary,
  type WorkerState,
  type WorkerStatus,
} from './data-plane';
import { listenerStatusRows, STORE_ACTIONS } from './listener-status';
import { SharedListenSockets } from './shared-listen-sockets';
import {
  mergeHandshakeStats,
  mergeHealth,
  mergeMetrics,
  mergePluginStats,
  mergeRouteCounters,
  mergeTraffic,
  mergeUpstreamHealth,
} from './merge';
import {
  workerOfConnection,
  type PrimaryMessage,
  type WorkerMessage,
  type WorkerQueries,
  type WorkerQueryName,
  type WorkerSettings,
} from './worker-protocol';

export const WORKER_ENTRY = join(__dirname, 'worker-main.js');

export interface WorkerPoolTimings {
  /** A write is answered without a worker that has not applied it by then (logged as an error). */
  ackTimeoutMs: number;
  /** A query a worker does not answer in time is left out of the merged answer. */
  queryTimeoutMs: number;
  /** Startup fails when a worker is not listening by then. */
  startTimeoutMs: number;
  /** First restart delay after a crash; doubles per crash in a row, up to maxRestartDelayMs. */
  restartDelayMs: number;
  maxRestartDelayMs: number;
  /** A worker that ran this long before exiting restarts after restartDelayMs again. */
  stableAfterMs: number;
  /** Extra time, beyond the drain timeout, workers get to exit before they are killed. */
  exitGraceMs: number;
}

export const DEFAULT_TIMINGS: WorkerPoolTimings = {
  ackTimeoutMs: 2000,
  queryTimeoutMs: 2000,
  startTimeoutMs: 30_000,
  restartDelayMs: 100,
  maxRestartDelayMs: 10_000,
  stableAfterMs: 10_000,
  exitGraceMs: 5000,
};

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

type StartOutcome =
  { ok: true } | { ok: false; error: Error & { code?: string }; configIndex: number };

interface PendingQuery {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** One worker position: a process while it runs, restarted into the same slot. */
interface Slot {
  readonly index: number;
  /** Indexes into config.listeners of the entries this worker binds. */
  readonly configIndexes: number[];
  worker?: Worker;
  pid: number | null;
  state: WorkerState;
  /** Forks so far (the connection-id block of the next one). */
  generation: number;
  restarts: number;
  crashesInARow: number;
  readySince: number | null;
  forkedAt: number;
  /** Route counters of its last traffic or metrics answer, kept when it exits (see retired). */
  lastRoutes?: RouteCountersReport[];
  lastAccessLogDropped?: number;
  /** The signal the process got directly, if any (it then drains and exits 0). */
  signalled?: string;
  /** What the worker reported bound, aligned with configIndexes. */
  bound: BoundListener[];
  started?: Deferred<StartOutcome>;
  exited?: Deferred<void>;
  restartTimer?: NodeJS.Timeout;
  readonly acks: Map<number, () => void>;
  readonly queries: Map<number, PendingQuery>;
}

/**
 * `strait.workers` > 1: the data plane runs in that many worker processes (worker-main.ts) forked
 * through node:cluster with SCHED_NONE. Every worker accepts on every TCP listener directly
 * (nothing is routed through this process). Native-path listeners are, with
 * `apisix.enable_reuseport` (APISIX's default), one SO_REUSEPORT socket per worker, the kernel
 * spreading connections by a hash; without it, one socket opened here and sent to each worker
 * (shared-listen-sockets.ts), each connection waking one waiting worker. The other TCP listeners
 * are node:cluster's shared handles.
 * UDP listeners are bound in exactly one worker each (listener i in worker i mod N), so a client's
 * session always stays in one worker.
 *
 * Config: each worker gets the stored objects in this process's view order at start, then every
 * committed store change from the EventBus, batched per tick; the bus handler returns a promise
 * that settles when every worker acknowledged, and the store answers the write only then (bounded
 * by ackTimeoutMs). A worker that exits is restarted with backoff and gets the full snapshot.
 */
export class WorkerPool extends DataPlane implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly mode = 'workers' as const;
  private readonly logger = new Logger('DataPlane');
  private readonly view = new StoreView();
  private readonly mapped = new MappedObjectCache();
  private mappedConfig?: ProxyConfig;
  /** See ProxyEngineOptions.sessionTicketSecret: made once, given to every worker. */
  private readonly sessionTicketSecret = randomBytes(32).toString('base64');
  private readonly slots: Slot[];
  private readonly listeners: { [Name in keyof DataPlaneEvents]: DataPlaneEvents[Name][] } = {
    healthChanged: [],
    listenerError: [],
  };
  private unsubscribers: (() => void)[] = [];
  private batch?: { changes: StoreChangeEvent[]; done: Deferred<void> };
  private seq = 0;
  private queryId = 0;
  private started = false;
  private stopping = false;
  private shared?: SharedListenSockets;
  private draining?: Promise<void>;
  /**
   * Counters of workers that exited, as last reported: added to the live workers' sums so the
   * totals (Prometheus counters) do not go back when a worker is restarted. What a worker counted
   * after its last report is lost with it.
   */
  private retired: { routes: RouteCountersReport[]; accessLogDropped: number } = {
    routes: [],
    accessLogDropped: 0,
  };

  constructor(
    private readonly config: StraitConfig,
    private readonly store: ResourceStore,
    private readonly bus: EventBus,
    private readonly privateKeys: PrivateKeyFields,
    private readonly nodeId: string,
    private readonly timings: WorkerPoolTimings = DEFAULT_TIMINGS,
    private readonly entry = WORKER_ENTRY,
  ) {
    super();
    this.slots = assignListeners(config.listeners, config.workers).map((configIndexes, index) => ({
      index,
      configIndexes,
      pid: null,
      state: 'stopped',
      generation: 0,
      restarts: 0,
      crashesInARow: 0,
      readySince: null,
      forkedAt: 0,
      bound: [],
      acks: new Map(),
      queries: new Map(),
    }));
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const kind of RESOURCE_KINDS) {
      for (const action of STORE_ACTIONS) {
        this.unsubscribers.push(
          this.bus.on(storeEventName(kind, action), (change) => this.publish(change)),
        );
      }
    }
    await this.store.read(async (session) => {
      for (const kind of RESOURCE_KINDS) this.view.load(kind, await session.list(kind));
    });
    if (this.config.reusePort) await assertListenersFree(this.config.listeners);
    else this.shared = SharedListenSockets.open(this.config.listeners);
    setUpCluster(this.entry);
    for (const slot of this.slots) this.fork(slot);
    const outcomes = await Promise.all(
      this.slots.map((slot) =>
        settleWithin(
          (slot.started as Deferred<StartOutcome>).promise,
          this.timings.startTimeoutMs,
          (): StartOutcome => ({
            ok: false,
            error: new Error(
              `data-plane worker ${slot.index} did not start within ${this.timings.startTimeoutMs} ms`,
            ),
            configIndex: Number.MAX_SAFE_INTEGER,
          }),
        ),
      ),
    );
    const failures = outcomes.filter((outcome) => !outcome.ok);
    if (failures.length > 0) {
      // The error of the first listener in config order, as the in-process engine would report.
      failures.sort((a, b) => a.configIndex - b.configIndex);
      await this.stopAll(0);
      throw failures[0].error;
    }
    this.started = true;
    for (const [configIndex, id] of this.boundIds().entries()) {
      const entry = this.config.listeners[configIndex];
      this.logger.log({
        msg: 'stream listener open',
        listener: id?.id ?? `${entry.protocol}://${entry.host}:${entry.port}`,
        tls: entry.tls,
        workers: this.slots
          .filter((slot) => slot.configIndexes.includes(configIndex))
          .map((slot) => slot.index),
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    await this.stopAll(0);
  }

  // ---- config fan-out ----------------------------------------------------------------------

  /** The bus handler: applied here at once, sent to the workers at the end of the tick. */
  private publish(change: StoreChangeEvent): Promise<void> {
    this.view.applyChange(change);
    this.mappedConfig = undefined;
    if (!this.batch) {
      const batch = { changes: [] as StoreChangeEvent[], done: deferred<void>() };
      this.batch = batch;
      // Every change of one write is emitted synchronously: one message and one apply for all.
      queueMicrotask(() => this.flush(batch));
    }
    this.batch.changes.push(change);
    return this.batch.done.promise;
  }

  private flush(batch: { changes: StoreChangeEvent[]; done: Deferred<void> }): void {
    this.batch = undefined;
    const seq = ++this.seq;
    const waits: Promise<void>[] = [];
    for (const slot of this.slots) {
      // A slot without a process gets the change with the full snapshot when it starts again.
      const worker = slot.worker;
      if (!worker || slot.state === 'stopping') continue;
      waits.push(this.sendChanges(slot, worker, seq, batch.changes));
    }
    void Promise.all(waits).then(() => batch.done.resolve());
  }

  private sendChanges(
    slot: Slot,
    worker: Worker,
    seq: number,
    changes: StoreChangeEvent[],
  ): Promise<void> {
    return new Promise((resolve) => {
      const started = Date.now();
      const timer = setTimeout(() => {
        slot.acks.delete(seq);
        this.logger.error({
          msg: 'data-plane worker did not acknowledge a config change in time; the write is answered without it',
          worker: slot.index,
          pid: slot.pid,
          seq,
          waitedMs: Date.now() - started,
          changes: changes.map((change) => `${change.kind}/${change.id} ${change.action}`),
        });
        resolve();
      }, this.timings.ackTimeoutMs);
      timer.unref();
      slot.acks.set(seq, () => {
        clearTimeout(timer);
        resolve();
      });
      if (!this.send(worker, { type: 'changes', seq, changes })) slot.acks.get(seq)?.();
    });
  }

  private snapshot(): StoreSnapshot {
    return Object.fromEntries(
      RESOURCE_KINDS.map((kind) => [kind, this.view.list(kind)]),
    ) as StoreSnapshot;
  }

  // ---- worker lifecycle ----------------------------------------------------------------------

  private fork(slot: Slot): void {
    const settings: WorkerSettings = {
      index: slot.index,
      count: this.slots.length,
      generation: slot.generation,
      listeners: slot.configIndexes.map((configIndex) => ({
        ...this.config.listeners[configIndex],
      })),
      reusePort: this.config.reusePort,
      // Worker 0 probes for all; a flip any worker makes reaches the others (shareHealth).
      activeHealthChecks: slot.index === 0,
      // One ticket secret for every worker, restarted ones included: a client resumes its TLS
      // session whichever worker its next connection reaches (nginx workers share the master's).
      engine: { ...engineOptionsOf(this.config), sessionTicketSecret: this.sessionTicketSecret },
      fallbackSni: this.config.fallbackSni,
      accessLog: { ...this.config.accessLog },
      nodeId: this.nodeId,
      logLevel: this.config.logLevel,
      drainTimeoutSeconds: this.config.drainTimeoutSeconds,
      keyring: [...this.privateKeys.keyring],
    };
    slot.generation += 1;
    slot.state = 'starting';
    slot.bound = [];
    slot.readySince = null;
    slot.forkedAt = Date.now();
    slot.signalled = undefined;
    slot.started = deferred();
    slot.exited = deferred();
    const worker = cluster.fork({ STRAIT_WORKER_INDEX: String(slot.index) });
    slot.worker = worker;
    slot.pid = worker.process.pid ?? null;
    worker.on('message', (message: WorkerMessage) => this.onMessage(slot, worker, message));
    worker.on('exit', (code: number | null, signal: string | null) =>
      this.onExit(slot, worker, code, signal),
    );
    // EPIPE and the like on a channel that is closing; the exit handler does the bookkeeping.
    worker.on('error', (error: Error) =>
      this.logger.warn({
        msg: 'data-plane worker channel error',
        worker: slot.index,
        error: String(error),
      }),
    );
    this.shared?.sendTo(worker);
    this.send(worker, { type: 'init', settings, snapshot: this.snapshot() });
  }

  private onMessage(slot: Slot, worker: Worker, message: WorkerMessage): void {
    if (slot.worker !== worker) return;
    switch (message.type) {
      case 'ready': {
        slot.state = 'running';
        slot.readySince = Date.now();
        slot.bound = message.listeners;
        const entry = {
          worker: slot.index,
          pid: slot.pid,
          restarts: slot.restarts,
          readyInMs: slot.readySince - slot.forkedAt,
        };
        if (this.started) {
          this.logger.log({ msg: 'data-plane worker restarted and serving', ...entry });
          void this.syncHealth(slot);
        } else this.logger.debug({ msg: 'data-plane worker ready', ...entry });
        slot.started?.resolve({ ok: true });
        break;
      }
      case 'failed': {
        const error = Object.assign(new Error(message.error.message), { code: message.error.code });
        const configIndex = this.config.listeners.findIndex((entry) =>
          message.error.message.startsWith(`${entry.configKey}: `),
        );
        if (this.started) {
          // A restarted worker that cannot bind (a UDP port taken meanwhile): retried with backoff.
          this.logger.error({
            msg: 'data-plane worker could not open its listeners; restarting it',
            worker: slot.index,
            error: message.error.message,
          });
          worker.process.kill('SIGKILL');
        }
        slot.started?.resolve({
          ok: false,
          error,
          configIndex: configIndex < 0 ? Number.MAX_SAFE_INTEGER - 1 : configIndex,
        });
        break;
      }
      case 'signalled':
        slot.signalled = message.signal;
        break;
      case 'applied':
        slot.acks.get(message.seq)?.();
        slot.acks.delete(message.seq);
        break;
      case 'reply': {
        const pending = slot.queries.get(message.id);
        if (!pending) break;
        slot.queries.delete(message.id);
        clearTimeout(pending.timer);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(new Error(message.error));
        break;
      }
      case 'health':
        this.shareHealth(slot, message.event);
        for (const listener of this.listeners.healthChanged) listener(message.event, slot.index);
        break;
      case 'listener-error':
        for (const listener of this.listeners.listenerError) {
          listener({ listenerId: message.listenerId, error: message.error }, slot.index);
        }
        break;
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    const ranMs = slot.readySince === null ? 0 : Date.now() - slot.readySince;
    slot.worker = undefined;
    slot.pid = null;
    slot.readySince = null;
    // Its pending acknowledgements are moot: a restarted worker starts from the full snapshot.
    for (const ack of [...slot.acks.values()]) ack();
    slot.acks.clear();
    for (const pending of slot.queries.values()) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`data-plane worker ${slot.index} exited`));
    }
    slot.queries.clear();
    slot.started?.resolve({
      ok: false,
      error: new Error(
        `data-plane worker ${slot.index} exited during startup (${signal ?? `code ${code}`})`,
      ),
      configIndex: Number.MAX_SAFE_INTEGER,
    });
    slot.exited?.resolve();
    if (slot.lastRoutes) {
      const closed = slot.lastRoutes.map((route) => ({ ...route, active: 0 }));
      this.retired.routes = mergeRouteCounters([this.retired.routes, closed]);
    }
    this.retired.accessLogDropped += slot.lastAccessLogDropped ?? 0;
    slot.lastRoutes = undefined;
    slot.lastAccessLogDropped = undefined;
    if (this.stopping || !this.started) {
      slot.state = 'stopped';
      return;
    }
    slot.state = 'restarting';
    slot.crashesInARow = ranMs >= this.timings.stableAfterMs ? 1 : slot.crashesInARow + 1;
    const delayMs = Math.min(
      this.timings.maxRestartDelayMs,
      this.timings.restartDelayMs * 2 ** (slot.crashesInARow - 1),
    );
    const entry = {
      worker: slot.index,
      pid: worker.process.pid,
      code,
      signal: signal ?? slot.signalled ?? null,
      restartInMs: delayMs,
    };
    // A worker sent SIGTERM/SIGINT on its own (or with its process group, before this process
    // handled its own copy) drained and exited on purpose: worth a warning, not an error.
    if (slot.signalled)
      this.logger.warn({ msg: 'data-plane worker stopped on a signal; restarting it', ...entry });
    else
      this.logger.error({ msg: 'data-plane worker exited unexpectedly; restarting it', ...entry });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.stopping) return;
      slot.restarts += 1;
      this.fork(slot);
    }, delayMs);
  }

  /** Asks every worker to drain (0: close everything now) and waits for them to exit. */
  private async stopAll(drainTimeoutMs: number): Promise<void> {
    this.stopping = true;
    // The workers' copies keep the sockets open until each has stopped accepting.
    this.shared?.close();
    const exits: Promise<void>[] = [];
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      if (!slot.worker) {
        slot.state = 'stopped';
        continue;
      }
      slot.state = 'stopping';
      this.send(slot.worker, { type: 'drain', timeoutMs: drainTimeoutMs });
      exits.push((slot.exited as Deferred<void>).promise);
    }
    const allExited = Promise.all(exits).then(() => true);
    if (await settleWithin(allExited, drainTimeoutMs + this.timings.exitGraceMs, () => false)) {
      return;
    }
    for (const slot of this.slots) {
      if (!slot.worker) continue;
      this.logger.error({
        msg: 'data-plane worker did not exit after draining; killing it',
        worker: slot.index,
        pid: slot.pid,
      });
      slot.worker.process.kill('SIGKILL');
    }
    await settleWithin(allExited, this.timings.exitGraceMs, () => false);
  }

  private send(worker: Worker, message: PrimaryMessage): boolean {
    if (!worker.isConnected()) return false;
    try {
      worker.send(message);
      return true;
    } catch {
      return false;
    }
  }

  // ---- shared health state -------------------------------------------------------------------

  /** A node flip of one worker's checker (worker 0's probes, anyone's passive reports) for all. */
  private shareHealth(from: Slot, event: HealthChangedEvent): void {
    for (const slot of this.slots) {
      if (slot === from || !slot.worker || slot.state === 'stopping') continue;
      this.send(slot.worker, { type: 'health', event });
    }
  }

  /**
   * A restarted worker's checkers start with every node healthy: it takes over the nodes another
   * worker has down. A restarted prober then probes them at the unhealthy interval and shares the
   * recovery; a restarted follower just knows what the prober found.
   */
  private async syncHealth(slot: Slot): Promise<void> {
    const peer = this.slots.find((other) => other !== slot && other.state === 'running');
    if (!peer) return;
    try {
      for (const upstream of await this.query(peer, 'health', null)) {
        for (const node of upstream.nodes) {
          if (node.healthy || !slot.worker || slot.state !== 'running') continue;
          this.send(slot.worker, {
            type: 'health',
            event: {
              upstreamKey: upstream.upstreamKey,
              node: node.node,
              healthy: false,
              source: 'active',
              reason: node.lastError ?? `unhealthy in data-plane worker ${peer.index}`,
              at: node.changedAt ?? Date.now(),
            },
          });
        }
      }
    } catch (error) {
      this.logger.warn({
        msg: 'a restarted data-plane worker could not take over the node health of the others',
        worker: slot.index,
        error: String(error),
      });
    }
  }

  // ---- queries -------------------------------------------------------------------------------

  private query<Name extends WorkerQueryName>(
    slot: Slot,
    op: Name,
    args: WorkerQueries[Name]['args'],
  ): Promise<WorkerQueries[Name]['result']> {
    const worker = slot.worker;
    if (!worker || slot.state !== 'running') {
      return Promise.reject(new Error(`data-plane worker ${slot.index} is not running`));
    }
    const id = ++this.queryId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.queries.delete(id);
        reject(new Error(`data-plane worker ${slot.index} did not answer ${op} in time`));
      }, this.timings.queryTimeoutMs);
      slot.queries.set(id, {
        resolve: resolve as (value: unknown) => void,
        reject,
        timer,
      });
      if (!this.send(worker, { type: 'query', id, op, args })) {
        clearTimeout(timer);
        slot.queries.delete(id);
        reject(new Error(`data-plane worker ${slot.index} is not reachable`));
      }
    });
  }

  /** The answers of every running worker; one that fails or is late is left out (and logged). */
  private async queryAll<Name extends WorkerQueryName>(
    op: Name,
    args: WorkerQueries[Name]['args'],
  ): Promise<{ slot: Slot; value: WorkerQueries[Name]['result'] }[]> {
    const running = this.slots.filter((slot) => slot.state === 'running');
    const settled = await Promise.allSettled(running.map((slot) => this.query(slot, op, args)));
    const answers: { slot: Slot; value: WorkerQueries[Name]['result'] }[] = [];
    settled.forEach((result, position) => {
      if (result.status === 'fulfilled')
        answers.push({ slot: running[position], value: result.value });
      else {
        this.logger.warn({
          msg: 'data-plane worker left out of an answer',
          worker: running[position].index,
          query: op,
          error: String(result.reason),
        });
      }
    });
    return answers;
  }

  private async values<Name extends WorkerQueryName>(
    op: Name,
    args: WorkerQueries[Name]['args'],
  ): Promise<WorkerQueries[Name]['result'][]> {
    return (await this.queryAll(op, args)).map((answer) => answer.value);
  }

  /** Bound listener ids by config index, from the workers that bound them. */
  private boundIds(): ({ id: string } | undefined)[] {
    const ids: ({ id: string } | undefined)[] = this.config.listeners.map(() => undefined);
    for (const slot of this.slots) {
      slot.bound.forEach((listener, position) => {
        ids[slot.configIndexes[position]] ??= listener;
      });
    }
    return ids;
  }

  appliedConfig(): ProxyConfig {
    // Mapped here on demand (the certificate inventory); skipped objects are the workers' to log.
    this.mappedConfig ??= mapToProxyConfig({
      view: this.view,
      privateKeys: this.privateKeys,
      fallbackSni: this.config.fallbackSni,
      cache: this.mapped,
      onSkipped: () => undefined,
    });
    return this.mappedConfig;
  }

  async listenerStatus(): Promise<ListenerStatus[]> {
    const open = new Set((await this.values('listeners', null)).flat());
    return listenerStatusRows(this.config.listeners, this.boundIds(), open);
  }

  async connections(): Promise<ConnectionRow[]> {
    return (await this.values('connections', null)).flat();
  }

  async connectionCount(): Promise<number> {
    return (await this.values('connectionCount', null)).reduce((total, count) => total + count, 0);
  }

  async closeConnection(id: number): Promise<boolean> {
    const slot = this.slots[workerOfConnection(id, this.slots.length)];
    if (!slot || slot.state !== 'running') return false;
    try {
      return await this.query(slot, 'closeConnection', id);
    } catch {
      return false;
    }
  }

  async closeConnectionsToNode(node: string): Promise<number> {
    return (await this.values('closeConnectionsToNode', node)).reduce(
      (total, count) => total + count,
      0,
    );
  }

  async explainMatch(context: ConnectionContext): Promise<MatchSummary> {
    // Every worker runs the same config (writes wait for all of them), so one explains for all.
    for (const slot of this.slots) {
      if (slot.state !== 'running') continue;
      try {
        return await this.query(slot, 'explainMatch', context);
      } catch {
        // try the next worker
      }
    }
    throw new AdminError(503, { error_msg: 'no data-plane worker is running' });
  }

  async health(): Promise<UpstreamHealth[]> {
    return mergeHealth(await this.values('health', null));
  }

  async upstreamHealth(upstreamKey: string): Promise<UpstreamHealth | undefined> {
    const reports = (await this.values('upstreamHealth', upstreamKey)).filter(
      (report): report is UpstreamHealth => report !== null,
    );
    return reports.length === 0 ? undefined : mergeUpstreamHealth(reports);
  }

  async handshakeStats(): Promise<HandshakeStats> {
    return mergeHandshakeStats(await this.values('handshakeStats', null));
  }

  async pluginStats(): Promise<PluginPipelineStats> {
    return mergePluginStats(await this.values('pluginStats', null));
  }

  async traffic(seconds: number): Promise<TrafficReport> {
    const answers = await this.queryAll('traffic', seconds);
    for (const { slot, value } of answers) slot.lastRoutes = value.routes;
    const merged = mergeTraffic(answers.map((answer) => answer.value));
    return { ...merged, routes: mergeRouteCounters([merged.routes, this.retired.routes]) };
  }

  async metrics(): Promise<MetricsReport> {
    const answers = await this.queryAll('metrics', null);
    for (const { slot, value } of answers) {
      slot.lastRoutes = value.routes;
      slot.lastAccessLogDropped = value.accessLogDropped;
    }
    const merged = mergeMetrics(answers.map((answer) => answer.value));
    return {
      ...merged,
      routes: mergeRouteCounters([merged.routes, this.retired.routes]),
      accessLogDropped: merged.accessLogDropped + this.retired.accessLogDropped,
    };
  }

  workers(): WorkerStatus[] {
    return this.slots.map((slot) => ({
      index: slot.index,
      pid: slot.pid,
      state: slot.state,
      restarts: slot.restarts,
      readySince: slot.readySince,
    }));
  }

  on<Name extends keyof DataPlaneEvents>(name: Name, listener: DataPlaneEvents[Name]): void {
    this.listeners[name].push(listener);
  }

  drain(timeoutMs = this.config.drainTimeoutSeconds * 1000): Promise<void> {
    this.draining ??= this.stopAll(timeoutMs);
    return this.draining;
  }
}

/**
 * node:cluster in this process, once: SCHED_NONE (workers accept on the shared socket themselves;
 * round-robin would pass every connection through this process), the worker entry, and this
 * process's Node flags without test-runner ones.
 */
function setUpCluster(entry: string): void {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({
    exec: entry,
    args: [],
    execArgv: process.execArgv.filter(
      (flag) => !flag.startsWith('--test') && !flag.startsWith('--experimental-test'),
    ),
    silent: false,
  });
}

/**
 * Binds every TCP listener once here, exclusively, and closes it again before the workers start.
 * Workers whose engine binds its own sockets with SO_REUSEPORT (the native fast path) would
 * otherwise share a port with another process that also uses SO_REUSEPORT (a second Strait on the
 * same ports) instead of failing; this turns any listener already there into the usual ERR_BIND,
 * named by its config key, before anything serves.
 */
export async function assertListenersFree(listeners: readonly ListenerEntry[]): Promise<void> {
  for (const entry of listeners) {
    if (entry.protocol !== 'tcp') continue;
    const server = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(
          { host: entry.host, port: entry.port, ipv6Only: net.isIPv6(entry.host), exclusive: true },
          () => resolve(),
        );
      });
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).errno;
      const reason =
        (errno === undefined ? undefined : getSystemErrorMap().get(errno)?.[1]) ??
        (error as NodeJS.ErrnoException).code ??
        String(error);
      throw Object.assign(
        new Error(
          `${entry.configKey}: cannot listen on tcp ${formatHostPort(entry.host, entry.port)}: ${reason}`,
          { cause: error },
        ),
        { code: 'ERR_BIND' },
      );
    }
    await new Promise((resolve) => server.close(resolve));
  }
}

/** `promise`'s value, or `fallback()` once `ms` have passed. */
function settleWithin<T>(promise: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback()), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/**
 * Which listeners each worker binds, as indexes into `listeners`: every TCP listener in every
 * worker (they share the socket), each UDP listener in exactly one, spread in turn (UDP listener
 * i in worker i mod count), so all datagrams of a client session reach the same worker.
 */
export function assignListeners(listeners: readonly ListenerEntry[], count: number): number[][] {
  const assigned: number[][] = Array.from({ length: count }, () => []);
  let udpSeen = 0;
  listeners.forEach((listener, configIndex) => {
    if (listener.protocol === 'udp') assigned[udpSeen++ % count].push(configIndex);
    else for (const list of assigned) list.push(configIndex);
  });
  return assigned;
}
