/**
 * Plugin state that must outlive apply() while its conf is unchanged (traffic-split's round-robin
 * position), keyed by whatever identifies "unchanged". Entries not used by the last complete
 * apply() are forgotten when the next one starts.
 */
export class RetainedState<V> {
  private readonly entries = new Map<string, { value: V; generation: number }>();
  private generation = 0;

  use(key: string, create: () => V): V {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { value: create(), generation: this.generation };
      this.entries.set(key, entry);
    }
    entry.generation = this.generation;
    return entry.value;
  }

  /** A new apply() starts: drop what the previous one did not use. */
  nextGeneration(): void {
    for (const [key, entry] of this.entries) {
      if (entry.generation < this.generation) this.entries.delete(key);
    }
    this.generation++;
  }

  get size(): number {
    return this.entries.size;
  }
}
