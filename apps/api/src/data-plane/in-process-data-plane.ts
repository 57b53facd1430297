import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type {
  ConnectionContext,
  HandshakeStats,
  PluginPipelineStats,
  ProxyConfig,
  UpstreamHealth,
} from '@strait/proxy';
import type { StraitConfig } from '../config/strait-config';
import type { PrivateKeyFields } from '../crypto/private-key-fields';
import type { EventBus } from '../events/event-bus';
import { storeEventName } from '../events/strait-events';
import type { MetricsReport, TrafficReport } from '../observability/engine-observer';
import { EngineHost, engineOptionsOf, type HostLogger } from '../proxy-runtime/engine-host';
import { RESOURCE_KINDS } from '../store/resource-kinds';
import type { ResourceStore } from '../store/resource-store';
import {
  DataPlane,
  type ConnectionRow,
  type DataPlaneEvents,
  type ListenerStatus,
  type MatchSummary,
  type WorkerStatus,
} from './data-plane';
import { STORE_ACTIONS, listenerStatusRows } from './listener-status';

/** Nest's Logger behind the host's logger interface, so in-process logs look as they always did. */
export function nestHostLogger(context: string): HostLogger {
  const logger = new Logger(context);
  return {
    log: (fields) => logger.log(fields),
    warn: (fields) => logger.warn(fields),
    error: (fields) => logger.error(fields),
    debug: (fields) => logger.debug(fields),
  };
}

/**
 * `strait.workers: 1`: the engine runs inside the API process. Loads every stored object on
 * start, opens the configured listeners, and re-applies a complete config after each committed
 * change on the event bus; only objects the change touched are mapped again, and the engine keeps
 * what it compiled for the route specs that stayed the same. Changes are applied synchronously
 * inside the bus emit, so an admin write is in force before its HTTP answer leaves.
 */
export class InProcessDataPlane
  extends DataPlane
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  readonly mode = 'in-process' as const;
  readonly host: EngineHost;
  private readonly logger = new Logger('ProxyRuntime');
  private readonly startedAt = Date.now();
  private unsubscribers: (() => void)[] = [];

  constructor(
    private readonly config: StraitConfig,
    private readonly store: ResourceStore,
    private readonly bus: EventBus,
    privateKeys: PrivateKeyFields,
    nodeId: string,
  ) {
    super();
    this.host = new EngineHost({
      engine: engineOptionsOf(config),
      fallbackSni: config.fallbackSni,
      accessLog: config.accessLog,
      nodeId,
      privateKeys,
      logger: nestHostLogger,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const kind of RESOURCE_KINDS) {
      for (const action of STORE_ACTIONS) {
        this.unsubscribers.push(
          // The write is answered once its change is in force (EventBus.emit).
          this.bus.on(storeEventName(kind, action), (change) => {
            this.host.applyChange(change);
            return this.host.requestReapply();
          }),
        );
      }
    }
    await this.store.read(async (session) => {
      for (const kind of RESOURCE_KINDS) this.host.load(kind, await session.list(kind));
    });
    this.host.reapply();
    for (const listener of await this.host.listen(this.config.listeners)) {
      this.logger.log({
        msg: 'stream listener open',
        listener: listener.id,
        tls: listener.tls === true,
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    await this.host.close();
  }

  appliedConfig(): ProxyConfig {
    return this.host.appliedConfig;
  }

  listenerStatus(): Promise<ListenerStatus[]> {
    return Promise.resolve(
      listenerStatusRows(
        this.config.listeners,
        this.host.boundListeners,
        new Set(this.host.openListenerIds()),
      ),
    );
  }

  connections(): Promise<ConnectionRow[]> {
    return Promise.resolve(
      this.host.engine
        .connections()
        .map(({ bufferedToClient: _toClient, bufferedToUpstream: _toUpstream, ...row }) => ({
          ...row,
          worker: 0,
        })),
    );
  }

  connectionCount(): Promise<number> {
    return Promise.resolve(this.host.engine.connectionCount);
  }

  closeConnection(id: number): Promise<boolean> {
    return Promise.resolve(this.host.engine.closeConnection(id));
  }

  closeConnectionsToNode(node: string): Promise<number> {
    return Promise.resolve(this.host.engine.closeConnectionsToNode(node));
  }

  explainMatch(context: ConnectionContext): Promise<MatchSummary> {
    return Promise.resolve(this.host.explainMatch(context));
  }

  health(): Promise<UpstreamHealth[]> {
    return Promise.resolve(this.host.engine.health());
  }

  upstreamHealth(upstreamKey: string): Promise<UpstreamHealth | undefined> {
    return Promise.resolve(this.host.engine.health(upstreamKey));
  }

  handshakeStats(): Promise<HandshakeStats> {
    return Promise.resolve(this.host.engine.handshakeStats());
  }

  pluginStats(): Promise<PluginPipelineStats> {
    return Promise.resolve(this.host.plugins.stats());
  }

  traffic(seconds: number): Promise<TrafficReport> {
    return Promise.resolve(this.host.observer.trafficReport(seconds));
  }

  metrics(): Promise<MetricsReport> {
    return Promise.resolve(this.host.observer.metricsReport());
  }

  workers(): WorkerStatus[] {
    return [
      { index: 0, pid: process.pid, state: 'running', restarts: 0, readySince: this.startedAt },
    ];
  }

  on<Name extends keyof DataPlaneEvents>(name: Name, listener: DataPlaneEvents[Name]): void {
    switch (name) {
      case 'healthChanged': {
        const onHealth = listener as DataPlaneEvents['healthChanged'];
        this.host.engine.on('health:changed', (event) => onHealth(event, undefined));
        break;
      }
      case 'listenerError': {
        const onError = listener as DataPlaneEvents['listenerError'];
        this.host.engine.on('listener:error', (event) =>
          onError(
            {
              listenerId: event.listenerId,
              error: {
                message: event.error.message,
                code: (event.error as NodeJS.ErrnoException).code,
              },
            },
            undefined,
          ),
        );
        break;
      }
    }
  }

  async drain(timeoutMs = this.config.drainTimeoutSeconds * 1000): Promise<void> {
    await this.host.drain(timeoutMs);
  }
}
