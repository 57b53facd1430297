import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { STRAIT_CONFIG } from '../common/strait-config.token';
import type { StraitConfig } from '../config/strait-config';
import { ProxyRuntimeService } from '../proxy-runtime/proxy-runtime.service';
import { AccessLog } from './access-log';
import { renderPrometheusText } from './prometheus-text';
import { TrafficStats } from './traffic-stats';

const TICK_MS = 1000;

/**
 * Everything that watches the data plane: per-route traffic for the API and dashboard, the
 * Prometheus endpoint, and the access log. It only subscribes to engine events and samples the
 * live table once a second; the connection path itself does no logging or formatting.
 */
@Injectable()
export class ObservabilityService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Observability');
  readonly traffic = new TrafficStats();
  readonly accessLog: AccessLog;
  private ticker?: NodeJS.Timeout;
  private metricsServer?: Server;
  private lastProgressAt = Date.now();

  constructor(
    @Inject(STRAIT_CONFIG) private readonly config: StraitConfig,
    private readonly runtime: ProxyRuntimeService,
  ) {
    this.accessLog = new AccessLog(config.accessLog, hostname());
  }

  async onApplicationBootstrap(): Promise<void> {
    const engine = this.runtime.engine;
    engine.on('connection:opened', (info) => this.traffic.opened(info));
    engine.on('connection:closed', (summary) => this.traffic.closed(summary));
    // Subscribed only when on: building a record per connection costs CPU even if it is dropped.
    if (this.accessLog.enabled)
      engine.on('connection:closed', (summary) => this.accessLog.closed(summary));
    engine.on('listener:error', (event) =>
      this.logger.warn({
        msg: 'listener error',
        listener: event.listenerId,
        error: event.error.message,
      }),
    );
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
    if (this.config.prometheus.enabled) await this.startMetricsServer();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.ticker);
    await new Promise<void>((resolve) =>
      this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve(),
    );
    await this.accessLog.close();
  }

  metricsText(): string {
    const live = this.runtime.engine.connections();
    return renderPrometheusText({
      prefix: this.config.prometheus.metricPrefix,
      routes: this.traffic.routeCounters(),
      listeners: this.runtime.listenerStatus().map((listener) => ({
        id: listener.id,
        up: listener.up,
        activeConnections: live.filter((connection) => connection.listenerId === listener.id)
          .length,
        udpSessions: live.filter(
          (connection) => connection.listenerId === listener.id && connection.protocol === 'udp',
        ).length,
      })),
      nodeHealth: this.runtime.engine.health().flatMap((upstream) =>
        upstream.nodes.map((node) => ({
          upstream: upstream.upstreamKey,
          node: node.node,
          healthy: node.healthy,
        })),
      ),
      accessLogDropped: this.accessLog.dropped,
    });
  }

  private tick(): void {
    const live = this.runtime.engine.connections();
    this.traffic.tick(live, Math.floor(Date.now() / 1000));
    const interval = this.config.accessLog.progressIntervalSeconds * 1000;
    if (interval > 0 && this.accessLog.enabled && Date.now() - this.lastProgressAt >= interval) {
      this.lastProgressAt = Date.now();
      for (const connection of live) {
        if (connection.ageMs >= interval) this.accessLog.progress(connection);
      }
    }
  }

  private async startMetricsServer(): Promise<void> {
    const { exportAddr, exportUri } = this.config.prometheus;
    this.metricsServer = createServer((request, response) => {
      if (request.method === 'GET' && request.url?.split('?')[0] === exportUri) {
        response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        response.end(this.metricsText());
      } else {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.metricsServer?.once('error', reject);
      this.metricsServer?.listen(exportAddr.port, exportAddr.host, () => resolve());
    });
    this.logger.log({
      msg: 'prometheus metrics listening',
      url: `http://${exportAddr.host}:${exportAddr.port}${exportUri}`,
    });
  }
}
