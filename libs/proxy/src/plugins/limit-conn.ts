import type { ConnectionSummary } from '../engine/connection-events';
import type { PrereadOutcome, PrereadSession } from '../engine/preread';
import { confVersion } from './canonical-json';
import {
  numberField,
  PluginConfError,
  REJECT_503,
  stringField,
  type PluginStep,
  type StreamPlugin,
} from './plugin-types';
import { compileVarReader, compileVarTemplate } from './stream-vars';

/**
 * The engine-wide connection counters of limit-conn (APISIX's `plugin-limit-conn-stream` shared
 * dict), keyed `<route key>:<conf version>:<key>`. They outlive apply(): a config change that
 * leaves a route's limit-conn conf alone keeps counting the connections already open, and one
 * that changes it starts a fresh namespace while open connections still release the old one.
 */
export class ConnectionCounters {
  private readonly counts = new Map<string, number>();
  /** resty.limit.conn's unit delay per namespace (seconds), adjusted by observed session time. */
  private readonly unitDelays = new Map<string, number>();

  increment(key: string): number {
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return count;
  }

  decrement(key: string): void {
    const count = (this.counts.get(key) ?? 0) - 1;
    if (count > 0) this.counts.set(key, count);
    else this.counts.delete(key);
  }

  unitDelay(namespace: string, fallback: number): number {
    return this.unitDelays.get(namespace) ?? fallback;
  }

  /** resty.limit.conn `leaving(key, latency)`: unit = (latency + unit) / 2. */
  observeLatency(namespace: string, fallback: number, latencySeconds: number): void {
    const unit = this.unitDelays.get(namespace) ?? fallback;
    this.unitDelays.set(namespace, (Math.max(0, latencySeconds) + unit) / 2);
  }

  /** Forgets the unit delays of namespaces no longer configured (counters drain by themselves). */
  retainNamespaces(namespaces: ReadonlySet<string>): void {
    for (const namespace of this.unitDelays.keys()) {
      if (!namespaces.has(namespace)) this.unitDelays.delete(namespace);
    }
  }

  /** Open connections per full key; empty once every counted connection has ended. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  get total(): number {
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
  }
}

/** What a counted connection keeps for its log phase. */
interface CountedConnection {
  key: string;
  /** The delay it was given, in seconds (subtracted from its session time). */
  delay: number;
  released: boolean;
}

const STATE_KEY = 'limit-conn';

type KeyReader = (session: PrereadSession) => string | undefined;

function compileKeyReader(key: string, keyType: string): KeyReader {
  if (keyType === 'var_combination') {
    const template = compileVarTemplate(key);
    return (session) => {
      const { text, resolved } = template(session);
      return resolved === 0 ? undefined : text;
    };
  }
  const read = compileVarReader(key);
  return (session) => read(session, undefined);
}

function sleep(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms));
}

/**
 * limit-conn (1003) as resty.limit.conn: up to `conn` connections run at once; connection
 * conn+1 .. conn+burst waits `unit_delay × floor((count-1)/conn)` seconds (a flat
 * `default_conn_delay` with only_use_default_delay) and then runs; above that it is closed (503).
 * The count drops in the log phase, exactly once per counted connection.
 */
class LimitConnStep implements PluginStep {
  readonly name = 'limit-conn';

  constructor(
    private readonly counters: ConnectionCounters,
    /** `/apisix/stream_routes/<id>:<conf version>:` */
    private readonly namespace: string,
    private readonly readKey: KeyReader,
    private readonly conn: number,
    private readonly burst: number,
    private readonly defaultDelay: number,
    private readonly onlyDefaultDelay: boolean,
  ) {}

  run(session: PrereadSession): PrereadOutcome | Promise<PrereadOutcome> {
    // A key without a value falls back to the client address, as APISIX does.
    const key = this.namespace + (this.readKey(session) ?? session.context.remoteAddr);
    const count = this.counters.increment(key);
    if (count > this.conn + this.burst) {
      this.counters.decrement(key);
      return REJECT_503;
    }
    const counted: CountedConnection = { key, delay: 0, released: false };
    (session.state ??= {})[STATE_KEY] = counted;
    if (count <= this.conn) return undefined;
    const delay = this.onlyDefaultDelay
      ? this.defaultDelay
      : this.counters.unitDelay(this.namespace, this.defaultDelay) *
        Math.floor((count - 1) / this.conn);
    counted.delay = delay;
    return delay >= 0.001 ? sleep(delay * 1000) : undefined;
  }

  finish(session: PrereadSession, summary: ConnectionSummary): void {
    const counted = session.state?.[STATE_KEY] as CountedConnection | undefined;
    if (counted === undefined || counted.released) return;
    counted.released = true;
    this.counters.decrement(counted.key);
    if (!this.onlyDefaultDelay) {
      this.counters.observeLatency(
        this.namespace,
        this.defaultDelay,
        summary.durationMs / 1000 - counted.delay,
      );
    }
  }
}

/** The namespace of a route's limit-conn counters (APISIX logs `limit key: <namespace><key>`). */
export function limitConnNamespace(routeId: string, conf: Record<string, unknown>): string {
  return `/apisix/stream_routes/${routeId}:${confVersion(conf)}:`;
}

/** `inUse` is told every namespace the current apply() compiles (for retainNamespaces). */
export function createLimitConnPlugin(
  counters: ConnectionCounters,
  inUse: (namespace: string) => void,
): StreamPlugin {
  return {
    name: 'limit-conn',
    priority: 1003,
    compile(conf, { route }) {
      const conn = numberField(conf, 'conn', NaN);
      const burst = numberField(conf, 'burst', NaN);
      const delay = numberField(conf, 'default_conn_delay', NaN);
      const key = conf.key;
      if (!(conn > 0) || !(burst >= 0) || !(delay > 0) || typeof key !== 'string') {
        throw new PluginConfError('conn, burst, default_conn_delay and key are required');
      }
      const namespace = limitConnNamespace(route.id, conf);
      inUse(namespace);
      return new LimitConnStep(
        counters,
        namespace,
        compileKeyReader(key, stringField(conf, 'key_type', 'var')),
        conn,
        burst,
        delay,
        conf.only_use_default_delay === true,
      );
    },
  };
}
