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
): RoutePlan {
  const preread = pipeline ? pipeline(route) : [];
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
  ) {}

  planFor(route: StreamRouteSpec): RoutePlan {
    // The table hands back the route objects it was compiled from; a table that copies them
    // still works, at the cost of planning on the connection path.
    return this.plans.get(route) ?? planRoute(route, this.defaults, this.pipeline);
  }

  /** For an upstream chosen at run time by a preread step (traffic-split). */
  planUpstream(upstream: UpstreamSpec): UpstreamPlan {
    return planUpstream(upstream, this.defaults);
  }
}

export function buildRuntimeState(
  config: ProxyConfig,
  table: RouteTable,
  defaults: EngineDefaults,
  pipeline: PrereadPipelineFactory | undefined,
  version: number,
): { state: RuntimeState; upstreamKeys: Set<string> } {
  const plans = new Map<StreamRouteSpec, RoutePlan>();
  const upstreamKeys = new Set<string>();
  for (const route of config.routes) {
    plans.set(route, planRoute(route, defaults, pipeline));
    if (route.upstream) upstreamKeys.add(route.upstream.key);
  }
  return {
    state: new RuntimeState(table, plans, defaults, pipeline, version, config.fallbackSni),
    upstreamKeys,
  };
}

function secondsToMs(seconds: number, fallbackMs: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : fallbackMs;
}
