/**
 * Node flags every Strait process should run with. `npm start`, the Docker image, the end-to-end
 * specs and the benchmark pass them; data-plane workers get them from the pool; main() warns when
 * the service was started without them.
 *
 * `--no-memory-reducer`: V8's memory reducer runs full, compacting GCs when the allocation rate is
 * low, which it takes for idleness. A busy Strait allocates almost nothing in JavaScript (the
 * native fast path relays the bytes in C), so under steady traffic it looked idle. Measured with
 * `wrk -c50` on kept-alive connections: pauses of 6 to 22 ms, three within 25 s, and one 5 s run
 * with a p99 of 10 ms instead of 0.5 ms; without the reducer, none. The price: once a load has
 * grown the young generation, the heap keeps it (about 35 MB more RSS after the first connection
 * storm, bounded by the semi-space limit). Full GCs still run when the old generation fills.
 * It cannot be set at run time (v8.setFlagsFromString): the reducer is created with the heap.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];

/** The service flags `execArgv` lacks. */
export function missingServiceNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVICE_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
