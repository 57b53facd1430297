import { performance } from 'node:perf_hooks';
import type { UpstreamSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import { ConnectionAttempts, EXHAUSTED_ATTEMPTS } from './node-attempts';
import type { BalancerEnvironment } from './node-picker';
import { pickerFactoryFor } from './picker-factories';
import type { BalancerRegistry, NodeAttempts } from './types';
import { buildUpstreamBalancer } from './upstream-balancer';
import type { HealthFilter, UpstreamBalancer } from './upstream-balancer';

export interface BalancerRegistryOptions {
  /** Monotonic milliseconds; defaults to performance.now(). Tests inject a fake clock. */
  now?: () => number;
  /** Uniform in [0, 1); defaults to Math.random (ewma's two random choices). */
  random?: () => number;
}

class UpstreamBalancerRegistry implements BalancerRegistry {
  private readonly balancers = new Map<string, UpstreamBalancer>();
  private isHealthy: HealthFilter | undefined;

  constructor(private readonly environment: BalancerEnvironment) {}

  begin(upstream: UpstreamSpec, context: ConnectionContext): NodeAttempts {
    const createPicker = pickerFactoryFor(upstream.type);
    if (createPicker === undefined) return EXHAUSTED_ATTEMPTS;
    let balancer = this.balancers.get(upstream.key);
    if (balancer === undefined || balancer.version !== upstream.version) {
      balancer = buildUpstreamBalancer(upstream, createPicker, balancer, this.environment);
      this.balancers.set(upstream.key, balancer);
    }
    if (balancer.nodeCount === 0) return EXHAUSTED_ATTEMPTS;
    return new ConnectionAttempts(balancer, context, this.isHealthy, this.environment);
  }

  setHealthFilter(isHealthy: HealthFilter): void {
    this.isHealthy = isHealthy;
  }

  retain(upstreamKeys: Set<string>): void {
    for (const key of this.balancers.keys()) {
      if (!upstreamKeys.has(key)) this.balancers.delete(key);
    }
  }
}

/**
 * Creates the registry that balances every upstream. Pickers are rebuilt only when an upstream's
 * `version` changes; per-node state (least_conn counts, ewma, round robin position) is keyed by
 * `upstream.key` and node address and survives the rebuild.
 */
export function createBalancerRegistry(options: BalancerRegistryOptions = {}): BalancerRegistry {
  return new UpstreamBalancerRegistry({
    now: options.now ?? (() => performance.now()),
    random: options.random ?? Math.random,
  });
}
