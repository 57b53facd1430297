// A node:test reporter that writes only what failed: each failing test's suite path, file and
// error. tools/run-node-tests.mjs sends it to a file beside the TAP stream, and
// tools/test-all.mjs prints those files last when a tier fails: CI keeps only the tail of its
// output, and a failing spec's TAP block is otherwise buried under the projects run after it.
import { fileURLToPath } from 'node:url';

/** Where each run's failures are written (one file per run), and read back by test-all.mjs. */
export const FAILURES_DIR = fileURLToPath(new URL('../tmp/test-failures/', import.meta.url));

export default async function* failureReporter(source) {
  const suitePath = []; // names of the tests enclosing the current one, by nesting level
  for await (const event of source) {
    if (event.type === 'test:start') {
      suitePath.length = event.data.nesting;
      suitePath.push(event.data.name);
    }
    if (event.type !== 'test:fail') continue;
    const { name, nesting, file, line, details } = event.data;
    const error = details?.error;
    // A suite fails because one of its tests did; that test is reported on its own.
    if (error?.failureType === 'subtestsFailed') continue;
    const cause = error?.cause ?? error;
    const title = [...suitePath.slice(0, nesting), name].join(' › ');
    const where = file ? `${file}${line ? `:${line}` : ''}` : 'unknown file';
    yield `✖ ${title}\n  at ${where}\n${describe(cause)}\n\n`;
  }
}

/** The error's message and its first frames outside node's own code, indented. */
function describe(error) {
  const lines = String(error?.stack ?? error?.message ?? error).split('\n');
  return lines
    .filter((line) => !line.includes('(node:internal/') && !line.includes('at async Promise.all'))
    .slice(0, 8)
    .map((line) => `    ${line}`)
    .join('\n');
}
