/** What one probe (or one reported connect) said about a node. */
export type HealthOutcome = 'success' | 'failure' | 'timeout';

/** Where a result came from: a probe of the checker, or a real connection (passive). */
export type HealthSource = 'active' | 'passive';

/** One node's health as `engine.health()` reports it. */
export interface NodeHealth {
  /** `host:port` (`[v6]:port`), the node address as configured (not the probe port). */
  node: string;
  healthy: boolean;
  /** Results in a row; a success resets both failure counters and a failure resets successes. */
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  consecutiveTimeouts: number;
  /** Epoch milliseconds of the last active probe's result; null before the first probe. */
  lastCheckAt: number | null;
  lastResult: HealthOutcome | null;
  /** Why the last failing result failed (probe or passive); null once a probe succeeds. */
  lastError: string | null;
  /** Epoch milliseconds of the last healthy/unhealthy flip; null when it never flipped. */
  changedAt: number | null;
}

/** The health checker of one upstream key. */
export interface UpstreamHealth {
  /** `/apisix/upstreams/1`, or `/apisix/stream_routes/7#upstream` for an inline upstream. */
  upstreamKey: string;
  /** The active probe kind (`http`/`https` are probed with a TCP connect). */
  type: 'tcp' | 'udp' | 'http' | 'https';
  /** Whether real connections count too (checks.passive, or its defaults). */
  passive: boolean;
  /** Epoch milliseconds the checker started (its state survives applies with unchanged checks). */
  startedAt: number;
  nodes: NodeHealth[];
}

/** A node moved in or out of its upstream's pool. */
export interface HealthChangedEvent {
  upstreamKey: string;
  node: string;
  healthy: boolean;
  source: HealthSource;
  /** Human-readable: `2 TCP failures in a row (connect ECONNREFUSED 127.0.0.1:9995)`. */
  reason: string;
  /** Epoch milliseconds. */
  at: number;
}

export interface HealthMonitorEvents {
  'health:changed': HealthChangedEvent;
}
