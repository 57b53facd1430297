import type { ProxyConfig, StreamRouteSpec, UpstreamSpec } from '../config';
import type { RouteTable } from '../routing/types';
import type { ProxyErrorCode } from './errors';
import type { PrereadPipelineFactory, PrereadStep } from './preread';

/** Engine-wide fallbacks, already in milliseconds. */
export interface EngineDefaults {
  /** nginx proxy_connect_timeout default: 60 s. */
  connectTimeoutMs: number;
  /** nginx proxy_timeout default: 10 min. */
  idleTimeoutMs: number;
}

/** What the socket path needs from an upstream, derived once per config change. */
export interface UpstreamPlan {
  upstream: UpstreamSpec;
  connectTimeoutMs: number;
  /** spec 3.9: max(timeout.send, timeout.read) when the upstream sets `timeout`. */
  idleTimeoutMs: number;
  /** Set when connections through this upstream must be closed right away (503). */
  problem?: ProxyErrorCode;
}

export interface RoutePlan {
  route: StreamRouteSpec;
  preread: readonly PrereadStep[];
  /** Undefined when the route's upstream reference dangles (`problem` says so). */
  upstream?: UpstreamPlan;
  problem?: ProxyErrorCode;
}

/** Plans cached per run-time upstream (RuntimeState.planUpstream). */
const SWITCHED_PLAN_CACHE_LIMIT = 256;

/**
 * The balancer types the engine hands to the registry. APISIX loads `apisix.balancer.<type>` and
 * closes the connection when that fails (spec 3.10), so anything else is refused up front.
 */
const KNOWN_BALANCERS: ReadonlySet<string> = new Set(['roundrobin', 'chash', 'least_conn', 'ewma']);

export function planUpstream(upstream: UpstreamSpec, defaults: EngineDefaults): UpstreamPlan {
  const timeout = upstream.timeout;
  const plan: UpstreamPlan = {
    upstream,
    connectTimeoutMs: timeout
      ? secondsToMs(timeout.connect, defaults.connectTimeoutMs)
      : defaults.connectTimeoutMs,
    idleTimeoutMs: timeout
      ? secondsToMs(Math.max(timeout.send, timeout.read), defaults.idleTimeoutMs)
      : defaults.idleTimeoutMs,
  };
  // APISIX logs `no valid upstream node` and closes (spec 3.3, scenario 49).
  if (upstream.nodes.length === 0) plan.problem = 'ERR_NO_UPSTREAM_NODE';
  else if (!KNOWN_BALANCERS.has(upstream.type)) plan.problem = 'ERR_UNKNOWN_BALANCER';
  return plan;
}

export function planRoute(
  route: StreamRouteSpec,
  defaults: EngineDefaults,
  pipeline: PrereadPipelineFactory | undefined,
  config: ProxyConfig,
): RoutePlan {
  return planWithSteps(route, pipeline ? pipeline(route, config) : [], defaults);
}

function planWithSteps(
  route: StreamRouteSpec,
  preread: readonly PrereadStep[],
  defaults: EngineDefaults,
): RoutePlan {
  if (!route.upstream) return { route, preread, problem: 'ERR_UPSTREAM_MISSING' };
  const upstream = planUpstream(route.upstream, defaults);
  return { route, preread, upstream, problem: upstream.problem };
}

/**
 * The immutable snapshot a connection reads once when it is accepted; apply() swaps the whole
 * snapshot, so a connection never sees half a config and open connections keep what they chose.
 */
export class RuntimeState {
  constructor(
    readonly table: RouteTable,
    private readonly plans: Map<StreamRouteSpec, RoutePlan>,
    private readonly defaults: EngineDefaults,
    private readonly pipeline: PrereadPipelineFactory | undefined,
    readonly version: number,
    /**
     * apisix.ssl.fallback_sni. QUIRK kept from APISIX (spec 3.4): it is `server_name()` for
     * plain TCP connections too, so with it set they can match SNI routes.
     */
    readonly fallbackSni: string | undefined,
    /** The applied configuration, for plans made on the connection path (see planFor). */
    private readonly config: ProxyConfig,
  ) {}

  private readonly switchedPlans = new Map<UpstreamSpec, UpstreamPlan>();

  /**
   * The plan this snapshot made for `route` when it has no plugin steps: such a plan depends only
   * on the route spec object and the engine defaults, so the next snapshot can take it over.
   */
  stepFreePlan(route: StreamRouteSpec): RoutePlan | undefined {
    const plan = this.plans.get(route);
    return plan !== undefined && plan.preread.length === 0 ? plan : undefined;
  }

  planFor(route: StreamRouteSpec): RoutePlan {
    // The table hands back the route objects it was compiled from; a table that copies them
    // still works, at the cost of planning on the connection path.
    return this.plans.get(route) ?? planRoute(route, this.defaults, this.pipeline, this.config);
  }

  /**
   * For an upstream chosen at run time by a preread step (traffic-split). Plans are cached per
   * upstream object (a snapshot's plugin upstreams are a few fixed objects); the cap keeps a step
   * that builds a new object per connection from growing the cache.
   */
  planUpstream(upstream: UpstreamSpec): UpstreamPlan {
    let plan = this.switchedPlans.get(upstream);
    if (plan === undefined) {
      plan = planUpstream(upstream, this.defaults);
      if (this.switchedPlans.size < SWITCHED_PLAN_CACHE_LIMIT) {
        this.switchedPlans.set(upstream, plan);
      }
    }
    return plan;
  }
}

/**
 * Plans every route of `config`. With `previous` (the snapshot being replaced, built with the
 * same defaults and pipeline), a route spec object it already planned keeps its plan when the
 * pipeline again gives it no steps: the pipeline still runs for every route (plugin steps and
 * their per-apply state are rebuilt as before), but the upstream plan and plan object are reused.
 */
export function buildRuntimeState(
  config: ProxyConfig,
  table: RouteTable,
  defaults: EngineDefaults,
  pipeline: PrereadPipelineFactory | undefined,
  version: number,
  previous?: RuntimeState,
): { state: RuntimeState; upstreamKeys: Set<string> } {
  const plans = new Map<StreamRouteSpec, RoutePlan>();
  const upstreamKeys = new Set<string>();
  for (const route of config.routes) {
    const preread = pipeline ? pipeline(route, config) : [];
    const plan =
      (preread.length === 0 ? previous?.stepFreePlan(route) : undefined) ??
      planWithSteps(route, preread, defaults);
    plans.set(route, plan);
    if (route.upstream) upstreamKeys.add(route.upstream.key);
    // Upstreams a step may switch to (traffic-split) keep their balancer state too.
    for (const step of plan.preread) {
      if (step.upstreams) for (const upstream of step.upstreams) upstreamKeys.add(upstream.key);
    }
  }
  return {
    state: new RuntimeState(table, plans, defaults, pipeline, version, config.fallbackSni, config),
    upstreamKeys,
  };
}

function secondsToMs(seconds: number, fallbackMs: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : fallbackMs;
}
