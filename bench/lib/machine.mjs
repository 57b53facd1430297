// What the report says about the machine and the tools, read from the system itself.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { run } from './proc.mjs';

export function machineInfo() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) cpuModel = match[1].trim();
  } catch {
    // not Linux
  }
  let memTotalKb;
  try {
    memTotalKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]);
  } catch {
    memTotalKb = os.totalmem() / 1024;
  }
  let osName = `${os.type()} ${os.release()}`;
  try {
    osName = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))[1];
  } catch {
    // keep the default
  }
  return {
    cpuModel,
    cores: os.cpus().length,
    memoryGiB: memTotalKb / 1024 / 1024,
    kernel: os.release(),
    os: osName,
    loadAverage: os.loadavg(),
  };
}

async function firstMatch(cmd, args, re) {
  const res = await run(cmd, args, { timeoutMs: 10_000 });
  if (res.error || res.code === null) return 'unavailable';
  const text = `${res.stdout}\n${res.stderr}`;
  const match = re.exec(text);
  return match ? match[1].trim() : 'unknown';
}

export async function toolVersions() {
  return {
    node: process.version,
    nginx: await firstMatch('/usr/sbin/nginx', ['-v'], /nginx version: nginx\/(\S+)/),
    haproxy: await firstMatch('/usr/sbin/haproxy', ['-v'], /HAProxy version (\S+)/),
    iperf3: await firstMatch('iperf3', ['--version'], /iperf (\S+)/),
    wrk: await firstMatch('wrk', ['-v'], /wrk (\S+)/),
    dnsperf: await firstMatch('dnsperf', ['-h'], /Version (\S+)/),
    dnsmasq: await firstMatch('/usr/sbin/dnsmasq', ['--version'], /Dnsmasq version (\S+)/),
    openssl: await firstMatch('openssl', ['version'], /OpenSSL (\S+)/),
  };
}

export async function gitRevision(cwd) {
  const head = await run('git', ['rev-parse', '--short', 'HEAD'], { cwd, timeoutMs: 10_000 });
  const dirty = await run(
    'git',
    ['status', '--porcelain', '--untracked-files=no', '--', 'libs/proxy', 'apps/api'],
    { cwd, timeoutMs: 10_000 },
  );
  const rev = head.code === 0 ? head.stdout.trim() : 'unknown';
  return dirty.code === 0 && dirty.stdout.trim()
    ? `${rev} (with uncommitted changes in libs/proxy or apps/api)`
    : rev;
}
