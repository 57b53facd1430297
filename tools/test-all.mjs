#!/usr/bin/env node
// `npm test`: every tier, in order, stopping at the first failure.
//   1. build (tsc type-checks every project) and lint
//   2. generated artefacts are up to date (openapi.yaml, libs/api-client, migrations)
//   3. unit and integration specs of each project (node:test)
//   4. end-to-end specs in test/ against the built service with real clients
//   5. docs/reliability.md rendered from what the end-to-end specs measured
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FAILURES_DIR } from './failure-reporter.mjs';

const tiers = [
  ['build', 'npx', ['nx', 'run-many', '-t', 'build', '--output-style=stream']],
  ['lint', 'npx', ['nx', 'run-many', '-t', 'lint', '--output-style=stream']],
  ['generated artefacts', 'node', ['tools/check-generated.mjs']],
  [
    'unit and integration',
    'npx',
    ['nx', 'run-many', '-t', 'test', '--output-style=stream', '--parallel=1'],
  ],
  ['end-to-end', 'node', ['tools/run-node-tests.mjs', 'test/dist']],
  // docs/reliability.md from the facts the end-to-end reliability specs recorded.
  ['reliability report', 'node', ['tools/render-reliability.mjs']],
];

/** Prints the failing tests of every run, so that they end the output CI keeps. */
function printFailures() {
  let files = [];
  try {
    files = readdirSync(FAILURES_DIR);
  } catch {
    return;
  }
  for (const file of files.sort()) {
    const text = readFileSync(join(FAILURES_DIR, file), 'utf8').trim();
    if (text) console.error(`\n--- failed in ${file.replace(/\.log$/, '')} ---\n${text}`);
  }
}

rmSync(FAILURES_DIR, { recursive: true, force: true });
const only = process.argv.slice(2);
for (const [name, command, args] of tiers) {
  if (only.length > 0 && !only.includes(name)) continue;
  const started = Date.now();
  console.log(`\n=== tier: ${name} ===`);
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false' },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    printFailures();
    console.error(`=== tier ${name} failed after ${seconds}s ===`);
    process.exit(result.status ?? 1);
  }
  console.log(`=== tier ${name} passed in ${seconds}s ===`);
}
