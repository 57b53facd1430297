/** Deadlines instead of sleeps: every wait in the e2e tier is bounded and names what it waited for. */
import { waitFor as pollUntil } from '@strait/fastpath/testing';

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Rejects when `promise` has not settled within `ms`: one implementation, shared with the libs'
 * specs through `@strait/fastpath/testing`.
 */
export { withDeadline } from '@strait/fastpath/testing';

/**
 * The libs' waitFor (`@strait/fastpath/testing`), polling every 10 ms by default: the e2e probes
 * are HTTP requests and process checks, not in-process reads.
 */
export function waitFor<T>(
  probe: () => T | Promise<T>,
  ms: number,
  what: string,
  intervalMs = 10,
): Promise<NonNullable<T>> {
  return pollUntil(probe, ms, what, intervalMs);
}
