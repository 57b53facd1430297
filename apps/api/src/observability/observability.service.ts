import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import { STRAIT_CONFIG } from '../common/strait-config.token';
import type { StraitConfig } from '../config/strait-config';
import { DataPlane } from '../data-plane/data-plane';
import { routeCountersMap } from './engine-observer';
import { renderPrometheusText } from './prometheus-text';

/**
 * The Prometheus endpoint and the listener-error log. Per-route traffic and the access log live
 * next to each engine (EngineObserver: in this process, or in every data-plane worker), and the
 * data plane hands over their (merged) reports on demand.
 */
@Injectable()
export class ObservabilityService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Observability');
  private metricsServer?: Server;

  constructor(
    @Inject(STRAIT_CONFIG) private readonly config: StraitConfig,
    private readonly dataPlane: DataPlane,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.dataPlane.on('listenerError', (event, worker) =>
      this.logger.warn({
        msg: 'listener error',
        listener: event.listenerId,
        error: event.error.message,
        ...(worker === undefined ? {} : { worker }),
      }),
    );
    if (this.config.prometheus.enabled) await this.startMetricsServer();
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve(),
    );
  }

  async metricsText(): Promise<string> {
    const [report, listeners, health] = await Promise.all([
      this.dataPlane.metrics(),
      this.dataPlane.listenerStatus(),
      this.dataPlane.health(),
    ]);
    const perListener = new Map(report.listeners.map((listener) => [listener.id, listener]));
    return renderPrometheusText({
      prefix: this.config.prometheus.metricPrefix,
      routes: routeCountersMap(report.routes),
      listeners: listeners.map((listener) => ({
        id: listener.id,
        up: listener.up,
        activeConnections: perListener.get(listener.id)?.activeConnections ?? 0,
        udpSessions: perListener.get(listener.id)?.udpSessions ?? 0,
      })),
      nodeHealth: health.flatMap((upstream) =>
        upstream.nodes.map((node) => ({
          upstream: upstream.upstreamKey,
          node: node.node,
          healthy: node.healthy,
        })),
      ),
      accessLogDropped: report.accessLogDropped,
    });
  }

  private async startMetricsServer(): Promise<void> {
    const { exportAddr, exportUri } = this.config.prometheus;
    this.metricsServer = createServer((request, response) => {
      if (request.method === 'GET' && request.url?.split('?')[0] === exportUri) {
        this.metricsText().then(
          (text) => {
            response.writeHead(200, {
              'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
            });
            response.end(text);
          },
          (error: unknown) => {
            this.logger.error({ msg: 'metrics failed', error: String(error) });
            response.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics failed\n');
          },
        );
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
