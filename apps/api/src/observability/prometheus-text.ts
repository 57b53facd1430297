import { CONNECT_SECONDS_BUCKETS, type RouteCounters } from './traffic-stats';

export interface MetricsSnapshot {
  prefix: string;
  routes: ReadonlyMap<string, RouteCounters>;
  listeners: { id: string; up: boolean; activeConnections: number; udpSessions: number }[];
  /** Per upstream node health, when health checks run: 1 healthy, 0 unhealthy. */
  nodeHealth: { upstream: string; node: string; healthy: boolean }[];
  accessLogDropped: number;
}

/**
 * Renders the Prometheus text exposition format (version 0.0.4). Metric names follow APISIX's
 * stream metrics where they exist (`apisix_stream_connection_total`), with the configured prefix.
 */
export function renderPrometheusText(snapshot: MetricsSnapshot): string {
  const lines: string[] = [];
  const p = snapshot.prefix;
  const family = (name: string, type: string, help: string) => {
    lines.push(`# HELP ${p}${name} ${help}`, `# TYPE ${p}${name} ${type}`);
  };
  const routeLabel = (routeId: string) => `route="${escapeLabel(routeId)}"`;

  family(
    'stream_connection_total',
    'counter',
    'Connections handled, per stream route ("" = no route matched).',
  );
  for (const [routeId, counters] of snapshot.routes) {
    lines.push(`${p}stream_connection_total{${routeLabel(routeId)}} ${counters.connectionsTotal}`);
  }
  family('stream_active_connections', 'gauge', 'Connections open now, per stream route.');
  for (const [routeId, counters] of snapshot.routes) {
    lines.push(`${p}stream_active_connections{${routeLabel(routeId)}} ${counters.active}`);
  }
  family('stream_status', 'counter', 'Finished connections per route and nginx stream status.');
  for (const [routeId, counters] of snapshot.routes) {
    for (const [status, count] of counters.statusTotals) {
      lines.push(`${p}stream_status{${routeLabel(routeId)},code="${status}"} ${count}`);
    }
  }
  family(
    'stream_bandwidth',
    'counter',
    'Bytes relayed per route; type ingress = from clients, egress = to clients.',
  );
  for (const [routeId, counters] of snapshot.routes) {
    lines.push(
      `${p}stream_bandwidth{${routeLabel(routeId)},type="ingress"} ${counters.bytesFromClient}`,
    );
    lines.push(
      `${p}stream_bandwidth{${routeLabel(routeId)},type="egress"} ${counters.bytesToClient}`,
    );
  }
  family(
    'stream_upstream_connect_seconds',
    'histogram',
    'Time to connect to the upstream node, per route.',
  );
  for (const [routeId, counters] of snapshot.routes) {
    let cumulative = 0;
    CONNECT_SECONDS_BUCKETS.forEach((bound, index) => {
      cumulative += counters.connectBuckets[index];
      lines.push(
        `${p}stream_upstream_connect_seconds_bucket{${routeLabel(routeId)},le="${bound}"} ${cumulative}`,
      );
    });
    lines.push(
      `${p}stream_upstream_connect_seconds_bucket{${routeLabel(routeId)},le="+Inf"} ${counters.connectCount}`,
    );
    lines.push(
      `${p}stream_upstream_connect_seconds_sum{${routeLabel(routeId)}} ${counters.connectSumSeconds}`,
    );
    lines.push(
      `${p}stream_upstream_connect_seconds_count{${routeLabel(routeId)}} ${counters.connectCount}`,
    );
  }
  family('stream_listener_up', 'gauge', 'Whether each configured stream listener is bound.');
  for (const listener of snapshot.listeners) {
    lines.push(
      `${p}stream_listener_up{listen_addr="${escapeLabel(listener.id)}"} ${listener.up ? 1 : 0}`,
    );
  }
  family('stream_listener_active_connections', 'gauge', 'Connections open now, per listener.');
  for (const listener of snapshot.listeners) {
    lines.push(
      `${p}stream_listener_active_connections{listen_addr="${escapeLabel(listener.id)}"} ${listener.activeConnections}`,
    );
  }
  family('stream_udp_sessions', 'gauge', 'UDP sessions open now, per listener.');
  for (const listener of snapshot.listeners) {
    if (listener.id.startsWith('udp://')) {
      lines.push(
        `${p}stream_udp_sessions{listen_addr="${escapeLabel(listener.id)}"} ${listener.udpSessions}`,
      );
    }
  }
  family(
    'upstream_status',
    'gauge',
    'Health of each upstream node from health checks: 1 healthy, 0 unhealthy.',
  );
  for (const entry of snapshot.nodeHealth) {
    lines.push(
      `${p}upstream_status{name="${escapeLabel(entry.upstream)}",node="${escapeLabel(entry.node)}"} ${entry.healthy ? 1 : 0}`,
    );
  }
  family(
    'access_log_dropped_total',
    'counter',
    'Access log records dropped because the destination was too slow.',
  );
  lines.push(`${p}access_log_dropped_total ${snapshot.accessLogDropped}`);
  return `${lines.join('\n')}\n`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
