import type { UpstreamNodeSpec, UpstreamSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import type { NodeAttempts } from './types';

/** Test helpers shared by the balancing specs (not exported from the package index). */

export function node(host: string, port: number, weight = 1, priority = 0): UpstreamNodeSpec {
  return { host, port, weight, priority };
}

/** The version defaults to the content, as the adapter's changes whenever the config does. */
export function upstream(
  nodes: UpstreamNodeSpec[],
  overrides: Partial<UpstreamSpec> = {},
): UpstreamSpec {
  return {
    key: '/apisix/upstreams/1',
    version: JSON.stringify({ nodes, overrides }),
    type: 'roundrobin',
    hashOn: 'vars',
    scheme: 'tcp',
    nodes,
    ...overrides,
  };
}

export function connection(overrides: Partial<ConnectionContext> = {}): ConnectionContext {
  return {
    protocol: 'tcp',
    remoteAddr: '127.0.0.1',
    remotePort: 40000,
    serverAddr: '127.0.0.1',
    serverPort: 9100,
    ...overrides,
  };
}

export function label(spec: UpstreamNodeSpec | undefined): string | undefined {
  return spec === undefined ? undefined : `${spec.host}:${spec.port}`;
}

/** Every node a connection tries when each connect is refused, in order. */
export function walkAllFailing(attempts: NodeAttempts): UpstreamNodeSpec[] {
  const tried: UpstreamNodeSpec[] = [];
  for (let spec = attempts.next(); spec !== undefined; spec = attempts.next()) {
    tried.push(spec);
    attempts.failed(spec, 'refused');
    if (tried.length > 1000) throw new Error('attempts never end');
  }
  return tried;
}

export function countBy<T>(values: readonly T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** A clock the test moves by hand. */
export class ManualClock {
  milliseconds = 1_000_000;
  readonly now = (): number => this.milliseconds;
  advance(milliseconds: number): void {
    this.milliseconds += milliseconds;
  }
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
