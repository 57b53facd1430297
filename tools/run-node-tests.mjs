#!/usr/bin/env node
// Runs node's built-in test runner over every compiled *.spec.js under the given directories.
// Node 20's `--test` does not expand globs, so the files are listed here.
//
//   node tools/run-node-tests.mjs [--env=NAME=VALUE ...] <dir> [<dir> ...]
//
// `--env` sets a variable for the test processes (libs/proxy runs its socket specs a second time
// with STRAIT_FASTPATH=off, so both TCP paths pass the same specs).
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FAILURES_DIR } from './failure-reporter.mjs';

const env = { ...process.env };
const roots = [];
const settings = [];
for (const arg of process.argv.slice(2)) {
  const assignment = /^--env=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(arg);
  if (assignment) {
    env[assignment[1]] = assignment[2];
    settings.push(`${assignment[1]}=${assignment[2]}`);
    console.log(`# ${assignment[1]}=${assignment[2]}`);
  } else if (arg.startsWith('--')) {
    console.error(`unknown option ${arg}`);
    process.exit(2);
  } else {
    roots.push(arg);
  }
}
const files = [];
function walk(dir) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.spec.js')) files.push(path);
  }
}
roots.forEach(walk);
if (files.length === 0) {
  console.error(`no spec files under ${roots.join(', ')}`);
  process.exit(1);
}
// Failures also go to FAILURES_DIR, where tools/test-all.mjs finds them to print last.
mkdirSync(FAILURES_DIR, { recursive: true });
const runName = [...roots, ...settings].join('+').replace(/[^A-Za-z0-9+=.-]+/g, '_');
const failuresFile = join(FAILURES_DIR, `${runName}.log`);
const reporters = [
  ['tap', 'stdout'],
  [new URL('./failure-reporter.mjs', import.meta.url).href, failuresFile],
];
const result = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    '--test-concurrency=1',
    ...reporters.flatMap(([reporter, destination]) => [
      `--test-reporter=${reporter}`,
      `--test-reporter-destination=${destination}`,
    ]),
    ...files,
  ],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
