#!/usr/bin/env node
// Builds the fast path addon (build/Release/strait_fastpath.node) from source with node-gyp,
// against the Node headers installed on this machine: nothing is downloaded.
//
//   node tools/build-native.mjs            configure when needed, then make (incremental). Fails
//                                          on a compile error; only warns when no C toolchain
//                                          (cc, make, python3) is installed at all.
//   node tools/build-native.mjs --install  the npm `install` hook: never fails the install. The
//                                          engine then uses its JavaScript path.
//   node tools/build-native.mjs --report   prints the warning again if the addon is missing
//                                          (the root postinstall: npm hides the output of
//                                          workspace install scripts that succeed).
//
// The outcome of the last attempt is kept in build/fastpath-build.log.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'strait_fastpath.node');
const logFile = join(root, 'build', 'fastpath-build.log');
const mode = process.argv.includes('--install')
  ? 'install'
  : process.argv.includes('--report')
    ? 'report'
    : 'build';

function warn(lines) {
  const bar = '-'.repeat(78);
  process.stderr.write(
    `\n${bar}\n${lines.map((line) => `strait fastpath: ${line}`).join('\n')}\n${bar}\n\n`,
  );
}

function record(text) {
  mkdirSync(dirname(logFile), { recursive: true });
  writeFileSync(logFile, text);
}

if (mode === 'report') {
  if (process.platform === 'linux' && !existsSync(addon)) {
    const last = existsSync(logFile)
      ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-15)
      : [];
    warn([
      'the native fast path was NOT built; plain TCP listeners use the JavaScript path.',
      'Install a C toolchain (cc, make, python3) and run `npm rebuild @strait/fastpath`',
      'or `npx nx run fastpath:build`. Last build output:',
      ...last,
    ]);
  }
  process.exit(0);
}

if (process.platform !== 'linux') {
  record(`skipped: the fast path is Linux only (this is ${process.platform})\n`);
  if (mode === 'build') console.log(`fastpath: skipped on ${process.platform} (Linux only)`);
  process.exit(0);
}

function onPath(command) {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((directory) => directory && existsSync(join(directory, command)));
}

/** npm's own node-gyp (npm passes its path to lifecycle scripts), else one next to node, else ours. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed in the workspace
  }
  return candidates.find((candidate) => candidate && existsSync(candidate));
}

/** Headers of the running Node: npm's `nodedir`, else <prefix>/include/node of this binary. */
function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(join(configured, 'include', 'node', 'node_api.h')))
    return configured;
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return configured || undefined;
}

function fail(reason, output = '') {
  record(`failed: ${reason}\n${output}`);
  if (mode === 'install') {
    warn([
      `could not build the native addon: ${reason}`,
      'the install goes on; plain TCP listeners will use the JavaScript path.',
      `details: ${logFile}`,
    ]);
    process.exit(0);
  }
  process.stderr.write(output);
  console.error(`fastpath: ${reason}`);
  process.exit(1);
}

const missing = ['python3', 'make'].filter((tool) => !onPath(tool));
if (!onPath('cc') && !onPath('gcc') && !onPath('clang')) missing.push('a C compiler (cc)');
if (missing.length > 0) {
  if (mode === 'build') {
    record(`skipped: no ${missing.join(', ')} on PATH\n`);
    warn([`not built: no ${missing.join(', ')} on PATH; the JavaScript path will be used.`]);
    process.exit(0);
  }
  fail(`no ${missing.join(', ')} on PATH`);
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found (it ships with npm)');
const nodedir = findNodeDir();
const common = nodedir ? [`--nodedir=${nodedir}`] : [];

function run(args) {
  const result = spawnSync(process.execPath, [nodeGyp, ...args, ...common], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, npm_config_nodedir: nodedir ?? process.env.npm_config_nodedir },
  });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

const makefile = join(root, 'build', 'Makefile');
const gypConfig = join(root, 'build', 'config.gypi');
const needsConfigure =
  !existsSync(makefile) ||
  !existsSync(gypConfig) ||
  statSync(join(root, 'binding.gyp')).mtimeMs > statSync(makefile).mtimeMs ||
  // Built for another Node (headers differ): start over.
  !readFileSync(gypConfig, 'utf8').includes(`"nodedir": ${JSON.stringify(nodedir ?? '')}`);

let log = '';
if (needsConfigure) {
  const configured = run(['configure']);
  log += configured.output;
  if (!configured.ok) fail('node-gyp configure failed', log);
}
const built = run(['build']);
log += built.output;
if (!built.ok || !existsSync(addon)) fail('node-gyp build failed', log);
record(`ok: ${addon}\n${log}`);
if (mode === 'build') {
  const warnings = log.split('\n').filter((line) => /warning:/.test(line));
  for (const line of warnings) console.warn(line);
  console.log(`fastpath: ${addon}`);
}
