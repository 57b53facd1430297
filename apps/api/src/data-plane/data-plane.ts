import type {
  ConnectionContext,
  HandshakeStats,
  HealthChangedEvent,
  LiveConnection,
  PluginPipelineStats,
  ProxyConfig,
  UpstreamHealth,
} from '@strait/proxy';
import type { MetricsReport, TrafficReport } from '../observability/engine-observer';
import type { MatchSummary } from '../proxy-runtime/engine-host';

export type { MatchSummary } from '../proxy-runtime/engine-host';

/** One configured stream listener and whether it is bound now. */
export interface ListenerStatus {
  id: string;
  up: boolean;
  configKey: string;
  protocol: string;
  host: string;
  port: number;
  tls: boolean;
}

/** A live connection as the API lists it: the engine's row plus the worker serving it. */
export type ConnectionRow = Omit<LiveConnection, 'bufferedToClient' | 'bufferedToUpstream'> & {
  /** Index of the data-plane worker; 0 when the engine runs in the API process. */
  worker: number;
};

export type WorkerState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

/** One data-plane process. */
export interface WorkerStatus {
  index: number;
  pid: number | null;
  state: WorkerState;
  /** How often it was restarted after exiting unexpectedly. */
  restarts: number;
  /** Epoch milliseconds this process became ready; null while it is not running. */
  readySince: number | null;
}

export interface DataPlaneEvents {
  /** A health check moved a node; `worker` is set when a data-plane worker reported it. */
  healthChanged(event: HealthChangedEvent, worker: number | undefined): void;
  listenerError(
    event: { listenerId: string; error: { message: string; code?: string } },
    worker: number | undefined,
  ): void;
}

/**
 * The data plane as the control plane sees it, whatever runs it: the engine inside the API
 * process (`strait.workers: 1`) or a pool of worker processes sharing the listeners. Controllers
 * and services use only this, so they never branch on the mode; queries are async because a pool
 * asks its workers and merges their answers. Store changes do not go through here: the data
 * plane subscribes to the EventBus itself.
 */
export abstract class DataPlane {
  abstract readonly mode: 'in-process' | 'workers';

  /** The engine config mapped from the store now (private keys included: never serialise it). */
  abstract appliedConfig(): ProxyConfig;

  /** Every configured listener with the id it was bound under and whether it is open now. */
  abstract listenerStatus(): Promise<ListenerStatus[]>;

  /** Live TCP connections and UDP sessions (per worker oldest first, workers in index order). */
  abstract connections(): Promise<ConnectionRow[]>;

  abstract connectionCount(): Promise<number>;

  /** False when no connection with this id is open. */
  abstract closeConnection(id: number): Promise<boolean>;

  /** Closes every connection to `host:port`; returns how many. */
  abstract closeConnectionsToNode(node: string): Promise<number>;

  abstract explainMatch(context: ConnectionContext): Promise<MatchSummary>;

  /** Health-check state of every upstream with running checks (merged across workers). */
  abstract health(): Promise<UpstreamHealth[]>;

  abstract upstreamHealth(upstreamKey: string): Promise<UpstreamHealth | undefined>;

  /** Handshake counters of tls and proxyProtocol listeners, summed across workers. */
  abstract handshakeStats(): Promise<HandshakeStats>;

  /**
   * Stream plugin counters summed across workers. limit-conn counts per worker, as in
   * nginx/APISIX, where each worker process has its own count unless a shared dict is used.
   */
  abstract pluginStats(): Promise<PluginPipelineStats>;

  abstract traffic(seconds: number): Promise<TrafficReport>;

  abstract metrics(): Promise<MetricsReport>;

  /** The processes running the data plane (one entry, this process, when in-process). */
  abstract workers(): WorkerStatus[];

  abstract on<Name extends keyof DataPlaneEvents>(
    name: Name,
    listener: DataPlaneEvents[Name],
  ): void;

  /** Stops accepting and lets open connections finish within the timeout (SIGTERM). */
  abstract drain(timeoutMs?: number): Promise<void>;
}
