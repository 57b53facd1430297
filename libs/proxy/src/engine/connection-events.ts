import type { TransportProtocol } from '../config';
import type { HealthChangedEvent } from '../health/health-types';
import type { ProxyError, ProxyErrorCode } from './errors';

/**
 * nginx stream `$status` vocabulary (spec 3.3): 200 ok, 400 bad client data, 403 forbidden,
 * 404 (ip-restriction `response_code: 404`), 500 internal error, 502 upstream connect failed,
 * 503 service unavailable (no route, no upstream, no node, unknown balancer, limit-conn, mqtt).
 */
export type ConnectionStatus = 200 | 400 | 403 | 404 | 500 | 502 | 503;

/**
 * What a connection's counters read when it opens and when it closes (engine.observeConnections):
 * the engine hands over the connection itself, not a copy, so counting builds nothing per
 * connection. ConnectionSummary has these fields too. Read it during the call only.
 */
export interface ConnectionTally {
  readonly id: number;
  readonly routeId?: string;
  readonly status: ConnectionStatus;
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  /** Milliseconds the relaying node took to connect (TCP). */
  readonly connectMs?: number;
}

/** Subscribes to every connection's open and close, synchronously, before the events. */
export interface ConnectionObserver {
  opened(connection: ConnectionTally): void;
  closed(connection: ConnectionTally): void;
}

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
  /** Set when a PROXY protocol header supplied remoteAddr/remotePort. */
  proxyProtocol?: ProxyProtocolInfo;
  /** Set for connections accepted on a TLS listener. */
  tls?: TlsConnectionInfo;
}

/**
 * What a PROXY header said beyond the client address (nginx `$proxy_protocol_*`). remoteAddr and
 * remotePort carry the header's source, as nginx's realip does for `$remote_addr`; serverAddr and
 * serverPort stay the local address and listener port (`$server_addr`, `$server_port`), which is
 * what stream routes match on in APISIX (spec 3.4).
 */
export interface ProxyProtocolInfo {
  /** The TCP peer that sent the header: the load balancer. */
  readonly peerAddr: string;
  readonly peerPort: number;
  /**
   * The client the header names (`$proxy_protocol_addr`); the connection's remote address when
   * the peer is trusted (realIpFrom), else only reported here.
   */
  readonly sourceAddr: string;
  readonly sourcePort: number;
  /** The address the client connected to on the balancer (`$proxy_protocol_server_addr`). */
  readonly destinationAddr: string;
  readonly destinationPort: number;
}

export interface TlsConnectionInfo {
  /** The SSL object whose certificate was served. */
  certificateId: string;
  /** `TLSv1.3`, `TLSv1.2`... */
  protocol: string | null;
  /** True when the client resumed a session (ticket) instead of a full handshake. */
  resumed: boolean;
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

/**
 * What engine.sampleConnections() reports of one live connection: where it came in, its route and
 * its byte counts. The engine fills one object for every connection of a sample, so a sample of
 * any size allocates nothing: read it in the callback, do not keep it.
 */
export interface ConnectionSample {
  id: number;
  listenerId: string;
  protocol: TransportProtocol;
  routeId?: string;
  bytesFromClient: number;
  bytesToClient: number;
}

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
  /** A health check moved a node out of (or back into) its upstream's pool. */
  'health:changed': HealthChangedEvent;
  /** A client on a tls or proxyProtocol listener was turned away before routing. */
  'handshake:error': HandshakeErrorEvent;
  /** apply() could not load an SSL object's certificate or key. */
  'certificate:error': CertificateErrorEvent;
}

/**
 * A client on a tls or proxyProtocol listener was turned away before it was routed: bad PROXY
 * header, no certificate for its SNI, failed handshake, rejected client certificate, timeout.
 * Such a client never becomes a connection (no opened/closed events, no upstream contact).
 */
export interface HandshakeErrorEvent {
  listenerId: string;
  /** The client as far as known: the PROXY header's source once read, else the TCP peer. */
  remoteAddr: string | undefined;
  remotePort: number | undefined;
  /** The normalised SNI (or fallback_sni) once the ClientHello was read. */
  sni?: string;
  /** The SSL object selected, when the failure came after selection. */
  certificateId?: string;
  /** An ERR_HANDSHAKE_*, ERR_PROXY_PROTOCOL or ERR_TLS_* code; `cause` holds Node's error. */
  error: ProxyError;
}

/** An SSL object apply() could not load; handshakes selecting it fail (ERR_TLS_CERTIFICATE_INVALID). */
export interface CertificateErrorEvent {
  certificateId: string;
  error: Error;
}

/** Handshake counters since the engine started (tls and proxyProtocol listeners). */
export interface HandshakeStats {
  /** Handshakes (PROXY header and/or TLS) that reached routing. */
  completed: number;
  /** Of those, TLS handshakes that resumed a session from a ticket. */
  resumed: number;
  /** Failures by code. */
  failed: Partial<Record<ProxyErrorCode, number>>;
  /** Handshakes in flight now (accepted, not yet routed or refused). */
  pending: number;
}
