/** The longest delay setTimeout takes (about 24.8 days); a later expiry is looked up again then. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `due` when the earliest known `?ttl=` expiry arrives: one timer for the next expiry
 * instead of a store sweep every second. A periodic store transaction takes milliseconds of the
 * event loop, and in a one-process service that loop also relays every connection.
 */
export class ExpiryTimer {
  private timer: NodeJS.Timeout | undefined;
  private dueAt = Infinity;

  constructor(
    private readonly due: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Makes sure `due` runs no later than `at` (epoch ms); a later time than the one set is ignored. */
  expireBy(at: number): void {
    if (at >= this.dueAt) return;
    clearTimeout(this.timer);
    this.dueAt = at;
    const delay = Math.min(Math.max(0, at - this.now()), MAX_TIMER_DELAY_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dueAt = Infinity;
      this.due();
    }, delay);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = Infinity;
  }
}
