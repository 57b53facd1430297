import type * as net from 'node:net';
import type { BalancerRegistry, NodeAttempts } from '../balancing/types';
import type { StreamRouteSpec, UpstreamNodeSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import type { ConnectionPhase, ConnectionStatus } from './connection-events';
import type { ProxyErrorCode } from './errors';
import { runPreread, type PrereadOutcome, type PrereadSession, type PrereadStep } from './preread';
import type { RoutePlan, RuntimeState, UpstreamPlan } from './route-plans';

/**
 * What the start sequence shared by TCP connections (tcp-session-core.ts) and UDP sessions
 * (udp-sessions.ts) needs from either: route match → preread steps → balancer → one attempt per
 * node (spec 3.3). The transports differ in how they end a session and open a node, not in this
 * order or in the statuses and reasons it decides.
 */
export interface StartingSession {
  readonly id: number;
  readonly context: ConnectionContext;
  /** Set when preread starts: the steps whose finish() (the log phase) runs at the end. */
  prereadSteps: readonly PrereadStep[] | undefined;
  prereadSession: PrereadSession | undefined;
  phase: ConnectionPhase;
  plan: UpstreamPlan | undefined;
  attempts: NodeAttempts | undefined;
  /** The node being tried, then the node relaying. */
  node: UpstreamNodeSpec | undefined;
  attemptCount: number;
  /** True once the session ended: a preread step that answers late is ignored. */
  hasEnded(): boolean;
  /** Ends the session before any byte reached an upstream. */
  reject(status: ConnectionStatus, reason: ProxyErrorCode): void;
  /** Starts the balancer on the upstream chosen (problem: why there is none usable). */
  balance(plan: UpstreamPlan | undefined, problem: ProxyErrorCode | undefined): void;
  /** Opens the transport's connection to `node`; the outcome comes back to the session later. */
  openUpstream(node: UpstreamNodeSpec): void;
}

/** The balancer's attempts over the upstream chosen, then the first node (a session's balance()). */
export function startBalancing(
  session: StartingSession,
  balancers: BalancerRegistry,
  plan: UpstreamPlan | undefined,
  problem: ProxyErrorCode | undefined,
): void {
  if (problem || !plan) return session.reject(503, problem ?? 'ERR_UPSTREAM_MISSING');
  session.plan = plan;
  try {
    session.attempts = balancers.begin(plan.upstream, session.context);
  } catch {
    return session.reject(500, 'ERR_INTERNAL');
  }
  session.phase = 'connecting';
  tryNextNode(session);
}

/**
 * One attempt per node the balancer hands out (spec 3.9): retries happen only here, before any
 * byte was relayed, never once relaying started. None left: 502.
 */
export function tryNextNode(session: StartingSession): void {
  const node = session.attempts!.next();
  if (!node) return session.reject(502, 'ERR_UPSTREAM_CONNECT');
  session.node = node;
  session.attemptCount++;
  session.openUpstream(node);
}

/** The route matching `context`; `null` when matching threw (the session is refused with 500). */
export function matchRoute(
  state: RuntimeState,
  context: ConnectionContext,
): StreamRouteSpec | undefined | null {
  try {
    return state.table.match(context);
  } catch {
    return null;
  }
}

/**
 * After the route matched: its preread steps (none: straight to the balancer), then the balancer
 * on the upstream the steps left chosen. `client` is TCP's paused socket, for steps that read it.
 */
export function prereadThenBalance(
  session: StartingSession,
  plan: RoutePlan,
  state: RuntimeState,
  client?: net.Socket,
): void {
  if (plan.preread.length === 0) return session.balance(plan.upstream, plan.problem);
  const routeUpstream = plan.upstream;
  if (!routeUpstream) return session.reject(503, plan.problem ?? 'ERR_UPSTREAM_MISSING');
  const preread: PrereadSession = {
    id: session.id,
    context: session.context,
    route: plan.route,
    upstream: routeUpstream.upstream,
    client,
  };
  session.prereadSteps = plan.preread;
  session.prereadSession = preread;
  runPreread(plan.preread, preread, (outcome: PrereadOutcome, error?: unknown) => {
    if (session.hasEnded()) return;
    if (error !== undefined) return session.reject(500, 'ERR_INTERNAL');
    if (outcome) return session.reject(outcome.status, 'ERR_PREREAD_REJECTED');
    // A step may have switched the upstream (traffic-split); plan the one it chose.
    const upstream =
      preread.upstream === routeUpstream.upstream
        ? routeUpstream
        : state.planUpstream(preread.upstream);
    session.balance(upstream, upstream.problem);
  });
}
