/**
 * The engine's own configuration types. The control plane maps its stored objects (APISIX stream
 * routes, upstreams, services, SSL objects) into these once, in its adapter; the engine never sees
 * admin-API shapes, so it can be driven by any control plane (or a config file) later.
 *
 * All durations are in seconds, as in APISIX, unless a name says otherwise.
 */

export type TransportProtocol = 'tcp' | 'udp';

/** One address the engine listens on. Port ranges are expanded by the caller into one spec each. */
export interface ListenerSpec {
  protocol: TransportProtocol;
  /** IP literal to bind ('0.0.0.0', '::', '127.0.0.10', '::1'). */
  host: string;
  /** 0 asks the OS for an ephemeral port; the bound port is reported by listen(). */
  port: number;
  /** Terminate TLS on this TCP listener (certificates come from ProxyConfig.certificates). */
  tls?: boolean;
  /** Expect a PROXY protocol (v1/v2) header before any payload. */
  proxyProtocol?: boolean;
}

/** A listener after binding: the spec plus the address the OS actually gave us. */
export interface BoundListener extends ListenerSpec {
  /** Stable identifier, `tcp://127.0.0.1:9100`, used in events and metrics. */
  id: string;
}

export interface UpstreamNodeSpec {
  host: string;
  port: number;
  /** Weight 0 means "never picked unless every node has weight 0" (APISIX roundrobin). */
  weight: number;
  /** Higher priority groups are tried first; the next group only when the current one is exhausted. */
  priority: number;
}

export type BalancerType = 'roundrobin' | 'chash' | 'least_conn' | 'ewma';

export interface UpstreamTimeouts {
  connect: number;
  send: number;
  read: number;
}

export interface UpstreamTlsSpec {
  /** PEM client certificate and key for upstream mTLS. */
  clientCert?: string;
  clientKey?: string;
  /** Beyond APISIX: verify the upstream certificate (against `ca` or the system roots). */
  verify?: boolean;
  ca?: string;
}

export interface ActiveHealthCheckSpec {
  type: 'tcp' | 'udp' | 'http' | 'https';
  timeout: number;
  port?: number;
  healthyInterval: number;
  healthySuccesses: number;
  unhealthyInterval: number;
  unhealthyTcpFailures: number;
  unhealthyTimeouts: number;
  /** Probes in flight at once per upstream (lua-resty-healthcheck default 10). */
  concurrency?: number;
  /** UDP probes (beyond APISIX): payload to send and the reply expected (hex-free UTF-8 or base64 by caller). */
  udpSend?: Buffer;
  udpExpect?: Buffer;
}

export interface PassiveHealthCheckSpec {
  healthySuccesses: number;
  unhealthyTcpFailures: number;
  unhealthyTimeouts: number;
}

export interface HealthCheckSpec {
  active?: ActiveHealthCheckSpec;
  passive?: PassiveHealthCheckSpec;
}

export interface UpstreamSpec {
  /**
   * Identity of the upstream for state that must survive config changes (least_conn counters,
   * ewma scores, health state): '/apisix/upstreams/1' for a stored upstream, or
   * '/apisix/stream_routes/7#upstream' for one written inline in a route.
   */
  key: string;
  /** Changes whenever the upstream's configuration changes; balancers rebuild when it differs. */
  version: string;
  /** Unknown balancer types are kept as strings so the engine can close such connections (spec 3.10). */
  type: BalancerType | string;
  hashOn: 'vars' | 'header' | 'cookie' | 'consumer' | 'vars_combinations';
  /** chash key: a variable name (`remote_addr`) or, for vars_combinations, a `$a$b` template. */
  hashKey?: string;
  nodes: UpstreamNodeSpec[];
  /** Unset means nodes - 1 (spec 3.9). */
  retries?: number;
  retryTimeout?: number;
  timeout?: UpstreamTimeouts;
  scheme: 'tcp' | 'udp' | 'tls';
  tls?: UpstreamTlsSpec;
  checks?: HealthCheckSpec;
}

export interface StreamRouteSpec {
  id: string;
  /** IP or CIDR, v4 or v6. */
  remoteAddr?: string;
  serverAddr?: string;
  serverPort?: number;
  /** Exact name, `*.suffix` wildcard, or `*`; lower-cased by the adapter. */
  sni?: string;
  /**
   * The resolved upstream (inline, upstream_id or service, merged per spec 3.6). Undefined with
   * `upstreamError` set when the reference is dangling: the connection is then closed (503).
   */
  upstream?: UpstreamSpec;
  upstreamError?: string;
  /**
   * Stream plugin configurations keyed by plugin name (already merged with the service's), in
   * APISIX's shapes (spec 4), validated by the control plane; the engine fills in schema defaults.
   * One exception: traffic-split's `weighted_upstreams[]` carry engine upstreams, see
   * {@link TrafficSplitWeightedUpstream}.
   */
  plugins?: Record<string, unknown>;
}

/**
 * One `traffic-split` `rules[].weighted_upstreams[]` entry as the engine reads it. The adapter
 * resolves `upstream_id` and maps an inline `upstream` into `upstream` (an UpstreamSpec, keyed
 * `/apisix/upstreams/<id>` or e.g. `/apisix/stream_routes/1#traffic-split/0/1`). An entry with
 * `upstream_id` but no `upstream` names a missing upstream: connections that reach its rule are
 * closed (500), as APISIX does. An entry with neither means the route's own upstream.
 */
export interface TrafficSplitWeightedUpstream {
  upstream_id?: string | number;
  upstream?: UpstreamSpec;
  /** Default 1; 0 is never picked. */
  weight?: number;
}

export interface CertificateSpec {
  id: string;
  /** Lower-cased names without a trailing dot: exact, `*.suffix` or `*`. */
  snis: string[];
  /** One or more cert/key pairs (e.g. RSA and ECDSA for the same names). */
  pairs: { cert: string; key: string }[];
  /** PEM CA bundle: clients must present a certificate chaining to it (mTLS). */
  clientCa?: string;
  clientDepth?: number;
  /** Allowed protocol versions; TLS 1.2 is the floor when unset. */
  protocols?: ('TLSv1.1' | 'TLSv1.2' | 'TLSv1.3')[];
}

/** The complete desired state; apply() diffs it against the running state. */
export interface ProxyConfig {
  /** In store order: among equally specific candidates the earlier route wins (spec 3.4). */
  routes: StreamRouteSpec[];
  certificates: CertificateSpec[];
  /** Used when a TLS client sends no SNI (apisix.ssl.fallback_sni). */
  fallbackSni?: string;
  /**
   * Stored `plugin_metadata` objects by plugin name (`{syslog: {log_format: {...}}}`), for the
   * plugins that read metadata (syslog's `log_format` and `max_pending_entries`).
   */
  pluginMetadata?: Record<string, unknown>;
}

export interface ProxyEngineOptions {
  /** Maximum UDP sessions per listener; the oldest is evicted first. */
  udpSessionLimit?: number;
  /**
   * Seconds from accept until the PROXY header (proxyProtocol listeners) and the TLS handshake
   * (tls listeners) are complete; a client still short of that is cut. Default 10.
   */
  handshakeTimeout?: number;
  /**
   * OpenSSL cipher list for TLS listeners (apisix.ssl.ssl_ciphers); Node's default when unset.
   * TLS 1.1 (an SSL object's `protocols`) needs `...:@SECLEVEL=0` here under OpenSSL 3.
   */
  tlsCiphers?: string;
  /**
   * Secret (base64, at least 32 bytes) the session-ticket keys of TLS listeners are derived from.
   * Engines given the same secret resume each other's tickets: data-plane workers get one from
   * the API process, as nginx workers share the master's keys. Unset: a random secret per engine.
   */
  sessionTicketSecret?: string;
  /**
   * Peers (IP or CIDR) whose PROXY protocol header is believed (nginx `set_real_ip_from`,
   * APISIX `nginx_config.stream.real_ip_from`): for them the header's source address becomes the
   * connection's remote_addr; any other peer must still send a header, but keeps its own address
   * for matching, plugins and logs. Unset: every peer is believed.
   */
  realIpFrom?: readonly string[];
  /** Default idle timeout in seconds when an upstream sets none (nginx proxy_timeout 10m). */
  defaultIdleTimeout?: number;
  /** Default connect timeout in seconds when an upstream sets none (nginx 60s). */
  defaultConnectTimeout?: number;
}
