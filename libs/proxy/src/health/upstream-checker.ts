import type {
  ActiveHealthCheckSpec,
  HealthCheckSpec,
  PassiveHealthCheckSpec,
  UpstreamNodeSpec,
} from '../config';
import { formatHostPort } from '../engine/addresses';
import type {
  HealthChangedEvent,
  HealthOutcome,
  HealthSource,
  NodeHealth,
  UpstreamHealth,
} from './health-types';
import type { Prober, ProbeResult, RunningProbe } from './probes';

/** lua-resty-healthcheck's default `concurrency`. */
const DEFAULT_CONCURRENCY = 10;

/**
 * lua-resty-healthcheck fills in its passive defaults when `checks.passive` is absent, and APISIX
 * reports every failed stream session to the checker, so real traffic counts even then.
 */
export const DEFAULT_PASSIVE: PassiveHealthCheckSpec = Object.freeze({
  healthySuccesses: 5,
  unhealthyTcpFailures: 2,
  unhealthyTimeouts: 7,
});

/** Thresholds in force for one source: 0 disables that kind of report (passive only). */
interface Thresholds {
  successes: number;
  tcpFailures: number;
  timeouts: number;
}

class NodeState {
  healthy = true;
  successes = 0;
  failures = 0;
  timeouts = 0;
  lastCheckAt: number | null = null;
  lastResult: HealthOutcome | null = null;
  lastError: string | null = null;
  changedAt: number | null = null;
  timer: NodeJS.Timeout | undefined;
  probe: RunningProbe | undefined;
  queued = false;
  removed = false;

  constructor(
    readonly address: string,
    readonly spec: UpstreamNodeSpec,
  ) {}

  snapshot(): NodeHealth {
    return {
      node: this.address,
      healthy: this.healthy,
      consecutiveSuccesses: this.successes,
      consecutiveFailures: this.failures,
      consecutiveTimeouts: this.timeouts,
      lastCheckAt: this.lastCheckAt,
      lastResult: this.lastResult,
      lastError: this.lastError,
      changedAt: this.changedAt,
    };
  }
}

export function nodeAddress(node: UpstreamNodeSpec): string {
  return formatHostPort(node.host, node.port);
}

/**
 * The health state of one upstream key: a state per node address, one probe timer per node (every
 * `healthy.interval` seconds while healthy, `unhealthy.interval` while unhealthy, the first one
 * interval after start, as lua-resty-healthcheck does), at most `concurrency` probes in flight,
 * and the passive counters fed by real connections. Counters are shared by both sources, as in
 * lua-resty-healthcheck; each source flips the state at its own thresholds.
 */
export class UpstreamChecker {
  readonly startedAt = Date.now();
  private readonly nodes = new Map<string, NodeState>();
  /** Node spec objects of the current config → state, so the health filter skips formatting. */
  private bySpec = new WeakMap<UpstreamNodeSpec, NodeState>();
  private readonly active: ActiveHealthCheckSpec;
  private readonly activeThresholds: Thresholds;
  private readonly passiveThresholds: Thresholds;
  private readonly concurrency: number;
  private readonly waiting: NodeState[] = [];
  private inFlight = 0;
  private unhealthyCount = 0;
  private stopped = false;

  constructor(
    readonly key: string,
    /** Serialised checks config: the checker is replaced when it changes. */
    readonly signature: string,
    checks: HealthCheckSpec & { active: ActiveHealthCheckSpec },
    private readonly prober: Prober,
    private readonly onChange: (event: HealthChangedEvent) => void,
    /** False: no active probes here; another process probes and shares its results. */
    private readonly probing = true,
  ) {
    this.active = checks.active;
    this.activeThresholds = {
      successes: Math.max(1, checks.active.healthySuccesses),
      tcpFailures: Math.max(1, checks.active.unhealthyTcpFailures),
      timeouts: Math.max(1, checks.active.unhealthyTimeouts),
    };
    const passive = checks.passive ?? DEFAULT_PASSIVE;
    this.passiveThresholds = {
      successes: Math.max(0, passive.healthySuccesses),
      tcpFailures: Math.max(0, passive.unhealthyTcpFailures),
      timeouts: Math.max(0, passive.unhealthyTimeouts),
    };
    this.concurrency = Math.max(1, Math.floor(checks.active.concurrency ?? DEFAULT_CONCURRENCY));
  }

  /** Whether real connections report to this checker (some passive threshold is not 0). */
  get passive(): boolean {
    const { successes, tcpFailures, timeouts } = this.passiveThresholds;
    return successes > 0 || tcpFailures > 0 || timeouts > 0;
  }

  /**
   * Takes the node list of the current config: known addresses keep their state (and timer), new
   * ones start healthy with a probe one interval away, missing ones are dropped.
   */
  setNodes(nodes: readonly UpstreamNodeSpec[]): void {
    if (this.stopped) return;
    const present = new Set<string>();
    this.bySpec = new WeakMap();
    for (const spec of nodes) {
      const address = nodeAddress(spec);
      present.add(address);
      let state = this.nodes.get(address);
      if (state === undefined) {
        state = new NodeState(address, spec);
        this.nodes.set(address, state);
        this.schedule(state);
      }
      this.bySpec.set(spec, state);
    }
    for (const [address, state] of this.nodes) {
      if (present.has(address)) continue;
      this.nodes.delete(address);
      this.release(state);
      if (!state.healthy) this.unhealthyCount--;
    }
  }

  /** The balancer's filter: unknown nodes (not in the checked config) count as healthy. */
  isHealthy(spec: UpstreamNodeSpec): boolean {
    if (this.unhealthyCount === 0) return true;
    let state = this.bySpec.get(spec);
    if (state === undefined) {
      state = this.nodes.get(nodeAddress(spec));
      if (state === undefined) return true;
      this.bySpec.set(spec, state);
    }
    return state.healthy;
  }

  /**
   * A flip another process's checker of the same upstream made (HealthMonitor.applyShared): taken
   * over without an event, the counters starting again from it.
   */
  applyShared(address: string, healthy: boolean, reason: string, at: number): void {
    const state = this.nodes.get(address);
    if (this.stopped || state === undefined || state.healthy === healthy) return;
    state.healthy = healthy;
    state.changedAt = at;
    state.successes = state.failures = state.timeouts = 0;
    state.lastError = healthy ? null : reason;
    this.unhealthyCount += healthy ? -1 : 1;
    if (state.timer !== undefined) this.schedule(state);
  }

  /** A connect result of a real connection (passive check). */
  reportPassive(spec: UpstreamNodeSpec, outcome: HealthOutcome, error?: string): void {
    if (this.stopped) return;
    const state = this.bySpec.get(spec) ?? this.nodes.get(nodeAddress(spec));
    if (state !== undefined) this.record(state, outcome, 'passive', error);
  }

  snapshot(): UpstreamHealth {
    return {
      upstreamKey: this.key,
      type: this.active.type,
      passive: this.passive,
      startedAt: this.startedAt,
      nodes: [...this.nodes.values()].map((state) => state.snapshot()),
    };
  }

  /** Clears every timer and cancels probes in flight; the checker is dead afterwards. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const state of this.nodes.values()) this.release(state);
    this.waiting.length = 0;
  }

  private release(state: NodeState): void {
    state.removed = true;
    clearTimeout(state.timer);
    state.timer = undefined;
    state.probe?.cancel();
    state.probe = undefined;
  }

  private schedule(state: NodeState): void {
    clearTimeout(state.timer);
    if (this.stopped || state.removed || !this.probing) return;
    const seconds = state.healthy ? this.active.healthyInterval : this.active.unhealthyInterval;
    state.timer = setTimeout(() => this.due(state), intervalMs(seconds));
    state.timer.unref();
  }

  private due(state: NodeState): void {
    state.timer = undefined;
    if (this.stopped || state.removed || state.queued || state.probe) return;
    if (this.inFlight >= this.concurrency) {
      state.queued = true;
      this.waiting.push(state);
      return;
    }
    this.startProbe(state);
  }

  private startProbe(state: NodeState): void {
    const active = this.active;
    const target = {
      host: state.spec.host,
      port: active.port ?? state.spec.port,
      // The schema sets no minimum for `timeout`; anything not positive means the default 1 s.
      timeoutMs:
        Number.isFinite(active.timeout) && active.timeout > 0
          ? Math.max(1, Math.round(active.timeout * 1000))
          : 1000,
    };
    let probe: RunningProbe;
    try {
      probe =
        active.type === 'udp'
          ? this.prober.udp({ ...target, send: active.udpSend, expect: active.udpExpect })
          : this.prober.tcp(target);
    } catch (error) {
      this.record(state, 'failure', 'active', String(error));
      state.lastCheckAt = Date.now();
      this.schedule(state);
      return;
    }
    this.inFlight++;
    state.probe = probe;
    void probe.result.then((result) => this.probed(state, probe, result));
  }

  private probed(state: NodeState, probe: RunningProbe, result: ProbeResult): void {
    this.inFlight--;
    if (state.probe === probe) state.probe = undefined;
    if (!this.stopped && !state.removed) {
      state.lastCheckAt = Date.now();
      this.record(state, result.outcome, 'active', result.error);
      this.schedule(state);
    }
    while (!this.stopped && this.inFlight < this.concurrency && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      next.queued = false;
      if (!next.removed) this.startProbe(next);
    }
  }

  private record(
    state: NodeState,
    outcome: HealthOutcome,
    source: HealthSource,
    error: string | undefined,
  ): void {
    const limits = source === 'active' ? this.activeThresholds : this.passiveThresholds;
    // A disabled passive counter ignores the report entirely (lua-resty-healthcheck limit 0).
    if (outcome === 'success' && limits.successes === 0) return;
    if (outcome === 'failure' && limits.tcpFailures === 0) return;
    if (outcome === 'timeout' && limits.timeouts === 0) return;
    if (source === 'active') state.lastResult = outcome;
    if (outcome === 'success') {
      state.successes++;
      state.failures = 0;
      state.timeouts = 0;
      if (source === 'active') state.lastError = null;
      if (!state.healthy && state.successes >= limits.successes) {
        this.flip(state, true, source, reasonText(state.successes, 'success', source, undefined));
      }
      return;
    }
    state.successes = 0;
    state.lastError = error ?? outcome;
    if (outcome === 'failure') {
      state.failures++;
      if (state.healthy && state.failures >= limits.tcpFailures) {
        this.flip(state, false, source, reasonText(state.failures, 'failure', source, error));
      }
    } else {
      state.timeouts++;
      if (state.healthy && state.timeouts >= limits.timeouts) {
        this.flip(state, false, source, reasonText(state.timeouts, 'timeout', source, error));
      }
    }
  }

  private flip(state: NodeState, healthy: boolean, source: HealthSource, reason: string): void {
    state.healthy = healthy;
    state.changedAt = Date.now();
    this.unhealthyCount += healthy ? -1 : 1;
    // The next probe follows the interval of the new state (unless one is in flight or queued).
    if (state.timer !== undefined) this.schedule(state);
    this.onChange({
      upstreamKey: this.key,
      node: state.address,
      healthy,
      source,
      reason: `${source} check: ${reason}`,
      at: state.changedAt,
    });
  }
}

/**
 * The admin schema allows whole seconds >= 1; the engine takes any positive number (tests probe
 * every few milliseconds). lua-resty-healthcheck's "0 disables" has no use here: a checker exists
 * only for upstreams with active checks, so anything not positive falls back to its default, 1 s.
 */
function intervalMs(seconds: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? Math.max(5, Math.round(seconds * 1000)) : 1000;
}

function reasonText(
  count: number,
  what: HealthOutcome,
  source: HealthSource,
  error: string | undefined,
): string {
  const kind =
    what === 'success'
      ? count === 1
        ? 'success'
        : 'successes'
      : `${what === 'timeout' ? 'timeout' : source === 'active' ? 'probe failure' : 'connect failure'}${count === 1 ? '' : 's'}`;
  const text = `${count} ${kind} in a row`;
  return error ? `${text} (${error})` : text;
}
