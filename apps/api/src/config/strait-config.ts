/**
 * The validated service configuration and its defaults. Key names in comments are the YAML keys
 * (APISIX 3 `conf/config.yaml` names, plus Strait's own `strait:` section).
 */

export type ProxyMode = 'http' | 'stream' | 'http&stream';
export type AdminRole = 'admin' | 'viewer';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ConfigOrigin = 'argv' | 'env' | 'default';

/** An address one of the service's own HTTP servers binds. */
export interface ListenAddress {
  /** IP literal without brackets: '127.0.0.1', '0.0.0.0', '::1'. */
  readonly host: string;
  readonly port: number;
}

/**
 * One stream listener, ranges already expanded. Structurally a `ListenerSpec` of libs/proxy, plus
 * the fields the engine does not take (yet) and the key it came from.
 */
export interface ListenerEntry {
  readonly protocol: 'tcp' | 'udp';
  /** IP literal without brackets. A bare port binds '0.0.0.0', as nginx does. */
  readonly host: string;
  readonly port: number;
  /** `tls: true` on a tcp object entry: terminate TLS (certificates come from SSL objects). */
  readonly tls: boolean;
  /** Accept a PROXY protocol header (`proxy_protocol`, default `apisix.proxy_protocol.enable_tcp_pp`). */
  readonly proxyProtocol: boolean;
  /**
   * Send a PROXY header upstream (`proxy_protocol_to_upstream`, default
   * `apisix.proxy_protocol.enable_tcp_pp_to_upstream`). Always false for UDP: APISIX never sends it.
   */
  readonly proxyProtocolToUpstream: boolean;
  /** Where the entry was written, e.g. `apisix.stream_proxy.tcp[1]`, for bind errors and logs. */
  readonly configKey: string;
}

export interface AdminKey {
  readonly name: string;
  readonly key: string;
  /** `viewer` may only use GET (spec 1.1). */
  readonly role: AdminRole;
}

export interface AdminConfig {
  /** `deployment.admin.admin_listen`. */
  readonly listen: ListenAddress;
  /** `deployment.admin.admin_key`; empty means no key check at all (spec 1.1). */
  readonly keys: readonly AdminKey[];
  /** `deployment.admin.admin_key_required`; false disables the key check. */
  readonly keyRequired: boolean;
  /** `deployment.admin.allow_admin`: IPs and CIDRs, v4 or v6, as written. */
  readonly allow: readonly string[];
  /** `deployment.admin.enable_admin_cors` (or the APISIX 2 spot `apisix.enable_admin_cors`). */
  readonly cors: boolean;
  /** `deployment.admin.admin_api_version`; Strait serves only the v3 shapes. */
  readonly apiVersion: 'v3';
}

export interface DashboardConfig {
  /** Off when the admin API is off: the dashboard is a client of it. */
  readonly enabled: boolean;
  /** `strait.dashboard.listen`. */
  readonly listen: ListenAddress;
}

export interface DatabaseConfig {
  readonly type: 'sqlite';
  /** Absolute path, or ':memory:'. */
  readonly path: string;
}

export interface DataEncryptionConfig {
  /** `apisix.data_encryption.enable_encrypt_fields`: encrypt `upstream.tls.client_key` at rest. */
  readonly enabled: boolean;
  /** First key encrypts; every key is tried to decrypt (APISIX keyring semantics). */
  readonly keyring: readonly string[];
  /** True when the keyring is APISIX's published default: worth a startup warning. */
  readonly keyringIsDefault: boolean;
}

export const ACCESS_LOG_OUTPUTS = ['off', 'stdout', 'file'] as const;

export interface AccessLogConfig {
  /** `strait.access_log.output`: off (default), stdout, or file. */
  readonly output: (typeof ACCESS_LOG_OUTPUTS)[number];
  /** Absolute path for `file`. */
  readonly path: string;
  /** Seconds between progress records of open connections; 0 = only when they close. */
  readonly progressIntervalSeconds: number;
}

export interface PrometheusConfig {
  /** `prometheus` is in `stream_plugins` and `plugin_attr.prometheus.enable_export_server` is on. */
  readonly enabled: boolean;
  readonly exportAddr: ListenAddress;
  readonly exportUri: string;
  readonly metricPrefix: string;
}

export interface StraitConfig {
  /** Absolute path of the file that was loaded (undefined when built from a value in tests). */
  readonly file?: string;
  /** How the file was chosen. */
  readonly origin?: ConfigOrigin;
  /** Directory relative paths in the file (database path) were resolved against. */
  readonly homeDir: string;
  /** `apisix.enable_admin`: false turns off the admin API and the dashboard. */
  readonly adminEnabled: boolean;
  /** Stream routes may be managed and listeners are opened (see `resolveStreamEnabled`). */
  readonly streamEnabled: boolean;
  /** `apisix.proxy_mode` as written; undefined when absent. */
  readonly proxyMode?: ProxyMode;
  /** Listeners to open, one per port; empty when stream is disabled. */
  readonly listeners: readonly ListenerEntry[];
  readonly admin: AdminConfig;
  readonly dashboard: DashboardConfig;
  readonly database: DatabaseConfig;
  readonly logLevel: LogLevel;
  /** `strait.udp.session_limit`; undefined leaves the engine's default. */
  readonly udpSessionLimit?: number;
  /**
   * `nginx_config.stream.real_ip_from`: peers (IP or CIDR) whose PROXY protocol header sets the
   * client address; undefined believes every peer (see README).
   */
  readonly realIpFrom?: readonly string[];
  readonly accessLog: AccessLogConfig;
  /**
   * `strait.handshake_timeout`: seconds from accept until the PROXY header and the TLS handshake
   * are complete on tls / proxy_protocol listeners; undefined leaves the engine's 10 s.
   */
  readonly handshakeTimeoutSeconds?: number;
  /** `strait.drain_timeout`: seconds SIGTERM waits for open connections before cutting them. */
  readonly drainTimeoutSeconds: number;
  /**
   * `strait.workers`: data-plane processes, `auto` resolved to the CPU count. 1 (the default) runs
   * the engine inside the API process; more forks that many worker processes sharing the listeners.
   * APISIX's `nginx_config.worker_processes` is deliberately not read (see README).
   */
  readonly workers: number;
  /**
   * `apisix.enable_reuseport` (APISIX's default: true, which puts `reuseport` on every stream
   * listener of its nginx config). With workers: each one binds its own SO_REUSEPORT socket per
   * native TCP listener and the kernel spreads new connections over them by a hash. False: the
   * workers share one socket per listener and each new connection wakes one waiting worker, so a
   * stuck worker takes none. No effect with one data-plane process.
   */
  readonly reusePort: boolean;
  /** `apisix.ssl.fallback_sni`, lower-cased. */
  readonly fallbackSni?: string;
  readonly dataEncryption: DataEncryptionConfig;
  /** `stream_plugins`, in the order written (the plugin runner sorts by priority). */
  readonly streamPlugins: readonly string[];
  readonly prometheus: PrometheusConfig;
  /**
   * Keys present in the file that Strait does not use, as dotted paths (`nginx_config`,
   * `apisix.node_listen`, `plugin_attr.log-rotate`), in file order. The caller logs them once.
   */
  readonly ignoredKeys: readonly string[];
}

/** `apisix/cli/config.lua` at APISIX 3.18: the stream plugins enabled out of the box. */
export const DEFAULT_STREAM_PLUGINS: readonly string[] = Object.freeze([
  'ip-restriction',
  'limit-conn',
  'mqtt-proxy',
  'syslog',
  'traffic-split',
]);

/**
 * APISIX's built-in keyring (`apisix/cli/config.lua`). It is public, so it only obfuscates; kept
 * as the default so encrypted fields stay readable by an APISIX using its defaults.
 */
export const DEFAULT_KEYRING: readonly string[] = Object.freeze([
  'qeddd145sfvddff3',
  'edd1c9f0985e76a2',
]);

/**
 * APISIX's default; no `::1`: the admin API binds IPv4 loopback by default, so an IPv6 client can
 * only appear after the operator changes `admin_listen`, and then should choose the list too.
 */
export const DEFAULT_ALLOW_ADMIN: readonly string[] = Object.freeze(['127.0.0.0/24']);

export const DEFAULTS = Object.freeze({
  enableAdmin: true,
  enableAdminCors: true,
  adminKeyRequired: true,
  /** APISIX binds 0.0.0.0; Strait binds loopback until told otherwise. */
  adminListen: Object.freeze({ host: '127.0.0.1', port: 9180 }),
  adminApiVersion: 'v3' as const,
  dashboardListen: Object.freeze({ host: '127.0.0.1', port: 9000 }),
  databasePath: 'data/strait.db',
  accessLogPath: 'logs/access.log',
  drainTimeoutSeconds: 10,
  workers: 1,
  /** APISIX's config-default.yaml. */
  enableReuseport: true,
  /** Upper bound of `strait.workers`: far beyond any core count, low enough to catch typos. */
  maxWorkers: 256,
  logLevel: 'info' as LogLevel,
  enableEncryptFields: true,
  prometheusExportAddr: Object.freeze({ host: '127.0.0.1', port: 9091 }),
  prometheusEnableExportServer: true,
  prometheusExportUri: '/apisix/prometheus/metrics',
  prometheusMetricPrefix: 'apisix_',
  /** A single `a-b` range may not expand to more listeners than this. */
  maxPortsPerRange: 1000,
});

/**
 * Strait's stream switch. APISIX 3.5+ needs `proxy_mode: stream | http&stream`; Strait is a stream
 * proxy, so listing listeners is enough, unless `proxy_mode: http` says otherwise.
 */
export function resolveStreamEnabled(
  proxyMode: ProxyMode | undefined,
  listenerCount: number,
): boolean {
  switch (proxyMode) {
    case 'http':
      return false;
    case 'stream':
    case 'http&stream':
      return true;
    case undefined:
      return listenerCount > 0;
  }
}
