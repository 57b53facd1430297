import { hostname } from 'node:os';
import type { ConnectionSummary } from '../engine/connection-events';
import type { PrereadSession } from '../engine/preread';
import { canonicalJson } from './canonical-json';
import {
  isPlainObject,
  numberField,
  PluginConfError,
  type PluginLogger,
  type PluginStep,
  type StreamPlugin,
} from './plugin-types';
import { compileVarReader, type VarReader } from './stream-vars';
import { SyslogSink, type SyslogSinkSettings, type SyslogSinkStats } from './syslog-sink';

/** batch-processor-manager's backlog cap when plugin_metadata sets no `max_pending_entries`. */
const DEFAULT_MAX_PENDING_ENTRIES = 8192;
/** facility SYSLOG (5) × 8 + severity INFO (6), as apisix/utils/rfc5424.lua encodes it. */
const PRIORITY = 46;
const APP_NAME = 'apisix';
const HEADER_HOST = hostname() || '-';
const PROCESS_ID = String(process.pid);

/** The settings of one destination; sinks are shared by every route with equal settings. */
export function syslogSinkSettings(
  conf: Record<string, unknown>,
  metadata: Record<string, unknown> | undefined,
): SyslogSinkSettings {
  const host = conf.host;
  const port = conf.port;
  if (typeof host !== 'string' || typeof port !== 'number') {
    throw new PluginConfError('host and port are required');
  }
  return {
    host,
    port,
    sockType: conf.sock_type === 'udp' ? 'udp' : 'tcp',
    tls: conf.tls === true,
    timeoutMs: numberField(conf, 'timeout', 3000),
    flushLimit: numberField(conf, 'flush_limit', 4096),
    dropLimit: numberField(conf, 'drop_limit', 1048576),
    batchMaxSize: numberField(conf, 'batch_max_size', 1000),
    inactiveTimeout: numberField(conf, 'inactive_timeout', 5),
    bufferDuration: numberField(conf, 'buffer_duration', 60),
    maxRetryCount: numberField(conf, 'max_retry_count', 0),
    retryDelay: numberField(conf, 'retry_delay', 1),
    maxPendingEntries: metadata
      ? numberField(metadata, 'max_pending_entries', DEFAULT_MAX_PENDING_ENTRIES)
      : DEFAULT_MAX_PENDING_ENTRIES,
  };
}

/**
 * The sinks of one pipeline, keyed by their settings. A sink no config has used for a whole
 * apply() is retired (its socket closes once idle); entries that connections of older configs
 * still log through it are sent all the same.
 */
export class SyslogSinks {
  private readonly sinks = new Map<string, { sink: SyslogSink; generation: number }>();
  private readonly retired: SyslogSink[] = [];

  constructor(private readonly logger: PluginLogger) {}

  acquire(settings: SyslogSinkSettings, generation: number): SyslogSink {
    const key = canonicalJson(settings);
    let held = this.sinks.get(key);
    if (held === undefined) {
      held = { sink: new SyslogSink(settings, this.logger), generation };
      this.sinks.set(key, held);
    }
    held.generation = generation;
    return held.sink;
  }

  /** Retires the sinks not acquired since generation `oldest`. */
  retireOlderThan(oldest: number): void {
    for (const [key, held] of this.sinks) {
      if (held.generation >= oldest) continue;
      this.sinks.delete(key);
      held.sink.retire();
      this.retired.push(held.sink);
    }
    // Keep the counters of retired sinks that still hold entries, or of the last few.
    if (this.retired.length > 32) this.retired.splice(0, this.retired.length - 32);
  }

  stats(): SyslogSinkStats[] {
    return [...this.retired, ...[...this.sinks.values()].map((held) => held.sink)].map((sink) => ({
      ...sink.stats,
    }));
  }

  async close(graceMs: number): Promise<void> {
    const all = [...this.retired, ...[...this.sinks.values()].map((held) => held.sink)];
    await Promise.all(all.map((sink) => sink.close(graceMs)));
  }
}

type EntryBuilder = (session: PrereadSession, summary: ConnectionSummary) => unknown;

/**
 * APISIX log-util get_custom_format_log: a value `"$name"` is that variable (left out when it
 * has none), anything else is copied as is; `route_id` is always set.
 */
function compileCustomFormat(format: Record<string, unknown>): EntryBuilder {
  const keys: string[] = [];
  const readers: (VarReader | undefined)[] = [];
  const literals: unknown[] = [];
  for (const [key, value] of Object.entries(format)) {
    keys.push(key);
    const isVariable = typeof value === 'string' && value.startsWith('$');
    readers.push(isVariable ? compileVarReader(value.slice(1)) : undefined);
    literals.push(isVariable ? undefined : value);
  }
  return (session, summary) => {
    const entry: Record<string, unknown> = {};
    for (let index = 0; index < keys.length; index++) {
      const read = readers[index];
      if (read === undefined) {
        entry[keys[index]] = literals[index];
        continue;
      }
      const text = read(session, summary);
      if (text !== undefined) entry[keys[index]] = text;
    }
    entry.route_id = session.route.id;
    return entry;
  };
}

/**
 * STRAIT: APISIX logs nothing in stream without a log_format (`syslog's log_format is not set`);
 * Strait sends this entry instead.
 */
function defaultEntry(session: PrereadSession, summary: ConnectionSummary): unknown {
  const context = session.context;
  return {
    route_id: session.route.id,
    connection_id: summary.id,
    protocol: context.protocol === 'udp' ? 'UDP' : 'TCP',
    client_ip: context.remoteAddr,
    client_port: context.remotePort,
    server_addr: context.serverAddr,
    server_port: context.serverPort,
    sni: context.sni,
    upstream: summary.node,
    status: summary.status,
    bytes_received: summary.bytesFromClient,
    bytes_sent: summary.bytesToClient,
    session_time: summary.durationMs / 1000,
    upstream_connect_time: summary.connectMs === undefined ? undefined : summary.connectMs / 1000,
    start_time: summary.startedAt,
  };
}

/** An RFC 5424 line as apisix/utils/rfc5424.lua builds it (the framing is the sink's). */
export function formatSyslogLine(message: string, now = new Date()): string {
  return `<${PRIORITY}>1 ${now.toISOString()} ${HEADER_HOST} ${APP_NAME} ${PROCESS_ID} - - ${message}`;
}

/** syslog (401), log phase only: one entry per finished connection, batched to the receiver. */
class SyslogStep implements PluginStep {
  readonly name = 'syslog';
  readonly logOnly = true;

  constructor(
    private readonly sink: SyslogSink,
    private readonly build: EntryBuilder,
  ) {}

  run(): undefined {
    return undefined;
  }

  finish(session: PrereadSession, summary: ConnectionSummary): void {
    let message: string;
    try {
      message = JSON.stringify(this.build(session, summary));
    } catch {
      return;
    }
    this.sink.push(formatSyslogLine(message));
  }
}

export function createSyslogPlugin(sinks: SyslogSinks, generation: () => number): StreamPlugin {
  return {
    name: 'syslog',
    priority: 401,
    compile(conf, { config }) {
      const metadata = isPlainObject(config.pluginMetadata?.syslog)
        ? config.pluginMetadata.syslog
        : undefined;
      const settings = syslogSinkSettings(conf, metadata);
      const format = [conf.log_format, metadata?.log_format].find(
        (candidate): candidate is Record<string, unknown> =>
          isPlainObject(candidate) && Object.keys(candidate).length > 0,
      );
      return new SyslogStep(
        sinks.acquire(settings, generation()),
        format ? compileCustomFormat(format) : defaultEntry,
      );
    },
  };
}
