import type * as net from 'node:net';
import type { StreamRouteSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import type { ConnectionStatus } from './connection-events';
import type { ProxyErrorCode } from './errors';
import { runPreread, type PrereadOutcome, type PrereadSession, type PrereadStep } from './preread';
import type { RoutePlan, RuntimeState, UpstreamPlan } from './route-plans';

/**
 * What the start sequence shared by TCP connections (tcp-session-core.ts) and UDP sessions
 * (udp-sessions.ts) needs from either: route match → preread steps → balancer (spec 3.3). The
 * transports differ in how they end a session and connect a node, not in this order or in the
 * statuses and reasons it decides.
 */
export interface StartingSession {
  readonly id: number;
  readonly context: ConnectionContext;
  /** Set when preread starts: the steps whose finish() (the log phase) runs at the end. */
  prereadSteps: readonly PrereadStep[] | undefined;
  prereadSession: PrereadSession | undefined;
  /** True once the session ended: a preread step that answers late is ignored. */
  hasEnded(): boolean;
  /** Ends the session before any byte reached an upstream. */
  reject(status: ConnectionStatus, reason: ProxyErrorCode): void;
  /** Starts the balancer on the upstream chosen (problem: why there is none usable). */
  balance(plan: UpstreamPlan | undefined, problem: ProxyErrorCode | undefined): void;
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
