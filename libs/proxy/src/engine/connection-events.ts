import type { TransportProtocol } from '../config';
import type { ProxyErrorCode } from './errors';

/**
 * nginx stream `$status` vocabulary (spec 3.3): 200 ok, 400 bad client data, 403 forbidden,
 * 500 internal error, 502 upstream connect failed, 503 service unavailable (no route, no upstream,
 * no node, unknown balancer).
 */
export type ConnectionStatus = 200 | 400 | 403 | 500 | 502 | 503;

/** What is known about a connection when it is accepted and routed. */
export interface ConnectionInfo {
  /** Unique per engine, shared by TCP connections and UDP sessions. */
  id: number;
  protocol: TransportProtocol;
  listenerId: string;
  remoteAddr: string;
  remotePort: number;
  serverAddr: string;
  serverPort: number;
  sni?: string;
  routeId?: string;
  /** Epoch milliseconds. */
  startedAt: number;
}

/** Emitted exactly once per opened connection, when both sides are gone. */
export interface ConnectionSummary extends ConnectionInfo {
  /** The node that served the connection, `host:port` (`[v6]:port`). */
  node?: string;
  status: ConnectionStatus;
  /** Why the connection ended abnormally; absent for a normal end. */
  reason?: ProxyErrorCode;
  bytesFromClient: number;
  bytesToClient: number;
  durationMs: number;
  /** Time of the successful connect attempt (TCP only). */
  connectMs?: number;
  /** Connect attempts made (including the successful one). */
  attempts: number;
}

export type ConnectionPhase = 'routing' | 'connecting' | 'relaying' | 'closing';

/** A row of the live connection table (engine.connections()). */
export interface LiveConnection extends ConnectionInfo {
  node?: string;
  phase: ConnectionPhase;
  bytesFromClient: number;
  bytesToClient: number;
  ageMs: number;
  /** Bytes held in the proxy's user-space buffers per direction (back-pressure diagnostics). */
  bufferedToUpstream: number;
  bufferedToClient: number;
}

export interface ListenerErrorEvent {
  listenerId: string;
  error: Error;
}

export interface ProxyEngineEvents {
  'connection:opened': ConnectionInfo;
  'connection:closed': ConnectionSummary;
  /** A listener failed after it was bound (accept EMFILE, UDP send errors). */
  'listener:error': ListenerErrorEvent;
}
