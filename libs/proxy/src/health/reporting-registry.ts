import type { UpstreamNodeSpec } from '../config';
import type { BalancerRegistry, ConnectFailure, NodeAttempts } from '../balancing/types';
import type { HealthMonitor } from './health-monitor';
import type { UpstreamChecker } from './upstream-checker';

/** Forwards to the balancer's attempts and reports each connect result to the checker. */
class ReportingAttempts implements NodeAttempts {
  constructor(
    private readonly inner: NodeAttempts,
    private readonly checker: UpstreamChecker,
  ) {}

  next(): UpstreamNodeSpec | undefined {
    return this.inner.next();
  }

  failed(node: UpstreamNodeSpec, reason: ConnectFailure): void {
    this.inner.failed(node, reason);
    this.checker.reportPassive(
      node,
      reason === 'timeout' ? 'timeout' : 'failure',
      reason === 'timeout' ? 'connect timed out' : `connect ${reason}`,
    );
  }

  connected(node: UpstreamNodeSpec, connectMs: number): void {
    this.inner.connected(node, connectMs);
    this.checker.reportPassive(node, 'success');
  }

  finished(node: UpstreamNodeSpec): void {
    this.inner.finished(node);
  }
}

/**
 * Connects a balancer registry to the health monitor: the monitor becomes its health filter, and
 * each connection's attempts are wrapped so failed() and connected() also reach the upstream's
 * checker (passive checks without touching the session code). Upstreams without checks get the
 * balancer's attempts unchanged (no extra allocation).
 */
export function withHealthReports(
  registry: BalancerRegistry,
  monitor: HealthMonitor,
): BalancerRegistry {
  registry.setHealthFilter(monitor.isHealthy);
  return {
    begin(upstream, context) {
      const attempts = registry.begin(upstream, context);
      const checker = monitor.checkerFor(upstream);
      return checker?.passive ? new ReportingAttempts(attempts, checker) : attempts;
    },
    setHealthFilter: (isHealthy) => registry.setHealthFilter(isHealthy),
    retain: (upstreamKeys) => registry.retain(upstreamKeys),
  };
}
