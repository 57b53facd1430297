// Installs the benchmark's tools from Debian's packages when they are missing. The system services
// that come with nginx and haproxy are never left running: a policy-rc.d that forbids starting
// services is put in place for the install (unless one exists already), and if a service still
// came up it is stopped and disabled. DNS comes from dnsmasq-base (the binary without a service).
import { existsSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { run } from './proc.mjs';

export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** tool -> how to tell it is there, and the Debian package(s) that bring it. */
const TOOLS = {
  nginx: { check: () => existsSync('/usr/sbin/nginx'), packages: ['nginx'] },
  // bookworm ships the stream module as a separate dynamic module package.
  'nginx-stream': {
    check: () => existsSync(NGINX_STREAM_MODULE),
    packages: ['libnginx-mod-stream'],
  },
  haproxy: { check: () => existsSync('/usr/sbin/haproxy'), packages: ['haproxy'] },
  iperf3: { check: () => existsSync('/usr/bin/iperf3'), packages: ['iperf3'] },
  wrk: { check: () => existsSync('/usr/bin/wrk'), packages: ['wrk'] },
  dnsperf: { check: () => existsSync('/usr/bin/dnsperf'), packages: ['dnsperf'] },
  dnsmasq: { check: () => existsSync('/usr/sbin/dnsmasq'), packages: ['dnsmasq-base'] },
  openssl: { check: () => existsSync('/usr/bin/openssl'), packages: ['openssl'] },
  taskset: { check: () => existsSync('/usr/bin/taskset'), packages: ['util-linux'] },
  prlimit: { check: () => existsSync('/usr/bin/prlimit'), packages: ['util-linux'] },
  // The full-handshake TLS client (bench/tools/tls-full-handshakes.c) is compiled by the run.
  'tls-client': {
    check: () => existsSync('/usr/bin/cc') && existsSync('/usr/include/openssl/ssl.h'),
    packages: ['gcc', 'libc6-dev', 'libssl-dev'],
  },
};

const SERVICES = { nginx: '/run/nginx.pid', haproxy: '/run/haproxy.pid' };
const POLICY = '/usr/sbin/policy-rc.d';

/**
 * Makes sure every tool is present. Returns { missing: {tool: reason}, installed: [packages], log }.
 * Never throws: a tool that cannot be had is reported and its figures are marked unavailable.
 */
export async function ensureTools({ log = () => {}, noInstall = false } = {}) {
  const wanted = Object.entries(TOOLS).filter(([, tool]) => !tool.check());
  const result = { missing: {}, installed: [] };
  if (wanted.length === 0) return result;
  const packages = [...new Set(wanted.flatMap(([, tool]) => tool.packages))];
  const fail = (reason) => {
    for (const [name, tool] of wanted) if (!tool.check()) result.missing[name] = reason;
    return result;
  };
  if (noInstall) return fail('not installed (--no-install)');
  if (process.getuid?.() !== 0)
    return fail(`not installed, and installing needs root: apt-get install ${packages.join(' ')}`);
  log(`installing ${packages.join(' ')} (apt-get, no recommends, services kept from starting)`);
  let ownPolicy = false;
  if (!existsSync(POLICY)) {
    writeFileSync(
      POLICY,
      '#!/bin/sh\n# written by strait bench/: no service starts during the install\nexit 101\n',
      { mode: 0o755 },
    );
    ownPolicy = true;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    const args = ['install', '-y', '--no-install-recommends', ...packages];
    let res = await run('apt-get', args, { timeoutMs: 600_000, env });
    if (res.code !== 0) {
      log('apt-get install failed; running apt-get update once and retrying');
      await run('apt-get', ['update'], { timeoutMs: 300_000, env });
      res = await run('apt-get', args, { timeoutMs: 600_000, env });
    }
    if (res.code !== 0) {
      const why = (res.stderr || res.stdout).trim().split('\n').slice(-2).join(' ');
      return fail(`apt-get install failed: ${why}`);
    }
    result.installed = packages;
  } finally {
    if (ownPolicy) {
      try {
        unlinkSync(POLICY);
      } catch {
        // removed meanwhile
      }
    }
  }
  await stopSystemServices(log);
  return fail('still missing after apt-get install');
}

/** If a freshly installed nginx/haproxy service runs anyway (no policy-rc.d honoured), stop and disable it. */
async function stopSystemServices(log) {
  for (const [name, pidFile] of Object.entries(SERVICES)) {
    let pid;
    try {
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      continue;
    }
    if (!pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      continue;
    }
    log(
      `the system ${name} service is running after the install (pid ${pid}): stopping and disabling it`,
    );
    await run('service', [name, 'stop'], { timeoutMs: 30_000 });
    await run('update-rc.d', [name, 'disable'], { timeoutMs: 30_000 });
    if (existsSync('/run/systemd/system')) {
      await run('systemctl', ['disable', '--now', name], { timeoutMs: 30_000 });
    }
  }
}
