// Process handling for the benchmark: every long-running process is registered here and killed by
// pid at the end (also on error and on SIGINT/SIGTERM); every short command has a timeout.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';

/** pid -> { name, child } of every long-running process started by the benchmark. */
const started = new Map();

const CLK_TCK = 100; // getconf CLK_TCK on Linux; /proc/<pid>/stat times are in these ticks

/**
 * Prefix a command with `taskset -c <cpus>` and a raised open-files limit. Both tools exec the
 * command, so the pid we get is the pid of the program itself.
 */
export function wrapCommand(cmd, args, { cpus, nofile } = {}) {
  let argv = [cmd, ...args];
  if (cpus !== undefined && cpus !== null) argv = ['taskset', '-c', String(cpus), ...argv];
  if (nofile) argv = ['prlimit', `--nofile=${nofile}:${nofile}`, ...argv];
  return argv;
}

/**
 * Starts a long-running process. Its stdout/stderr go to `logFile` (and to `onLine` if given).
 * Returns { pid, child, exited } where exited resolves with the exit code/signal.
 */
export function startProcess(name, cmd, args, options = {}) {
  const argv = wrapCommand(cmd, args, options);
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  let tail = '';
  const onData = (chunk) => {
    log?.write(chunk);
    const text = chunk.toString();
    tail = (tail + text).slice(-8192);
    if (options.onData) options.onData(text);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      started.delete(child.pid);
      log?.end();
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      started.delete(child.pid);
      resolve({ code: -1, signal: null, error });
    });
  });
  if (child.pid) started.set(child.pid, { name, child });
  return { name, pid: child.pid, child, exited, tail: () => tail };
}

/** Every live pid in the tree rooted at `pid` (the process and its descendants), via /proc. */
export function processTree(pid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    if (!children.has(stat.ppid)) children.set(stat.ppid, []);
    children.get(stat.ppid).push(Number(entry));
  }
  const out = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift();
    if (!readStat(next)) continue;
    out.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return out;
}

function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces: parse after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); ppid is field 4, minflt field 10, utime field 14, stime field 15.
  return {
    ppid: Number(rest[1]),
    minflt: Number(rest[7]),
    utime: Number(rest[11]),
    stime: Number(rest[12]),
  };
}

/** { user, system } CPU seconds and minor page faults so far of the given pids (all threads). */
export function cpuUsage(pids) {
  let utime = 0;
  let stime = 0;
  let minflt = 0;
  for (const pid of pids) {
    const stat = readStat(pid);
    if (!stat) continue;
    utime += stat.utime;
    stime += stat.stime;
    minflt += stat.minflt;
  }
  return { user: utime / CLK_TCK, system: stime / CLK_TCK, minorFaults: minflt };
}

/** CPU seconds (user + system, all threads) used so far by the given pids. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat) ticks += stat.utime + stat.stime;
  }
  return ticks / CLK_TCK;
}

/** Process jiffies (user + nice + system) per core, from /proc/stat: { 0: n, 1: n, ... }. */
export function coreBusyTicks() {
  const out = {};
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const match = /^cpu(\d+) (.*)$/.exec(line);
      if (!match) continue;
      const fields = match[2].trim().split(/\s+/).map(Number);
      // user nice system idle iowait irq softirq steal: process time only (user, nice, system),
      // since the proxy's own packets cost irq/softirq time that is not charged to any process.
      const busy = fields[0] + fields[1] + fields[2];
      out[match[1]] = busy;
    }
  } catch {
    // not Linux
  }
  return out;
}

/** Sum of VmRSS (KB) over the given pids. */
export function rssKb(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) total += Number(match[1]);
    } catch {
      // gone
    }
  }
  return total;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM a process and its descendants (by pid), SIGKILL whatever is left after `graceMs`. */
export async function stopProcess(handle, graceMs = 5000) {
  if (!handle?.pid) return;
  const pids = processTree(handle.pid);
  for (const pid of [handle.pid, ...pids]) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && [handle.pid, ...pids].some(alive)) {
    await sleep(50);
  }
  for (const pid of [handle.pid, ...pids]) {
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  await Promise.race([handle.exited, sleep(2000)]);
  started.delete(handle.pid);
}

/** Kills everything still registered (used by the finally block and the signal handlers). */
export async function stopAll() {
  const handles = [...started.entries()].map(([pid, { name, child }]) => ({
    pid,
    name,
    child,
    exited: new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', resolve);
    }),
  }));
  await Promise.all(handles.map((handle) => stopProcess(handle, 3000)));
}

/** Synchronous last resort for process 'exit': SIGKILL every registered pid and its children. */
export function killAllSync() {
  for (const pid of started.keys()) {
    let tree = [];
    try {
      tree = processTree(pid);
    } catch {
      tree = [pid];
    }
    for (const each of tree) {
      try {
        process.kill(each, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  started.clear();
}

export function startedCount() {
  return started.size;
}

/**
 * Runs a command to completion with a timeout (SIGTERM, then SIGKILL 2 s later). Never rejects:
 * returns { code, signal, stdout, stderr, timedOut, error, ms }.
 */
export function run(cmd, args, { timeoutMs = 60_000, cpus, nofile, cwd, env, input } = {}) {
  const argv = wrapCommand(cmd, args, { cpus, nofile });
  return new Promise((resolve) => {
    const begin = performance.now();
    let child;
    try {
      child = spawn(argv[0], argv.slice(1), {
        cwd,
        env: env ?? process.env,
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      resolve({ code: -1, stdout: '', stderr: String(error), error, timedOut: false, ms: 0 });
      return;
    }
    if (child.pid) started.set(child.pid, { name: argv.join(' ').slice(0, 60), child });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk) => {
      if (stdout.length < 64 * 1024 * 1024) stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      if (stderr.length < 1024 * 1024) stderr += chunk;
    });
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, 2000).unref();
    }, timeoutMs);
    let error;
    child.once('error', (err) => {
      error = err;
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      started.delete(child.pid);
      resolve({ code, signal, stdout, stderr, timedOut, error, ms: performance.now() - begin });
    });
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function waitFor(what, check, timeoutMs = 10_000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`,
  );
}
