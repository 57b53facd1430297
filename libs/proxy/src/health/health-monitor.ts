import type {
  ActiveHealthCheckSpec,
  HealthCheckSpec,
  UpstreamNodeSpec,
  UpstreamSpec,
} from '../config';
import { TypedEmitter } from '../engine/typed-emitter';
import type { HealthChangedEvent, HealthMonitorEvents, UpstreamHealth } from './health-types';
import { socketProber, type Prober } from './probes';
import { UpstreamChecker } from './upstream-checker';

export interface HealthMonitorOptions {
  /** Opens probe sockets; real TCP/UDP sockets by default. */
  prober?: Prober;
  /**
   * False: run no active probes (passive reports still count). For processes that share one
   * prober's results through applyShared(), as nginx workers share lua-resty-healthcheck's.
   */
  probing?: boolean;
}

type CheckedSpec = HealthCheckSpec & { active: ActiveHealthCheckSpec };

function activeChecks(upstream: UpstreamSpec): CheckedSpec | undefined {
  const checks = upstream.checks;
  // Passive settings are honoured only together with active ones (the schema's anyOf).
  return checks?.active === undefined ? undefined : (checks as CheckedSpec);
}

/** JSON of the checks config (Buffers serialise as byte arrays): equal text, same checker. */
function signatureOf(checks: CheckedSpec): string {
  return JSON.stringify(checks);
}

/**
 * Health checks for every upstream that has `checks` (spec 3.11): one UpstreamChecker per
 * upstream key, started by apply() (APISIX starts a checker lazily on the first connection
 * through the upstream; starting at apply lets the API and dashboard show health before any
 * traffic), kept across applies while the key and its checks are unchanged (node states survive
 * route and node-list edits), replaced when the checks change and stopped when the upstream is
 * no longer referenced. Upstreams that only reach the balancer at run time (a preread step's
 * choice) get a checker on first use, as in APISIX.
 *
 * `isHealthy` is the balancer registry's health filter; `checkerFor` hands the reporting registry
 * (reporting-registry.ts) the checker its connections' connect results go to (passive checks).
 */
export class HealthMonitor extends TypedEmitter<HealthMonitorEvents> {
  private readonly checkers = new Map<string, UpstreamChecker>();
  private readonly prober: Prober;
  private readonly probing: boolean;
  /** Upstream keys of the last apply(): only other keys get a checker on first use. */
  private appliedKeys = new Set<string>();
  private closed = false;

  constructor(options: HealthMonitorOptions = {}) {
    super();
    this.prober = options.prober ?? socketProber;
    this.probing = options.probing ?? true;
  }

  /** Health filter for BalancerRegistry.setHealthFilter: nodes without a checker are healthy. */
  readonly isHealthy = (upstreamKey: string, node: UpstreamNodeSpec): boolean => {
    if (this.checkers.size === 0) return true;
    const checker = this.checkers.get(upstreamKey);
    return checker === undefined || checker.isHealthy(node);
  };

  /**
   * Reconciles the checkers with the upstreams of a new config. Several routes may carry the same
   * upstream key (a stored upstream); the first spec of a key is taken.
   */
  apply(upstreams: Iterable<UpstreamSpec>): void {
    if (this.closed) return;
    const seen = new Set<string>();
    for (const upstream of upstreams) {
      if (seen.has(upstream.key)) continue;
      seen.add(upstream.key);
      this.ensure(upstream);
    }
    this.appliedKeys = seen;
    for (const [key, checker] of [...this.checkers]) {
      if (seen.has(key)) continue;
      checker.stop();
      this.checkers.delete(key);
    }
  }

  /**
   * The checker of an upstream a connection is about to use. An upstream the last apply() did not
   * know (a preread step's choice) gets one on first use; for a known key the applied config
   * wins, so a connection still holding an older spec cannot bring old checks back.
   */
  checkerFor(upstream: UpstreamSpec): UpstreamChecker | undefined {
    if (upstream.checks === undefined || this.closed) return undefined;
    const checker = this.checkers.get(upstream.key);
    if (checker !== undefined || this.appliedKeys.has(upstream.key)) return checker;
    return this.ensure(upstream);
  }

  /**
   * Takes over a flip that another process's checker of the same upstream reported (its
   * `health:changed` event), without emitting one: workers that do not probe follow the one that
   * does, and every passive flip reaches all workers. Unknown upstreams or nodes are ignored.
   */
  applyShared(event: HealthChangedEvent): void {
    if (this.closed) return;
    this.checkers
      .get(event.upstreamKey)
      ?.applyShared(event.node, event.healthy, event.reason, event.at);
  }

  /** Every running checker's state, by upstream key. */
  snapshot(): UpstreamHealth[] {
    return [...this.checkers.values()].map((checker) => checker.snapshot());
  }

  /** One upstream's state; undefined when no checker runs for that key. */
  upstream(upstreamKey: string): UpstreamHealth | undefined {
    return this.checkers.get(upstreamKey)?.snapshot();
  }

  /** Stops every checker: no timer or probe socket is left. Idempotent. */
  close(): void {
    this.closed = true;
    for (const checker of this.checkers.values()) checker.stop();
    this.checkers.clear();
  }

  /** Creates, keeps (syncing its node list) or replaces the checker of one upstream key. */
  private ensure(upstream: UpstreamSpec): UpstreamChecker | undefined {
    const checks = activeChecks(upstream);
    let checker = this.checkers.get(upstream.key);
    if (checks === undefined) {
      checker?.stop();
      this.checkers.delete(upstream.key);
      return undefined;
    }
    const signature = signatureOf(checks);
    if (checker === undefined || checker.signature !== signature) {
      checker?.stop();
      checker = new UpstreamChecker(
        upstream.key,
        signature,
        checks,
        this.prober,
        (event) => this.changed(event),
        this.probing,
      );
      this.checkers.set(upstream.key, checker);
    }
    checker.setNodes(upstream.nodes);
    return checker;
  }

  /** Runs inside probe callbacks: a throwing subscriber is rethrown outside the checker's state. */
  private changed(event: HealthChangedEvent): void {
    try {
      this.emit('health:changed', event);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }
}
