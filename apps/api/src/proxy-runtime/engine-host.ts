import {
  createPluginPipeline,
  createProxyEngine,
  type BoundListener,
  type ConnectionContext,
  type ConnectionIdSequence,
  type ListenerSpec,
  type PluginPipeline,
  type ProxyConfig,
  type ProxyEngine,
  type ProxyEngineOptions,
} from '@strait/proxy';
import type { AccessLogConfig, ListenerEntry, StraitConfig } from '../config/strait-config';
import type { PrivateKeyFields } from '../crypto/private-key-fields';
import type { StoreChangeEvent } from '../events/strait-events';
import { EngineObserver } from '../observability/engine-observer';
import { RESOURCE_KINDS, type ResourceKind, type StoredObject } from '../store/resource-kinds';
import { CoalescedReapply } from './coalesced-reapply';
import { MappedObjectCache, mapToProxyConfig } from './proxy-config.mapper';
import { StoreView } from './store-view';

/** Structured log calls, one logger per context; Nest's Logger in the API process, JSON lines in a worker. */
export interface HostLogger {
  log(fields: Record<string, unknown>): void;
  warn(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
  debug(fields: Record<string, unknown>): void;
}

/**
 * The engine options config.yaml sets (engineOptionsOf), plain data so that they reach a
 * data-plane worker unchanged.
 */
export type EngineSettings = Pick<
  ProxyEngineOptions,
  'udpSessionLimit' | 'realIpFrom' | 'handshakeTimeout' | 'sessionTicketSecret'
>;

/** The engine settings of a validated config. */
export function engineOptionsOf(config: StraitConfig): EngineSettings {
  return {
    udpSessionLimit: config.udpSessionLimit,
    realIpFrom: config.realIpFrom,
    handshakeTimeout: config.handshakeTimeoutSeconds,
  };
}

export interface EngineHostOptions {
  engine: EngineSettings;
  fallbackSni?: string;
  accessLog: AccessLogConfig;
  /** Prefix of access-log connection ids. */
  nodeId: string;
  connectionIds?: ConnectionIdSequence;
  /** See EngineObserverOptions. */
  maxStdoutWriteBytes?: number;
  /**
   * Data-plane workers: the listening sockets of native-path TCP listeners, opened once by the API
   * process and received here (see CreateProxyEngineOptions.sharedListenSocket). Listeners bound
   * through node:net are shared through node:cluster instead.
   */
  sharedListenSocket?: (spec: ListenerSpec) => number | undefined;
  /** Data-plane workers with `apisix.enable_reuseport`: each binds its own SO_REUSEPORT socket. */
  reusePort?: boolean;
  /** False: no active health probes here (another worker probes and shares its flips). */
  activeHealthChecks?: boolean;
  privateKeys: PrivateKeyFields;
  logger: (context: string) => HostLogger;
}

/** Every stored table, in the view's order (a worker's initial snapshot). */
export type StoreSnapshot = Record<ResourceKind, StoredObject[]>;

/** The route-match debugger's answer without the route specs (it crosses process boundaries). */
export interface MatchSummary {
  matched: string | null;
  others: { id: string; failed: string }[];
}

/**
 * One engine and everything around it that does not need Nest: the store view it is fed from,
 * the mapping into engine specs (private keys decrypted here), the stream plugins and the
 * traffic/access-log observer. The in-process data plane and each data-plane worker run one.
 */
export class EngineHost {
  readonly engine: ProxyEngine;
  /** The stream plugins; `plugins.stats()` has limit-conn counts and syslog delivery counters. */
  readonly plugins: PluginPipeline;
  readonly observer: EngineObserver;
  private readonly view = new StoreView();
  /** Specs mapped by earlier re-applies: a write remaps only the objects it touched. */
  private readonly mapped = new MappedObjectCache();
  private readonly logger: HostLogger;
  private applied: ProxyConfig = { routes: [], certificates: [] };
  private bound: BoundListener[] = [];
  private readonly coalesced = new CoalescedReapply(
    () => this.reapply(),
    (error) => this.logger.error({ msg: 'proxy config re-apply failed', error: String(error) }),
  );

  constructor(private readonly options: EngineHostOptions) {
    this.logger = options.logger('ProxyRuntime');
    const pluginLogger = options.logger('StreamPlugins');
    this.plugins = createPluginPipeline({
      logger: {
        warn: (msg, fields) => pluginLogger.warn({ msg, ...fields }),
        error: (msg, fields) => pluginLogger.error({ msg, ...fields }),
      },
    });
    this.engine = createProxyEngine({
      ...options.engine,
      prereadPipeline: this.plugins,
      connectionIds: options.connectionIds,
      sharedListenSocket: options.sharedListenSocket,
      reusePort: options.reusePort,
      activeHealthChecks: options.activeHealthChecks,
    });
    this.observer = new EngineObserver(this.engine, {
      accessLog: options.accessLog,
      nodeId: options.nodeId,
      maxStdoutWriteBytes: options.maxStdoutWriteBytes,
    });
    this.observer.start();
  }

  /** The config the engine is running now (private keys included: never serialise it whole). */
  get appliedConfig(): ProxyConfig {
    return this.applied;
  }

  /** The listeners listen() bound, in the order of the entries it was given. */
  get boundListeners(): readonly BoundListener[] {
    return this.bound;
  }

  /** A full table from the store (sorted by key, as APISIX loads etcd). */
  load(kind: ResourceKind, objects: StoredObject[]): void {
    this.view.load(kind, objects);
  }

  /** Every table in the order another view holds it (see StoreView.replace). */
  restore(snapshot: StoreSnapshot): void {
    for (const kind of RESOURCE_KINDS) this.view.replace(kind, snapshot[kind] ?? []);
  }

  applyChange(change: StoreChangeEvent): void {
    this.view.applyChange(change);
  }

  /**
   * reapply() for changes already in the view, shared with the other requests made before it
   * runs (see CoalescedReapply); resolves once the engine runs a config that includes them.
   */
  requestReapply(): Promise<void> {
    return this.coalesced.request();
  }

  /** Maps the view and swaps it into the engine; a config the engine refuses is logged, never fatal. */
  reapply(): void {
    const started = process.hrtime.bigint();
    const config = mapToProxyConfig({
      view: this.view,
      privateKeys: this.options.privateKeys,
      fallbackSni: this.options.fallbackSni,
      cache: this.mapped,
      onSkipped: (kind, id, reason) =>
        this.logger.error({ msg: 'object skipped by the data plane', kind, id, reason }),
    });
    try {
      this.engine.apply(config);
    } catch (error) {
      // The engine keeps its previous snapshot when a config does not compile; stored objects were
      // validated on write, so this means the two validators disagree: loud, but not fatal.
      this.logger.error({
        msg: 'proxy config rejected by the engine; previous config stays in force',
        error: String(error),
      });
      return;
    }
    this.applied = config;
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    this.logger.debug({
      msg: 'proxy config applied',
      routes: config.routes.length,
      mapped: this.mapped.lastMapped,
      elapsedMs,
    });
  }

  /**
   * Opens the listeners (all or none); a bind error names the config key of the entry that could
   * not bind (`apisix.stream_proxy.tcp[1]: cannot listen on tcp ...`).
   */
  async listen(listeners: readonly ListenerEntry[]): Promise<BoundListener[]> {
    try {
      this.bound = await this.engine.listen(listeners);
    } catch (error) {
      throw withConfigKey(error, listeners);
    }
    return this.bound;
  }

  /** Ids of the listeners open now. */
  openListenerIds(): string[] {
    return this.engine.listeners().map((listener) => listener.id);
  }

  explainMatch(context: ConnectionContext): MatchSummary {
    const explanation = this.engine.explainMatch(context);
    return {
      matched: explanation.matched?.id ?? null,
      others: explanation.others.map(({ route, failed }) => ({ id: route.id, failed })),
    };
  }

  /** Stops accepting and lets open connections finish within the timeout, then flushes logs. */
  async drain(timeoutMs: number): Promise<void> {
    await this.engine.close({ drainTimeoutMs: timeoutMs });
    await this.observer.stop();
  }

  async close(): Promise<void> {
    await this.engine.close({ force: true });
    await this.observer.stop();
  }
}

/** Prefixes a bind error with the config key of the listener that could not bind. */
export function withConfigKey(error: unknown, listeners: readonly ListenerEntry[]): unknown {
  const failed = (error as { listener?: { protocol: string; host: string; port: number } })
    .listener;
  const entry =
    failed &&
    listeners.find(
      (listener) =>
        listener.protocol === failed.protocol &&
        listener.host === failed.host &&
        listener.port === failed.port,
    );
  if (!entry || !(error instanceof Error)) return error;
  error.message = `${entry.configKey}: ${error.message}`;
  return error;
}
