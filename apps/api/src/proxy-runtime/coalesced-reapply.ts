/**
 * Runs a re-apply (map the whole store view, compile, swap into the engine) for the committed
 * changes of a turn of the event loop once, not once per change.
 *
 * A re-apply costs in proportion to the config, not to the change: 5 to 10 ms with 10,000
 * routes, on the event loop the data plane relays on. Requests made before a scheduled re-apply
 * starts share it (every change they follow is in the view by then); it runs on the next turn
 * (setImmediate). A request resolves once a re-apply that started after it has finished, which
 * is what lets the store acknowledge a write only when it is in force.
 *
 * Not paced further: a pause after each re-apply (so that a write storm leaves the data plane
 * half of the loop) made sequential writes wait for it, one more re-apply's time before each
 * change was in force, and bought no write throughput, because writes are committed one at a
 * time and the data plane already has the loop while SQLite syncs each commit.
 */
export class CoalescedReapply {
  private scheduled: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    private readonly reapply: () => void,
    /** A re-apply that threw (the engine keeps its previous config); its requests still resolve. */
    private readonly onError: (error: unknown) => void,
  ) {}

  request(): Promise<void> {
    if (this.scheduled) return this.scheduled.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    this.scheduled = { promise, resolve };
    setImmediate(() => this.run());
    return promise;
  }

  private run(): void {
    const batch = this.scheduled!;
    this.scheduled = undefined;
    try {
      this.reapply();
    } catch (error) {
      this.onError(error);
    } finally {
      batch.resolve();
    }
  }
}
