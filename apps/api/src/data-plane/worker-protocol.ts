import type {
  BoundListener,
  ConnectionContext,
  HandshakeStats,
  HealthChangedEvent,
  PluginPipelineStats,
  UpstreamHealth,
} from '@strait/proxy';
import type { AccessLogConfig, ListenerEntry, LogLevel } from '../config/strait-config';
import type { StoreChangeEvent } from '../events/strait-events';
import type { MetricsReport, TrafficReport } from '../observability/engine-observer';
import type { EngineSettings, MatchSummary, StoreSnapshot } from '../proxy-runtime/engine-host';
import type { ConnectionRow } from './data-plane';

/*
 * The IPC protocol between the API process (primary) and its data-plane workers: JSON messages
 * over the cluster channel, in order.
 *
 *   primary -> worker   listen-socket (with a listening socket) per shared native listener,
 *                       then init (settings, full store snapshot) once; changes (seq) for every
 *                       committed store change, batched per tick; query (id); drain; health
 *                       (another worker's node flip)
 *   worker -> primary   ready (bound listeners) or failed (bind error); applied (seq) once a
 *                       batch is in force; reply (id); health and listener-error events
 *
 * Nothing is sent per connection: traffic counters, the access log and health checks live in the
 * workers, and the primary asks for (and merges) snapshots when an endpoint needs them.
 */

/** What one worker needs to run; the private-key keyring travels here, never in env or argv. */
export interface WorkerSettings {
  index: number;
  count: number;
  /** How many times this slot was started before; spaces connection ids of restarts apart. */
  generation: number;
  /**
   * `apisix.enable_reuseport`: native TCP listeners are bound here with SO_REUSEPORT; otherwise
   * their sockets come from the primary (`listen-socket` messages).
   */
  reusePort: boolean;
  /**
   * Whether this worker sends the active health probes: one worker does, for all (as one nginx
   * worker probes for all through lua-resty-healthcheck's shared dict); the others follow the
   * flips the primary forwards (`health` messages).
   */
  activeHealthChecks: boolean;
  /** The listeners this worker binds: every TCP one, and the UDP ones assigned to it. */
  listeners: ListenerEntry[];
  engine: EngineSettings;
  fallbackSni?: string;
  accessLog: AccessLogConfig;
  nodeId: string;
  logLevel: LogLevel;
  drainTimeoutSeconds: number;
  /** The effective data_encryption keyring (empty: private keys are stored in clear). */
  keyring: string[];
}

/** Each query: its argument and its answer. */
export interface WorkerQueries {
  /** Ids of the listeners open now. */
  listeners: { args: null; result: string[] };
  connections: { args: null; result: ConnectionRow[] };
  connectionCount: { args: null; result: number };
  closeConnection: { args: number; result: boolean };
  closeConnectionsToNode: { args: string; result: number };
  explainMatch: { args: ConnectionContext; result: MatchSummary };
  health: { args: null; result: UpstreamHealth[] };
  upstreamHealth: { args: string; result: UpstreamHealth | null };
  handshakeStats: { args: null; result: HandshakeStats };
  pluginStats: { args: null; result: PluginPipelineStats };
  traffic: { args: number; result: TrafficReport };
  metrics: { args: null; result: MetricsReport };
}

export type WorkerQueryName = keyof WorkerQueries;

export type PrimaryMessage =
  /** Sent with a listening socket as the handle, before `init` (shared-listen-sockets.ts). */
  | { type: 'listen-socket'; key: string }
  | { type: 'init'; settings: WorkerSettings; snapshot: StoreSnapshot }
  | { type: 'changes'; seq: number; changes: StoreChangeEvent[] }
  | { type: 'query'; id: number; op: WorkerQueryName; args: unknown }
  | { type: 'drain'; timeoutMs: number }
  /** A node flip another worker's checker made (probe or passive), to take over without echo. */
  | { type: 'health'; event: HealthChangedEvent };

export type WorkerMessage =
  | { type: 'ready'; listeners: BoundListener[] }
  | { type: 'failed'; error: { message: string; code?: string; configKey?: string } }
  | { type: 'applied'; seq: number }
  /** It got a signal itself (Ctrl-C reaches the whole process group) and drains. */
  | { type: 'signalled'; signal: string }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'health'; event: HealthChangedEvent }
  | { type: 'listener-error'; listenerId: string; error: { message: string; code?: string } };

/**
 * Connection ids of worker `index` of `count`, restart `generation`: index + 1, then every
 * `count`th number, so `(id - 1) % count` names the worker that owns a connection. A restarted
 * worker starts 2^32 ids per worker further on, so its ids never repeat those of its predecessors.
 */
export function connectionIdsFor(
  index: number,
  count: number,
  generation: number,
): { first: number; stride: number } {
  // Wraps after about a million ids-blocks in all, so ids stay safe integers (below 2^53).
  const blocks = generation % Math.max(1, Math.floor(2 ** 20 / count));
  return { first: index + 1 + blocks * count * 2 ** 32, stride: count };
}

export function workerOfConnection(id: number, count: number): number {
  return (id - 1) % count;
}
