import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  createPluginPipeline,
  createProxyEngine,
  type BoundListener,
  type PluginPipeline,
  type ProxyConfig,
  type ProxyEngine,
} from '@strait/proxy';
import { STRAIT_CONFIG } from '../common/strait-config.token';
import type { StraitConfig } from '../config/strait-config';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import { EventBus } from '../events/event-bus';
import { storeEventName, type StoreAction } from '../events/strait-events';
import { RESOURCE_KINDS } from '../store/resource-kind';
import { ResourceStore } from '../store/resource-store';
import { MappedObjectCache, mapToProxyConfig } from './proxy-config.mapper';
import { StoreView } from './store-view';

const STORE_ACTIONS: readonly StoreAction[] = ['created', 'updated', 'deleted'];

/**
 * The adapter between the control plane and the in-process engine: loads every stored object on
 * start, opens the configured listeners, and re-applies a complete config after each committed
 * change on the event bus; only objects the change touched are mapped again (MappedObjectCache),
 * and the engine keeps what it compiled for the route specs that stayed the same. Changes are
 * applied synchronously inside the bus emit, so an admin write is in force before its HTTP answer
 * leaves.
 */
@Injectable()
export class ProxyRuntimeService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ProxyRuntime');
  private readonly view = new StoreView();
  /** Specs mapped by earlier re-applies: a write remaps only the objects it touched. */
  private readonly mapped = new MappedObjectCache();
  readonly engine: ProxyEngine;
  /** The stream plugins; `plugins.stats()` has limit-conn counts and syslog delivery counters. */
  readonly plugins: PluginPipeline;
  private boundListeners: BoundListener[] = [];
  private applied: ProxyConfig = { routes: [], certificates: [] };
  private unsubscribers: (() => void)[] = [];

  constructor(
    @Inject(STRAIT_CONFIG) private readonly config: StraitConfig,
    private readonly store: ResourceStore,
    private readonly bus: EventBus,
    private readonly privateKeys: PrivateKeyFields,
  ) {
    const pluginLogger = new Logger('StreamPlugins');
    this.plugins = createPluginPipeline({
      logger: {
        warn: (msg, fields) => pluginLogger.warn({ msg, ...fields }),
        error: (msg, fields) => pluginLogger.error({ msg, ...fields }),
      },
    });
    this.engine = createProxyEngine({
      udpSessionLimit: config.udpSessionLimit,
      prereadPipeline: this.plugins,
    });
  }

  /** The config the engine is running now (private keys included: never serialise it whole). */
  get appliedConfig(): ProxyConfig {
    return this.applied;
  }

  /** Every configured listener with the id it was bound under and whether it is open now. */
  listenerStatus(): {
    id: string;
    up: boolean;
    configKey: string;
    protocol: string;
    host: string;
    port: number;
    tls: boolean;
  }[] {
    const open = new Set(this.engine.listeners().map((listener) => listener.id));
    // listen() binds the specs in order, so bound listener i is config listener i.
    return this.config.listeners.map((listener, index) => {
      const id =
        this.boundListeners[index]?.id ??
        `${listener.protocol}://${listener.host}:${listener.port}`;
      return {
        id,
        up: open.has(id),
        configKey: listener.configKey,
        protocol: listener.protocol,
        host: listener.host,
        port: listener.port,
        tls: listener.tls,
      };
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const kind of RESOURCE_KINDS) {
      for (const action of STORE_ACTIONS) {
        this.unsubscribers.push(
          this.bus.on(storeEventName(kind, action), (change) => {
            this.view.applyChange(change);
            this.reapply();
          }),
        );
      }
    }
    await this.store.read(async (session) => {
      for (const kind of RESOURCE_KINDS) this.view.load(kind, await session.list(kind));
    });
    this.reapply();
    try {
      this.boundListeners = await this.engine.listen(this.config.listeners);
    } catch (error) {
      throw withConfigKey(error, this.config.listeners);
    }
    for (const listener of this.boundListeners) {
      this.logger.log({
        msg: 'stream listener open',
        listener: listener.id,
        tls: listener.tls === true,
      });
    }
  }

  /** Stops accepting and lets open connections finish within the drain timeout. */
  async drain(timeoutMs = this.config.drainTimeoutSeconds * 1000): Promise<void> {
    await this.engine.close({ drainTimeoutMs: timeoutMs });
  }

  async onApplicationShutdown(): Promise<void> {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    await this.engine.close({ force: true });
  }

  private reapply(): void {
    const started = process.hrtime.bigint();
    const config = mapToProxyConfig({
      view: this.view,
      privateKeys: this.privateKeys,
      fallbackSni: this.config.fallbackSni,
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
}

/** Prefixes a bind error with the config key of the listener that could not bind. */
function withConfigKey(error: unknown, listeners: StraitConfig['listeners']): unknown {
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
