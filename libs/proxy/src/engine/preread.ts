import type { StreamRouteSpec, UpstreamSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import type { ConnectionStatus } from './connection-events';

/**
 * The plugin seam: APISIX runs the stream plugins' `preread` between route match and balancing
 * (spec 3.3 step 2). Steps run in the order given (the plugin layer sorts them by priority); the
 * first step that returns a rejection closes the connection with that status, and none of the
 * later steps run.
 *
 * The client socket is paused while steps run, so nothing the client sent is lost; a step that
 * needs the client's first bytes (mqtt-proxy) will get a reader on this session when it exists.
 */
export interface PrereadSession {
  readonly id: number;
  /** Steps may add variables (`vars.mqtt_client_id`) that the balancer (chash) reads. */
  readonly context: ConnectionContext;
  readonly route: StreamRouteSpec;
  /** The upstream to balance over; a step may replace it (traffic-split sets another upstream). */
  upstream: UpstreamSpec;
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
}

/** Builds the ordered steps for one route at apply() time, from `route.plugins`. */
export type PrereadPipelineFactory = (route: StreamRouteSpec) => readonly PrereadStep[];

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
          if (settled) done(settled);
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
