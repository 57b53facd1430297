import { performance } from 'node:perf_hooks';

/**
 * Runs a re-apply (map the whole store view, compile, swap into the engine) for a stream of
 * committed changes without running it once per change.
 *
 * A re-apply costs in proportion to the config, not to the change: about 10 ms with 10,000
 * routes, on the event loop the data plane relays on. Once per admin write, a burst of writes
 * kept that loop busy re-applying nearly all the time, and writes queued behind one another.
 * Here:
 *   - requests made before a scheduled re-apply starts share it (every change they follow is in
 *     the view by then);
 *   - after a re-apply that took D ms, the next one starts no sooner than D ms after it ended, so
 *     under a write storm re-applying takes at most about half of the loop;
 *   - a request resolves once a re-apply that started after it has finished, which is what lets
 *     the store acknowledge a write only when it is in force.
 * A quiet service re-applies on the next turn of the event loop (setImmediate), as before plus
 * one turn.
 */
export class CoalescedReapply {
  private scheduled: { promise: Promise<void>; resolve: () => void } | undefined;
  /** performance.now() before which the next re-apply does not start. */
  private readyAt = 0;

  constructor(
    private readonly reapply: () => void,
    /** A re-apply that threw (the engine keeps its previous config); its requests still resolve. */
    private readonly onError: (error: unknown) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  request(): Promise<void> {
    if (this.scheduled) return this.scheduled.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    this.scheduled = { promise, resolve };
    const wait = this.readyAt - this.now();
    if (wait > 0) setTimeout(() => this.run(), Math.ceil(wait));
    else setImmediate(() => this.run());
    return promise;
  }

  private run(): void {
    const batch = this.scheduled!;
    this.scheduled = undefined;
    const started = this.now();
    try {
      this.reapply();
    } catch (error) {
      this.onError(error);
    } finally {
      const ended = this.now();
      this.readyAt = ended + (ended - started);
      batch.resolve();
    }
  }
}
