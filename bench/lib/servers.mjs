// The upstreams (all pinned to the load core) and the proxies under test: nginx stream (1 worker,
// one per core), HAProxy tcp mode (nbthread 1 and 2). Each instance gets its own directory for
// config, pid file, logs and temp files, and runs in the foreground so its pid is ours to stop.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { NGINX_STREAM_MODULE } from './install.mjs';
import { run, startProcess, stopProcess, waitFor, sleep } from './proc.mjs';

/** ulimit -n for children that hold thousands of sockets (the hard limit here may be lower). */
export const NOFILE = 20_000;

export function tcpAccepting(port, host = '127.0.0.1', timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Resolves true when a UDP port answers a DNS query for bench.test. */
export function dnsAnswers(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    // id 0x1234, RD, one question: bench.test A IN
    const query = Buffer.from('1234010000010000000000000562656e636804746573740000010001', 'hex');
    const timer = setTimeout(() => {
      socket.close();
      resolve(false);
    }, timeoutMs);
    socket.on('message', () => {
      clearTimeout(timer);
      socket.close();
      resolve(true);
    });
    socket.on('error', () => {
      clearTimeout(timer);
      socket.close();
      resolve(false);
    });
    socket.send(query, port, '127.0.0.1');
  });
}

/**
 * nginx's TLS versions, as APISIX configures them (and as Strait and HAProxy 2.6 default to).
 * nginx 1.22's own default stops at TLSv1.2; left at that, nginx negotiated TLS 1.2 with wrk while
 * Strait and HAProxy negotiated 1.3, and a TLS 1.2 handshake is the cheaper one (measured: nginx
 * terminated 6,000 TLS 1.2 handshakes/s against 3,600 TLS 1.3 handshakes/s).
 */
const NGINX_TLS_PROTOCOLS = 'ssl_protocols TLSv1.2 TLSv1.3;';

/** A self-signed P-256 certificate for bench.test (and 127.0.0.1, localhost) for TLS termination. */
export async function makeCertificate(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const res = await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=bench.test',
      '-addext',
      'subjectAltName=DNS:bench.test,DNS:localhost,IP:127.0.0.1',
    ],
    { timeoutMs: 30_000 },
  );
  if (res.code !== 0) throw new Error(`openssl req failed: ${res.stderr.trim()}`);
  return { cert, key };
}

function nginxCommon(dir, workers, extraEvents = '') {
  return [
    `worker_processes ${workers};`,
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    `worker_rlimit_nofile ${NOFILE};`,
    `events { worker_connections 16000; ${extraEvents}}`,
  ].join('\n');
}

async function startNginx(name, dir, conf, { cpus, ready }) {
  mkdirSync(dir, { recursive: true });
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, conf);
  const handle = startProcess(
    name,
    '/usr/sbin/nginx',
    [
      '-p',
      dir,
      '-c',
      confPath,
      '-e',
      join(dir, 'error.log'),
      '-g',
      'daemon off; master_process on;',
    ],
    { cpus, nofile: NOFILE, logFile: join(dir, 'stdout.log') },
  );
  await waitFor(
    `${name} to accept`,
    async () => {
      if (handle.child.exitCode !== null)
        throw new Error(`${name} exited: ${handle.tail().trim()}`);
      return ready();
    },
    10_000,
  );
  return handle;
}

/** nginx as the tiny HTTP upstream: `return 200` on HTTP and on HTTPS (the TLS reference). */
export async function startHttpUpstream(dir, ports, certificate, cpus) {
  const conf = [
    nginxCommon(dir, 1),
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${join(dir, 'client_body')}; proxy_temp_path ${join(dir, 'proxy')};`,
    `  fastcgi_temp_path ${join(dir, 'fastcgi')}; uwsgi_temp_path ${join(dir, 'uwsgi')}; scgi_temp_path ${join(dir, 'scgi')};`,
    '  keepalive_requests 10000000; keepalive_timeout 300s;',
    '  server {',
    `    listen 127.0.0.1:${ports.http} backlog=4096;`,
    certificate ? `    listen 127.0.0.1:${ports.https} ssl backlog=4096;` : '',
    certificate
      ? `    ssl_certificate ${certificate.cert}; ssl_certificate_key ${certificate.key}; ${NGINX_TLS_PROTOCOLS}`
      : '',
    '    location / { return 200 "ok\\n"; }',
    '  }',
    '}',
  ].join('\n');
  return startNginx('http-upstream', dir, conf, { cpus, ready: () => tcpAccepting(ports.http) });
}

export async function startIperfServer(dir, port, cpus) {
  mkdirSync(dir, { recursive: true });
  const handle = startProcess(
    'iperf3-server',
    'iperf3',
    ['-s', '-B', '127.0.0.1', '-p', String(port)],
    {
      cpus,
      logFile: join(dir, 'iperf3.log'),
    },
  );
  await waitFor(
    'iperf3 server',
    async () => {
      if (handle.child.exitCode !== null)
        throw new Error(`iperf3 -s exited: ${handle.tail().trim()}`);
      return tcpAccepting(port);
    },
    10_000,
  );
  // iperf3 -s treats a bare connect as a broken test; give it a moment to reset.
  await sleep(200);
  return handle;
}

export async function startDnsmasq(dir, port, cpus) {
  mkdirSync(dir, { recursive: true });
  const handle = startProcess(
    'dnsmasq',
    '/usr/sbin/dnsmasq',
    [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      '--user=root',
      '--address=/bench.test/127.0.0.1',
      '--cache-size=1000',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
      `--log-facility=${join(dir, 'dnsmasq.log')}`,
    ],
    { cpus, logFile: join(dir, 'stdout.log') },
  );
  await waitFor(
    'dnsmasq',
    async () => {
      if (handle.child.exitCode !== null)
        throw new Error(`dnsmasq exited: ${handle.tail().trim()}`);
      return dnsAnswers(port);
    },
    10_000,
  );
  return handle;
}

/** The idle-connection client and sink (bench/lib/idle-conns.mjs), pinned to the load core. */
export async function startIdleHelper(dir, sinkPort, cpus) {
  mkdirSync(dir, { recursive: true });
  const script = fileURLToPath(new URL('./idle-conns.mjs', import.meta.url));
  let buffer = '';
  const waiters = [];
  const handle = startProcess('idle-conns', process.execPath, [script, String(sinkPort)], {
    cpus,
    nofile: NOFILE,
    stdin: true,
    onData: (text) => {
      buffer += text;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        const waiter = waiters.shift();
        if (waiter) waiter(JSON.parse(line));
      }
    },
  });
  const next = (timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('idle-conns helper did not answer')),
        timeoutMs,
      );
      waiters.push((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  const ready = await next(10_000);
  if (!ready.ready) throw new Error('idle-conns helper did not start');
  return {
    handle,
    async command(object, timeoutMs = 60_000) {
      const answer = next(timeoutMs);
      handle.child.stdin.write(`${JSON.stringify(object)}\n`);
      return answer;
    },
    async stop() {
      handle.child.stdin.end();
      await Promise.race([handle.exited, sleep(2000)]);
      await stopProcess(handle, 2000);
    },
  };
}

/**
 * nginx stream proxy: one server block per listener, each proxying to its upstream, as APISIX's
 * nginx template writes it with its default `apisix.enable_reuseport: true`: `reuseport` on every
 * listen (with several workers each has its own socket and the kernel spreads connections by a
 * hash, as Strait's workers do by default). UDP uses nginx's defaults (a session per client
 * address, proxy_timeout).
 */
export async function startNginxStream(dir, { workers, cpus, listen, upstream, certificate }) {
  const server = (port, target, extra = '') =>
    `  server { listen 127.0.0.1:${port} reuseport${extra}; proxy_pass 127.0.0.1:${target}; }`;
  const conf = [
    `load_module ${NGINX_STREAM_MODULE};`,
    nginxCommon(dir, workers),
    'stream {',
    server(listen.http, upstream.http, ' backlog=4096'),
    // The same listener with Strait's (and HAProxy's) FIN semantics: nginx by default closes both
    // sides at the first FIN once the buffers are flushed; with proxy_half_close it passes the
    // FIN on and keeps relaying the other way, as Strait must (issue 2).
    listen.httpHalfClose
      ? `  server { listen 127.0.0.1:${listen.httpHalfClose} reuseport backlog=4096; proxy_half_close on; proxy_pass 127.0.0.1:${upstream.http}; }`
      : '',
    server(listen.iperf, upstream.iperf),
    server(listen.hold, upstream.hold, ' backlog=4096'),
    `  server { listen 127.0.0.1:${listen.udp} udp reuseport; proxy_pass 127.0.0.1:${upstream.udp}; proxy_timeout 30s; }`,
    certificate
      ? `  server { listen 127.0.0.1:${listen.tls} ssl reuseport backlog=4096; ssl_certificate ${certificate.cert}; ssl_certificate_key ${certificate.key}; ${NGINX_TLS_PROTOCOLS} proxy_pass 127.0.0.1:${upstream.http}; }`
      : '',
    '}',
  ].join('\n');
  return startNginx(`nginx-stream-${workers}w`, dir, conf, {
    cpus,
    ready: () => tcpAccepting(listen.http),
  });
}

/** HAProxy in `mode tcp`, one frontend/backend pair per listener. HAProxy 2.6 has no UDP proxy. */
export async function startHaproxy(dir, { threads, cpus, listen, upstream, certificate }) {
  mkdirSync(dir, { recursive: true });
  let pem;
  if (certificate) {
    pem = join(dir, 'bench.pem');
    const { readFileSync } = await import('node:fs');
    writeFileSync(
      pem,
      readFileSync(certificate.cert, 'utf8') + readFileSync(certificate.key, 'utf8'),
    );
  }
  const pair = (name, port, target, bindExtra = '') =>
    [
      `frontend f_${name}`,
      `  bind 127.0.0.1:${port}${bindExtra}`,
      `  default_backend b_${name}`,
      `backend b_${name}`,
      `  server s1 127.0.0.1:${target}`,
    ].join('\n');
  const conf = [
    'global',
    `  nbthread ${threads}`,
    '  maxconn 9000',
    `  pidfile ${join(dir, 'haproxy.pid')}`,
    '  tune.ssl.default-dh-param 2048',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 600s',
    '  timeout server 600s',
    '  maxconn 9000',
    pair('http', listen.http, upstream.http),
    pair('iperf', listen.iperf, upstream.iperf),
    pair('hold', listen.hold, upstream.hold),
    certificate ? pair('tls', listen.tls, upstream.http, ` ssl crt ${pem}`) : '',
    '',
  ].join('\n');
  const confPath = join(dir, 'haproxy.cfg');
  writeFileSync(confPath, conf);
  const handle = startProcess(`haproxy-${threads}t`, '/usr/sbin/haproxy', ['-f', confPath, '-db'], {
    cpus,
    nofile: NOFILE,
    logFile: join(dir, 'haproxy.log'),
  });
  await waitFor(
    `haproxy (${threads} threads) to accept`,
    async () => {
      if (handle.child.exitCode !== null)
        throw new Error(`haproxy exited: ${handle.tail().trim()}`);
      return tcpAccepting(listen.http);
    },
    10_000,
  );
  return handle;
}
