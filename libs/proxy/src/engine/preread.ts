import type * as net from 'node:net';
import type { ProxyConfig, StreamRouteSpec, UpstreamSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import type { ConnectionStatus, ConnectionSummary } from './connection-events';

/**
 * The plugin seam: APISIX runs the stream plugins' `preread` between route match and balancing
 * (spec 3.3 step 2). Steps run in the order given (the plugin layer sorts them by priority); the
 * first step that returns a rejection closes the connection with that status, and none of the
 * later steps run.
 *
 * The client socket is paused while steps run, so nothing the client sent is lost; a step that
 * needs the client's first bytes (mqtt-proxy) reads them from `client` and unshifts them back.
 *
 * When the connection has ended, every step's `finish()` runs once (APISIX's log phase): also for
 * steps that never ran because an earlier one rejected, and on every failure path after preread
 * started (502, closed by the engine, client gone).
 */
export interface PrereadSession {
  readonly id: number;
  /** Steps may add variables (`vars.mqtt_client_id`) that the balancer (chash) reads. */
  readonly context: ConnectionContext;
  readonly route: StreamRouteSpec;
  /** The upstream to balance over; a step may replace it (traffic-split sets another upstream). */
  upstream: UpstreamSpec;
  /**
   * TCP only: the paused client socket. A step may read from it but must `unshift()` every byte it
   * read before it settles, so the relay still sees the stream from its first byte.
   */
  readonly client?: net.Socket;
  /** Per-connection values a step keeps for its own finish(), keyed by step name. */
  state?: Record<string, unknown>;
  /** Set once the connection has ended (finish() ran); a late asynchronous step should stop. */
  finished?: boolean;
}

export interface PrereadRejection {
  status: ConnectionStatus;
  /** Free text for logs (`ip-restriction`, `limit-conn`). */
  reason?: string;
}

export type PrereadOutcome = PrereadRejection | undefined;

export interface PrereadStep {
  readonly name: string;
  run(session: PrereadSession): PrereadOutcome | Promise<PrereadOutcome>;
  /** Upstreams run() may switch to (traffic-split): their balancer state survives apply(). */
  readonly upstreams?: readonly UpstreamSpec[];
  /**
   * run() reads the client's bytes from `session.client` (mqtt-proxy). A route with such a step is
   * served over net.Socket: the native fast path hands its connections to the JavaScript path
   * before routing them, since it never reads the client in JavaScript. Steps that only decide
   * (from the addresses, counters, variables) leave it unset and run on either path.
   */
  readonly readsClient?: boolean;
  /** The log phase: called exactly once after the connection ended (see PrereadSession). */
  finish?(session: PrereadSession, summary: ConnectionSummary): void;
}

/**
 * Builds the ordered steps for one route at apply() time, from `route.plugins`; `config` is the
 * whole configuration being applied (plugin metadata). `close()`, when present, runs once the
 * engine has closed and every connection has finished (flushes log buffers).
 */
export interface PrereadPipelineFactory {
  (route: StreamRouteSpec, config: ProxyConfig): readonly PrereadStep[];
  close?(): Promise<void>;
}

export type PrereadCallback = (outcome: PrereadOutcome, error?: unknown) => void;

/**
 * Runs the steps synchronously for as long as they answer synchronously, and only switches to
 * promises when a step returns one: the common all-sync pipeline costs no microtask per connection.
 */
export function runPreread(
  steps: readonly PrereadStep[],
  session: PrereadSession,
  done: PrereadCallback,
  from = 0,
): void {
  for (let index = from; index < steps.length; index++) {
    let outcome: PrereadOutcome | Promise<PrereadOutcome>;
    try {
      outcome = steps[index].run(session);
    } catch (error) {
      done(undefined, error);
      return;
    }
    if (isPromiseLike(outcome)) {
      outcome.then(
        (settled) => {
          // A connection that ended while the step was pending runs no further steps.
          if (settled || session.finished) done(settled);
          else runPreread(steps, session, done, index + 1);
        },
        (error: unknown) => done(undefined, error),
      );
      return;
    }
    if (outcome) {
      done(outcome);
      return;
    }
  }
  done(undefined);
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/**
 * The log phase of a connection whose preread started: every step's finish(), once, in pipeline
 * order. The summary is built only when some step has a finish(); a throwing finish() is
 * contained so that the others still run and the engine's bookkeeping completes.
 */
export function finishPreread(
  steps: readonly PrereadStep[],
  session: PrereadSession,
  connection: { summary(): ConnectionSummary },
): void {
  if (session.finished) return;
  session.finished = true;
  let summary: ConnectionSummary | undefined;
  for (const step of steps) {
    if (step.finish === undefined) continue;
    summary ??= connection.summary();
    try {
      step.finish(session, summary);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }
}
