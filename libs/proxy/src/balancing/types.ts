import type { UpstreamNodeSpec, UpstreamSpec } from '../config';
import type { ConnectionContext } from '../routing/types';

/** Why connecting to a node failed; feeds passive health checks and ewma. */
export type ConnectFailure = 'refused' | 'timeout' | 'error';

/**
 * One connection's walk through an upstream's nodes: the first pick, then retries on connect
 * failure (spec 3.9). Created per connection by BalancerRegistry.begin().
 */
export interface NodeAttempts {
  /**
   * The node to try next, or undefined when the pool is exhausted: no nodes, retries used up,
   * retry_timeout passed, or every node in every priority group tried.
   */
  next(): UpstreamNodeSpec | undefined;
  /** The connect to `node` failed; the next call to next() moves on. */
  failed(node: UpstreamNodeSpec, reason: ConnectFailure): void;
  /** The connect to `node` succeeded after `connectMs`. */
  connected(node: UpstreamNodeSpec, connectMs: number): void;
  /** The session through `node` ended (releases least_conn counts exactly once). */
  finished(node: UpstreamNodeSpec): void;
}

/**
 * Keeps balancer state per upstream key across config changes (least_conn in-flight counts,
 * ewma scores, the roundrobin position), rebuilding a picker only when the upstream's version changes.
 */
export interface BalancerRegistry {
  begin(upstream: UpstreamSpec, context: ConnectionContext): NodeAttempts;
  /** Health filter: unhealthy nodes are skipped unless every node is unhealthy. */
  setHealthFilter(isHealthy: (upstreamKey: string, node: UpstreamNodeSpec) => boolean): void;
  /** Drop state for upstreams that are no longer referenced. */
  retain(upstreamKeys: Set<string>): void;
}
