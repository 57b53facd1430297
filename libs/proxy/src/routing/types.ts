import type { StreamRouteSpec, TransportProtocol } from '../config';

/** What the engine knows about a connection when it picks a route (nginx stream variables). */
export interface ConnectionContext {
  protocol: TransportProtocol;
  remoteAddr: string;
  remotePort: number;
  /** The local address that accepted the connection (IPv4-mapped IPv6 already unwrapped). */
  serverAddr: string;
  /** The listener's port. */
  serverPort: number;
  /** Handshake SNI (or fallback_sni), lower-cased, no trailing dot. */
  sni?: string;
  /** Further variables set by plugins, e.g. mqtt_client_id. */
  vars?: Record<string, string | undefined>;
}

/** Why a route did not win, for the match debugger: the first criterion that failed. */
export type MatchFailure =
  'sni' | 'remote_addr' | 'server_addr' | 'server_port' | 'shadowed' | 'subordinate';

export interface MatchExplanation {
  matched?: StreamRouteSpec;
  /** Every other route with the first criterion it failed ('shadowed' = matched, but an earlier route won). */
  others: { route: StreamRouteSpec; failed: MatchFailure }[];
}

/** Routes compiled into indexes once per config change; match() must not scan every route. */
export interface RouteTable {
  match(context: ConnectionContext): StreamRouteSpec | undefined;
  explain(context: ConnectionContext): MatchExplanation;
  readonly size: number;
}
