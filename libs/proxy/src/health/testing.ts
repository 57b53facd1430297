/**
 * Fixtures for the health specs: UDP peers that answer, stay silent or are closed, and a prober
 * that counts (and optionally holds) probes. Not exported from the package.
 */
import * as dgram from 'node:dgram';
import type { ActiveHealthCheckSpec, HealthCheckSpec } from '../config';
import { LOOPBACK } from '../engine/testing/loopback';
import { socketProber, type Prober, type ProbeResult, type RunningProbe } from './probes';

export interface UdpPeer {
  readonly port: number;
  readonly received: Buffer[];
  close(): Promise<void>;
}

/** Replies `answer` to each datagram (nothing when `answer` is undefined: a silent peer). */
export async function startUdpPeer(answer?: string): Promise<UdpPeer> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (message, remote) => {
    received.push(message);
    if (answer !== undefined) socket.send(answer, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind({ address: LOOPBACK, port: 0 }, resolve));
  return {
    port: socket.address().port,
    received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A UDP port nobody is bound to: datagrams sent there come back as ICMP port unreachable. */
export async function closedUdpPort(): Promise<number> {
  const peer = await startUdpPeer();
  await peer.close();
  return peer.port;
}

/** Active TCP checks with APISIX's defaults, overridable. */
export function tcpChecks(
  active: Partial<ActiveHealthCheckSpec> = {},
  passive?: HealthCheckSpec['passive'],
): HealthCheckSpec {
  return {
    active: {
      type: 'tcp',
      timeout: 1,
      healthyInterval: 1,
      healthySuccesses: 2,
      unhealthyInterval: 1,
      unhealthyTcpFailures: 2,
      unhealthyTimeouts: 3,
      ...active,
    },
    passive,
  };
}

/** Wraps the socket prober (or holds every probe until release()) and records each probe. */
export class RecordingProber implements Prober {
  readonly probes: { port: number; protocol: 'tcp' | 'udp'; at: number }[] = [];
  readonly held: { resolve: (result: ProbeResult) => void; cancelled: boolean }[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly hold = false) {}

  tcp: Prober['tcp'] = (target) => this.record('tcp', target.port, () => socketProber.tcp(target));
  udp: Prober['udp'] = (target) => this.record('udp', target.port, () => socketProber.udp(target));

  /** Settles the held probes in order with `result`. */
  release(result: ProbeResult = { outcome: 'success' }): void {
    for (const probe of this.held.splice(0)) probe.resolve(result);
  }

  private record(protocol: 'tcp' | 'udp', port: number, open: () => RunningProbe): RunningProbe {
    this.probes.push({ port, protocol, at: Date.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const running = this.hold ? this.holdOne() : open();
    const done = running.result.then((result) => {
      this.inFlight--;
      return result;
    });
    return { result: done, cancel: () => running.cancel() };
  }

  private holdOne(): RunningProbe {
    let resolve!: (result: ProbeResult) => void;
    const result = new Promise<ProbeResult>((done) => (resolve = done));
    const entry = { resolve, cancelled: false };
    this.held.push(entry);
    return {
      result,
      cancel: () => {
        entry.cancelled = true;
        resolve({ outcome: 'failure', error: 'cancelled' });
      },
    };
  }
}
