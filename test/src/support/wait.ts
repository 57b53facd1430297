/** Deadlines instead of sleeps: every wait in the e2e tier is bounded and names what it waited for. */

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Rejects when `promise` has not settled within `ms`: one implementation, shared with the libs'
 * specs through `@strait/fastpath/testing`.
 */
export { withDeadline } from '@strait/fastpath/testing';

/**
 * Polls `probe` (sync or async) every `intervalMs` until it returns something truthy, and
 * returns that; rejects with `what` once `ms` have passed.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  ms: number,
  what: string,
  intervalMs = 10,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`deadline of ${ms} ms passed: ${what}`);
    await delay(intervalMs);
  }
}
