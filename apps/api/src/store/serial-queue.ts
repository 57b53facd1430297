/**
 * Runs async tasks one at a time, in arrival order. The SQLite driver shares one connection, so
 * two interleaved transactions would see each other's uncommitted rows; serialising every store
 * operation keeps reads and writes atomic without relying on driver behaviour.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
