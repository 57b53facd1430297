import * as dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import * as net from 'node:net';
import type { HealthOutcome } from './health-types';

export interface ProbeResult {
  outcome: HealthOutcome;
  /** Why a probe failed or timed out. */
  error?: string;
}

/** A probe in flight; cancel() releases its socket and timer at once (the result is then moot). */
export interface RunningProbe {
  readonly result: Promise<ProbeResult>;
  cancel(): void;
}

export interface ProbeTarget {
  host: string;
  port: number;
  timeoutMs: number;
}

export interface UdpProbeTarget extends ProbeTarget {
  /** The datagram sent; empty when unset. */
  send?: Buffer;
  /** A reply must contain these bytes. Unset: any reply, or silence until the timeout, is healthy. */
  expect?: Buffer;
}

/** Opens the probe sockets; replaced in tests that count probes. */
export interface Prober {
  tcp(target: ProbeTarget): RunningProbe;
  udp(target: UdpProbeTarget): RunningProbe;
}

/**
 * Settles once: the first of result, error, timeout or cancel wins and releases everything.
 * Probe sockets and timers are unref()ed, so health checks never keep a process alive.
 */
function settleOnce(
  timeoutMs: number,
  onTimeout: () => ProbeResult,
  release: () => void,
): { running: RunningProbe; finish: (result: ProbeResult) => void } {
  let resolve!: (result: ProbeResult) => void;
  const result = new Promise<ProbeResult>((done) => (resolve = done));
  let settled = false;
  const finish = (outcome: ProbeResult) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    release();
    resolve(outcome);
  };
  const timer = setTimeout(() => finish(onTimeout()), Math.max(1, timeoutMs));
  timer.unref();
  return {
    running: { result, cancel: () => finish({ outcome: 'failure', error: 'cancelled' }) },
    finish,
  };
}

/** APISIX `type: tcp`: a connect within the timeout is a success; the socket is closed at once. */
export function probeTcp(target: ProbeTarget): RunningProbe {
  const socket = new net.Socket();
  const { running, finish } = settleOnce(
    target.timeoutMs,
    () => ({ outcome: 'timeout', error: `no connect within ${target.timeoutMs} ms` }),
    () => socket.destroy(),
  );
  socket.once('connect', () => finish({ outcome: 'success' }));
  socket.on('error', (error) => finish({ outcome: 'failure', error: error.message }));
  socket.connect({ host: target.host, port: target.port });
  socket.unref();
  return running;
}

/**
 * Beyond APISIX (which cannot probe UDP, issue #7591): send one datagram on a connected socket.
 * An ICMP port unreachable (ECONNREFUSED on the connected socket) is a failure; with `expect`, a
 * reply containing it is a success, another reply a failure and silence a timeout; without
 * `expect`, any reply or silence until the timeout is a success (nginx Plus's UDP default).
 */
export function probeUdp(target: UdpProbeTarget): RunningProbe {
  const socket = dgram.createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
  const expect = target.expect;
  const { running, finish } = settleOnce(
    target.timeoutMs,
    () =>
      expect === undefined
        ? { outcome: 'success' }
        : { outcome: 'timeout', error: `no reply within ${target.timeoutMs} ms` },
    () => {
      try {
        socket.close();
      } catch {
        // already closed
      }
    },
  );
  socket.on('error', (error: NodeJS.ErrnoException) =>
    finish({
      outcome: 'failure',
      error: error.code === 'ECONNREFUSED' ? 'ICMP port unreachable (ECONNREFUSED)' : error.message,
    }),
  );
  socket.on('message', (message: Buffer) => {
    if (expect === undefined || message.includes(expect)) finish({ outcome: 'success' });
    else finish({ outcome: 'failure', error: `unexpected reply (${message.length} bytes)` });
  });
  socket.once('connect', () => {
    socket.send(target.send ?? Buffer.alloc(0), (error) => {
      if (error) finish({ outcome: 'failure', error: error.message });
    });
  });
  try {
    socket.connect(target.port, target.host);
  } catch (error) {
    finish({ outcome: 'failure', error: error instanceof Error ? error.message : String(error) });
  }
  socket.unref();
  return running;
}

export const socketProber: Prober = { tcp: probeTcp, udp: probeUdp };
