import type { ProxyEngine } from '@strait/proxy';
import type { AccessLogConfig } from '../config/strait-config';
import { AccessLog } from './access-log';
import { TrafficStats, type RouteCounters, type TrafficSample } from './traffic-stats';

const TICK_MS = 1000;

/** One route's counters in a form that survives JSON (status totals as pairs). */
export interface RouteCountersReport {
  routeId: string;
  connectionsTotal: number;
  active: number;
  bytesFromClient: number;
  bytesToClient: number;
  statusTotals: [number, number][];
  connectBuckets: number[];
  connectCount: number;
  connectSumSeconds: number;
}

/** `GET /strait/v1/traffic` before shaping: counters and per-second samples per route. */
export interface TrafficReport {
  routes: RouteCountersReport[];
  series: Record<string, TrafficSample[]>;
}

/** What the Prometheus text needs from one engine. */
export interface MetricsReport {
  routes: RouteCountersReport[];
  /** Open connections and UDP sessions per listener id. */
  listeners: { id: string; activeConnections: number; udpSessions: number }[];
  accessLogDropped: number;
}

export interface EngineObserverOptions {
  accessLog: AccessLogConfig;
  /** Prefix of access-log connection ids (the host name). */
  nodeId: string;
  /**
   * Largest single write of access-log lines to stdout (whole lines). Data-plane workers share
   * the service's stdout pipe: writes up to PIPE_BUF (4096) are atomic, so lines never interleave.
   */
  maxStdoutWriteBytes?: number;
}

/**
 * Everything that watches one engine: per-route traffic (TrafficStats) and the access log. It
 * only subscribes to engine events and samples the live table once a second; the connection path
 * itself does no logging or formatting. With data-plane workers each worker has its own observer
 * and the API process merges their reports, so no event crosses a process boundary per connection.
 */
export class EngineObserver {
  readonly traffic = new TrafficStats();
  readonly accessLog: AccessLog;
  private ticker?: NodeJS.Timeout;
  private lastProgressAt = Date.now();
  private stopped?: Promise<void>;

  constructor(
    private readonly engine: ProxyEngine,
    private readonly options: EngineObserverOptions,
  ) {
    this.accessLog = new AccessLog(options.accessLog, options.nodeId, {
      maxStdoutWriteBytes: options.maxStdoutWriteBytes,
    });
  }

  start(): void {
    const { engine } = this;
    // Counted from the connection itself: no event object is built per connection for this.
    engine.observeConnections(this.traffic);
    // Subscribed only when on: building a record per connection costs CPU even if it is dropped.
    if (this.accessLog.enabled)
      engine.on('connection:closed', (summary) => this.accessLog.closed(summary));
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
  }

  /** Stops sampling and flushes the access log; idempotent. */
  stop(): Promise<void> {
    clearInterval(this.ticker);
    this.stopped ??= this.accessLog.close();
    return this.stopped;
  }

  trafficReport(seconds: number, nowSeconds = Math.floor(Date.now() / 1000)): TrafficReport {
    return {
      routes: routeReports(this.traffic.routeCounters()),
      series: Object.fromEntries(this.traffic.series(seconds, nowSeconds)),
    };
  }

  metricsReport(): MetricsReport {
    const perListener = new Map<string, { activeConnections: number; udpSessions: number }>();
    for (const listener of this.engine.listeners()) {
      perListener.set(listener.id, { activeConnections: 0, udpSessions: 0 });
    }
    // Counted from samples, not rows: a scrape allocates nothing per open connection.
    this.engine.sampleConnections((connection) => {
      const entry = perListener.get(connection.listenerId) ?? {
        activeConnections: 0,
        udpSessions: 0,
      };
      entry.activeConnections += 1;
      if (connection.protocol === 'udp') entry.udpSessions += 1;
      perListener.set(connection.listenerId, entry);
    });
    return {
      routes: routeReports(this.traffic.routeCounters()),
      listeners: [...perListener].map(([id, counts]) => ({ id, ...counts })),
      accessLogDropped: this.accessLog.dropped,
    };
  }

  private tick(): void {
    // Every second, whatever the number of connections: samples, no row per connection (building
    // 5,000 rows a second grew an idle process by 4 KB per connection).
    this.engine.sampleConnections(this.traffic.countLive);
    this.traffic.closeSecond(Math.floor(Date.now() / 1000));
    const interval = this.options.accessLog.progressIntervalSeconds * 1000;
    if (interval > 0 && this.accessLog.enabled && Date.now() - this.lastProgressAt >= interval) {
      this.lastProgressAt = Date.now();
      for (const connection of this.engine.connections()) {
        if (connection.ageMs >= interval) this.accessLog.progress(connection);
      }
    }
  }
}

export function routeReports(routes: ReadonlyMap<string, RouteCounters>): RouteCountersReport[] {
  return [...routes].map(([routeId, counters]) => ({
    routeId,
    connectionsTotal: counters.connectionsTotal,
    active: counters.active,
    bytesFromClient: counters.bytesFromClient,
    bytesToClient: counters.bytesToClient,
    statusTotals: [...counters.statusTotals],
    connectBuckets: [...counters.connectBuckets],
    connectCount: counters.connectCount,
    connectSumSeconds: counters.connectSumSeconds,
  }));
}

/** Back to the Map form renderPrometheusText takes. */
export function routeCountersMap(
  reports: readonly RouteCountersReport[],
): Map<string, RouteCounters> {
  return new Map(
    reports.map((report) => [
      report.routeId,
      {
        connectionsTotal: report.connectionsTotal,
        active: report.active,
        bytesFromClient: report.bytesFromClient,
        bytesToClient: report.bytesToClient,
        statusTotals: new Map(report.statusTotals),
        connectBuckets: [...report.connectBuckets],
        connectCount: report.connectCount,
        connectSumSeconds: report.connectSumSeconds,
      },
    ]),
  );
}
