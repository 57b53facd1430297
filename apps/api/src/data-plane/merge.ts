import type {
  HandshakeStats,
  NodeHealth,
  PluginPipelineStats,
  SyslogSinkStats,
  UpstreamHealth,
} from '@strait/proxy';
import type {
  MetricsReport,
  RouteCountersReport,
  TrafficReport,
} from '../observability/engine-observer';
import type { TrafficSample } from '../observability/traffic-stats';

/*
 * How the API process combines what its data-plane workers report. Each worker runs a full engine
 * with its own counters, health checkers and plugin state, as each nginx worker does; the merged
 * view is what a single engine serving all their connections would report, except where noted.
 */

/**
 * Health checks run in every worker (each balancer acts on its own probes and passive results,
 * with no cross-process state on the connection path). A node is reported healthy only when every
 * worker has it in its pool: a node some worker avoids is not fully in service. Counters and the
 * last probe come from the worker that probed most recently; `changedAt` is the latest flip.
 */
export function mergeHealth(perWorker: readonly (readonly UpstreamHealth[])[]): UpstreamHealth[] {
  const byKey = new Map<string, UpstreamHealth[]>();
  for (const list of perWorker) {
    for (const upstream of list) {
      const group = byKey.get(upstream.upstreamKey) ?? [];
      group.push(upstream);
      byKey.set(upstream.upstreamKey, group);
    }
  }
  return [...byKey.values()].map(mergeUpstreamHealth);
}

export function mergeUpstreamHealth(reports: readonly UpstreamHealth[]): UpstreamHealth {
  const [first] = reports;
  const nodes = new Map<string, NodeHealth[]>();
  for (const report of reports) {
    for (const node of report.nodes) {
      const group = nodes.get(node.node) ?? [];
      group.push(node);
      nodes.set(node.node, group);
    }
  }
  return {
    upstreamKey: first.upstreamKey,
    type: first.type,
    passive: first.passive,
    startedAt: Math.min(...reports.map((report) => report.startedAt)),
    nodes: [...nodes.values()].map(mergeNodeHealth),
  };
}

function mergeNodeHealth(reports: readonly NodeHealth[]): NodeHealth {
  const latest = reports.reduce((best, candidate) =>
    (candidate.lastCheckAt ?? -1) > (best.lastCheckAt ?? -1) ? candidate : best,
  );
  const flips = reports.map((report) => report.changedAt).filter((at): at is number => at !== null);
  return {
    ...latest,
    healthy: reports.every((report) => report.healthy),
    changedAt: flips.length === 0 ? null : Math.max(...flips),
  };
}

/** Sums route counters (by route id) and per-second samples (by route and second). */
export function mergeTraffic(reports: readonly TrafficReport[]): TrafficReport {
  const bySecond = new Map<string, Map<number, TrafficSample>>();
  for (const report of reports) {
    for (const [routeId, samples] of Object.entries(report.series)) {
      const seconds = bySecond.get(routeId) ?? new Map<number, TrafficSample>();
      bySecond.set(routeId, seconds);
      for (const sample of samples) {
        const sum = seconds.get(sample.time);
        if (sum) {
          sum.connections += sample.connections;
          sum.bytesFromClient += sample.bytesFromClient;
          sum.bytesToClient += sample.bytesToClient;
        } else {
          seconds.set(sample.time, { ...sample });
        }
      }
    }
  }
  // fromEntries defines own properties: a route id such as "constructor" stays a plain key.
  const series: Record<string, TrafficSample[]> = Object.fromEntries(
    [...bySecond].map(([routeId, seconds]) => [
      routeId,
      [...seconds.values()].sort((a, b) => a.time - b.time),
    ]),
  );
  return { routes: mergeRouteCounters(reports.map((report) => report.routes)), series };
}

export function mergeRouteCounters(
  perWorker: readonly (readonly RouteCountersReport[])[],
): RouteCountersReport[] {
  const merged = new Map<string, RouteCountersReport>();
  for (const routes of perWorker) {
    for (const route of routes) {
      const sum = merged.get(route.routeId);
      if (!sum) {
        merged.set(route.routeId, {
          ...route,
          statusTotals: route.statusTotals.map(([status, count]) => [status, count]),
          connectBuckets: [...route.connectBuckets],
        });
        continue;
      }
      sum.connectionsTotal += route.connectionsTotal;
      sum.active += route.active;
      sum.bytesFromClient += route.bytesFromClient;
      sum.bytesToClient += route.bytesToClient;
      sum.connectCount += route.connectCount;
      sum.connectSumSeconds += route.connectSumSeconds;
      route.connectBuckets.forEach((count, index) => {
        sum.connectBuckets[index] = (sum.connectBuckets[index] ?? 0) + count;
      });
      const statuses = new Map(sum.statusTotals);
      for (const [status, count] of route.statusTotals) {
        statuses.set(status, (statuses.get(status) ?? 0) + count);
      }
      sum.statusTotals = [...statuses].sort((a, b) => a[0] - b[0]);
    }
  }
  return [...merged.values()];
}

export function mergeMetrics(reports: readonly MetricsReport[]): MetricsReport {
  const listeners = new Map<string, { activeConnections: number; udpSessions: number }>();
  for (const report of reports) {
    for (const listener of report.listeners) {
      const sum = listeners.get(listener.id) ?? { activeConnections: 0, udpSessions: 0 };
      sum.activeConnections += listener.activeConnections;
      sum.udpSessions += listener.udpSessions;
      listeners.set(listener.id, sum);
    }
  }
  return {
    routes: mergeRouteCounters(reports.map((report) => report.routes)),
    listeners: [...listeners].map(([id, counts]) => ({ id, ...counts })),
    accessLogDropped: reports.reduce((total, report) => total + report.accessLogDropped, 0),
  };
}

export function mergeHandshakeStats(reports: readonly HandshakeStats[]): HandshakeStats {
  const failed: Record<string, number> = {};
  for (const report of reports) {
    for (const [code, count] of Object.entries(report.failed)) {
      failed[code] = (failed[code] ?? 0) + (count ?? 0);
    }
  }
  return {
    completed: reports.reduce((total, report) => total + report.completed, 0),
    resumed: reports.reduce((total, report) => total + report.resumed, 0),
    failed: failed as HandshakeStats['failed'],
    pending: reports.reduce((total, report) => total + report.pending, 0),
  };
}

/**
 * limit-conn counts are per worker, as in nginx/APISIX (each worker process counts its own
 * connections; `conn` is not divided between workers), so the sums here are totals, not limits.
 * Syslog sinks are summed per target.
 */
export function mergePluginStats(reports: readonly PluginPipelineStats[]): PluginPipelineStats {
  const keys: Record<string, number> = {};
  const sinks = new Map<string, SyslogSinkStats>();
  for (const report of reports) {
    for (const [key, count] of Object.entries(report.limitConn.keys)) {
      keys[key] = (keys[key] ?? 0) + count;
    }
    for (const sink of report.syslog) {
      const sum = sinks.get(sink.target);
      if (!sum) {
        sinks.set(sink.target, { ...sink });
        continue;
      }
      sum.sent += sink.sent;
      sum.dropped += sink.dropped;
      sum.failedBatches += sink.failedBatches;
      sum.pending += sink.pending;
    }
  }
  return {
    limitConn: {
      connections: reports.reduce((total, report) => total + report.limitConn.connections, 0),
      keys,
    },
    syslog: [...sinks.values()],
  };
}
