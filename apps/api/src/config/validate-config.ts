/**
 * Turns the parsed config.yaml into a typed, frozen `StraitConfig`: APISIX 3 keys where Strait has
 * a use for them, Strait's own `strait:` section, defaults for everything else. Spec 3.1 (startup
 * validation) and 1.1 (admin listener and keys).
 */
import { isAbsolute, resolve } from 'node:path';
import { isIP } from 'node:net';
import { isValidIpOrCidr } from '@strait/proxy';
import { availableParallelism } from 'node:os';
import { ConfigError } from './config-error';
import {
  ConfigSection,
  describeType,
  describeValue,
  formatChoices,
  isPlainObject,
  joinKey,
  parseIpLiteral,
} from './config-values';
import {
  assertNoDuplicateListeners,
  canonicalHost,
  expandListenerList,
  formatHostPort,
} from './listener-entries';
import {
  ACCESS_LOG_OUTPUTS,
  DEFAULT_ALLOW_ADMIN,
  DEFAULT_KEYRING,
  DEFAULT_STREAM_PLUGINS,
  DEFAULTS,
  resolveStreamEnabled,
  type AccessLogConfig,
  type AdminConfig,
  type AdminKey,
  type AdminRole,
  type ConfigOrigin,
  type DataEncryptionConfig,
  type ListenAddress,
  type LogLevel,
  type PrometheusConfig,
  type ProxyMode,
  type StraitConfig,
} from './strait-config';

export interface ValidateConfigOptions {
  /** Directory relative paths (the database path) are resolved against. */
  readonly homeDir: string;
  readonly file?: string;
  readonly origin?: ConfigOrigin;
}

const PROXY_MODES: readonly ProxyMode[] = ['http', 'stream', 'http&stream'];
const ADMIN_ROLES: readonly AdminRole[] = ['admin', 'viewer'];
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const PORT_RANGE = { min: 1, max: 65535 };
/** Sections read here; any other top-level key belongs to APISIX features Strait lacks. */
const USED_SECTIONS = [
  'apisix',
  'deployment',
  'stream_plugins',
  'plugin_attr',
  'strait',
  'nginx_config',
];

export function validateConfig(raw: unknown, options: ValidateConfigOptions): StraitConfig {
  const root = ConfigSection.of('', raw);
  const ignoredKeys: string[] = [];

  const apisix = root.section('apisix');
  const adminEnabled = apisix.boolean('enable_admin', DEFAULTS.enableAdmin);
  const reusePort = apisix.boolean('enable_reuseport', DEFAULTS.enableReuseport);
  const legacyCors = apisix.optionalBoolean('enable_admin_cors');
  const proxyMode = apisix.optionalEnum('proxy_mode', PROXY_MODES);

  const proxyProtocol = apisix.section('proxy_protocol');
  const streamDefaults = {
    proxyProtocol: proxyProtocol.boolean('enable_tcp_pp', false),
    proxyProtocolToUpstream: proxyProtocol.boolean('enable_tcp_pp_to_upstream', false),
  };
  ignoredKeys.push(...proxyProtocol.unreadKeys());

  // `only` is the pre-3.5 switch that `proxy_mode` replaced; Strait has no HTTP proxy to turn off.
  const streamProxy = apisix.section('stream_proxy');
  const configuredListeners = [
    ...expandListenerList(
      'tcp',
      streamProxy.raw('tcp'),
      streamProxy.keyOf('tcp'),
      streamDefaults,
      ignoredKeys,
    ),
    ...expandListenerList(
      'udp',
      streamProxy.raw('udp'),
      streamProxy.keyOf('udp'),
      streamDefaults,
      ignoredKeys,
    ),
  ];
  assertNoDuplicateListeners(configuredListeners);
  const streamEnabled = resolveStreamEnabled(proxyMode, configuredListeners.length);
  if (streamEnabled) {
    ignoredKeys.push(...streamProxy.unreadKeys());
  } else if (!streamProxy.absent) {
    ignoredKeys.push(streamProxy.key);
  }
  const listeners = streamEnabled ? configuredListeners : [];

  const ssl = apisix.section('ssl');
  const fallbackSni = readFallbackSni(ssl);
  ignoredKeys.push(...ssl.unreadKeys());

  const dataEncryption = readDataEncryption(apisix.section('data_encryption'), ignoredKeys);
  ignoredKeys.push(...apisix.unreadKeys());

  const deployment = root.section('deployment');
  const admin = readAdmin(deployment.section('admin'), legacyCors, ignoredKeys);
  ignoredKeys.push(...deployment.unreadKeys());

  const realIpFrom = readRealIpFrom(root.raw('nginx_config'), ignoredKeys);
  const streamPlugins = readStreamPlugins(root);
  const pluginAttr = root.section('plugin_attr');
  const prometheus = readPrometheus(pluginAttr.section('prometheus'), streamPlugins, ignoredKeys);
  ignoredKeys.push(...pluginAttr.unreadKeys());

  const strait = root.section('strait');
  const dashboard = strait.section('dashboard');
  const dashboardListen = readListenAddress(dashboard, 'listen', DEFAULTS.dashboardListen, null);
  dashboard.rejectUnreadKeys();
  const database = readDatabase(strait.section('database'), options.homeDir);
  const log = strait.section('log');
  const logLevel = log.optionalEnum('level', LOG_LEVELS) ?? DEFAULTS.logLevel;
  log.rejectUnreadKeys();
  const udp = strait.section('udp');
  const udpSessionLimit = udp.optionalInteger('session_limit', { min: 1, max: 10_000_000 });
  udp.rejectUnreadKeys();
  const accessLog = readAccessLog(strait.section('access_log'), options.homeDir);
  const drainTimeoutSeconds =
    strait.optionalInteger('drain_timeout', { min: 0, max: 86_400 }) ??
    DEFAULTS.drainTimeoutSeconds;
  const handshakeTimeoutSeconds = strait.optionalInteger('handshake_timeout', {
    min: 1,
    max: 3600,
  });
  const workers = readWorkers(strait);
  strait.rejectUnreadKeys();

  for (const name of root.unreadKeys()) {
    if (!USED_SECTIONS.includes(name)) ignoredKeys.push(name);
  }

  checkAdminToken(admin, adminEnabled);
  checkAddressConflicts([
    ...(adminEnabled ? [{ key: 'deployment.admin.admin_listen', address: admin.listen }] : []),
    ...(adminEnabled ? [{ key: 'strait.dashboard.listen', address: dashboardListen }] : []),
    ...(prometheus.enabled
      ? [{ key: 'plugin_attr.prometheus.export_addr', address: prometheus.exportAddr }]
      : []),
    ...listeners
      .filter((listener) => listener.protocol === 'tcp')
      .map((listener) => ({ key: listener.configKey, address: listener })),
  ]);

  const config: StraitConfig = {
    file: options.file,
    origin: options.origin,
    homeDir: options.homeDir,
    adminEnabled,
    streamEnabled,
    proxyMode,
    listeners,
    admin,
    dashboard: { enabled: adminEnabled, listen: dashboardListen },
    database,
    logLevel,
    udpSessionLimit,
    realIpFrom,
    handshakeTimeoutSeconds,
    accessLog,
    drainTimeoutSeconds,
    workers,
    reusePort,
    fallbackSni,
    dataEncryption,
    streamPlugins,
    prometheus,
    ignoredKeys: inDocumentOrder(ignoredKeys, raw),
  };
  return deepFreeze(config);
}

/**
 * `nginx_config` feeds APISIX's nginx template; of it Strait reads only `stream.real_ip_from`, the
 * peers trusted to send a PROXY protocol header. Without that key the whole section is ignored
 * unchecked (an APISIX file starts unchanged); with it, the key is validated and the rest of the
 * section listed as ignored.
 */
function readRealIpFrom(raw: unknown, ignoredKeys: string[]): readonly string[] | undefined {
  const stream = isPlainObject(raw) ? raw.stream : undefined;
  const value = isPlainObject(stream) ? stream.real_ip_from : undefined;
  if (value === undefined || value === null) {
    if (raw !== undefined && raw !== null) ignoredKeys.push('nginx_config');
    return undefined;
  }
  const nginx = ConfigSection.of('nginx_config', raw);
  const streamSection = nginx.section('stream');
  const key = streamSection.keyOf('real_ip_from');
  // nginx accepts one address or a list; so does APISIX's template.
  const entries = typeof value === 'string' ? [value] : streamSection.optionalList('real_ip_from');
  streamSection.raw('real_ip_from');
  const list: string[] = [];
  (entries ?? []).forEach((entry, index) => {
    // `unix:` (nginx's word for unix-socket peers) names nothing a stream listener accepts from.
    if (entry === 'unix:') return;
    if (typeof entry !== 'string' || !isValidIpOrCidr(entry)) {
      throw new ConfigError(
        `${key}[${index}]`,
        `must be an IP address, a CIDR or "unix:", got ${describeValue(entry)}`,
      );
    }
    list.push(entry);
  });
  ignoredKeys.push(...streamSection.unreadKeys(), ...nginx.unreadKeys());
  return list;
}

function readFallbackSni(ssl: ConfigSection): string | undefined {
  const value = ssl.optionalString('fallback_sni');
  if (value === undefined) return undefined;
  if (!isHostName(value)) {
    throw new ConfigError(
      ssl.keyOf('fallback_sni'),
      `must be a host name, got ${describeValue(value)}`,
    );
  }
  // SNI matching is case-blind and the SSL objects' snis are stored lower-cased.
  return value.toLowerCase().replace(/\.$/, '');
}

/** A DNS name as SNI carries it (RFC 6066 section 3): no IP literal, port or wildcard. */
function isHostName(value: string): boolean {
  const label = '[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?';
  const name = new RegExp(`^${label}(\\.${label})*\\.?$`);
  return value.length <= 253 && name.test(value) && isIP(value) === 0;
}

function readDataEncryption(section: ConfigSection, ignoredKeys: string[]): DataEncryptionConfig {
  const enabled = section.boolean('enable_encrypt_fields', DEFAULTS.enableEncryptFields);
  const raw = section.raw('keyring');
  ignoredKeys.push(...section.unreadKeys());
  if (raw === undefined) {
    return { enabled, keyring: DEFAULT_KEYRING, keyringIsDefault: true };
  }
  const key = section.keyOf('keyring');
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list)) {
    throw new ConfigError(
      key,
      `must be a list of 16- or 32-character strings, got ${describeType(raw)}`,
    );
  }
  if (list.length === 0) throw new ConfigError(key, 'must list at least one key');
  const keyring = list.map((item: unknown, index) => {
    const itemKey = typeof raw === 'string' ? key : joinKey(key, index);
    if (typeof item !== 'string') {
      throw new ConfigError(itemKey, `must be a string, got ${describeType(item)}`);
    }
    // Each key is both the AES key and its IV, so only AES-128 and AES-256 lengths work
    // (apisix/cli/schema.lua keyring_key_schema); APISIX counts bytes.
    const length = Buffer.byteLength(item);
    if (length !== 16 && length !== 32) {
      throw new ConfigError(
        itemKey,
        `must be 16 or 32 bytes long (AES-128 or AES-256), got ${length}`,
      );
    }
    return item;
  });
  const keyringIsDefault =
    keyring.length === DEFAULT_KEYRING.length &&
    keyring.every((item, index) => item === DEFAULT_KEYRING[index]);
  return { enabled, keyring, keyringIsDefault };
}

function readAdmin(
  section: ConfigSection,
  legacyCors: boolean | undefined,
  ignoredKeys: string[],
): AdminConfig {
  const keys = readAdminKeys(section, ignoredKeys);
  const keyRequired = section.boolean('admin_key_required', DEFAULTS.adminKeyRequired);
  const listen = readListenAddress(section, 'admin_listen', DEFAULTS.adminListen, ignoredKeys);
  const allow = readAllowAdmin(section);
  // APISIX 3 reads deployment.admin.enable_admin_cors; APISIX 2 had it under apisix.
  const cors =
    section.optionalBoolean('enable_admin_cors') ?? legacyCors ?? DEFAULTS.enableAdminCors;
  const apiVersion = section.optionalString('admin_api_version');
  if (apiVersion !== undefined && apiVersion !== 'v3') {
    throw new ConfigError(
      section.keyOf('admin_api_version'),
      `only "v3" is supported, got ${describeValue(apiVersion)}`,
    );
  }
  // Ignoring this would serve the admin API in clear text to someone who asked for TLS.
  if (section.optionalBoolean('https_admin') === true) {
    throw new ConfigError(
      section.keyOf('https_admin'),
      'HTTPS for the admin API is not supported by Strait; put a TLS proxy in front or set it to false',
    );
  }
  ignoredKeys.push(...section.unreadKeys());
  return { listen, keys, keyRequired, allow, cors, apiVersion: DEFAULTS.adminApiVersion };
}

function readAdminKeys(section: ConfigSection, ignoredKeys: string[]): AdminKey[] {
  const list = section.optionalList('admin_key');
  if (list === undefined) return [];
  const listKey = section.keyOf('admin_key');
  const keys: AdminKey[] = [];
  const firstIndexByKey = new Map<string, number>();
  list.forEach((item: unknown, index) => {
    const entry = ConfigSection.of(joinKey(listKey, index), item);
    const name = entry.optionalString('name') ?? `admin_key[${index}]`;
    const key = entry.raw('key');
    if (key === undefined) throw new ConfigError(entry.keyOf('key'), 'is required');
    if (typeof key !== 'string') {
      // Not echoed: it is a secret. A YAML number also loses digits (123e4567 is Infinity).
      throw new ConfigError(
        entry.keyOf('key'),
        `must be a string (quote it in YAML), got ${describeType(key)}`,
      );
    }
    if (key === '') {
      // APISIX generates a key and writes it back into config.yaml; Strait never rewrites the file.
      throw new ConfigError(
        entry.keyOf('key'),
        'must not be empty: set a key (APISIX would generate one and write it into config.yaml; Strait never rewrites the file)',
      );
    }
    const role = entry.optionalEnum('role', ADMIN_ROLES);
    if (role === undefined) {
      throw new ConfigError(
        entry.keyOf('role'),
        `must be ${formatChoices(ADMIN_ROLES)}, got nothing`,
      );
    }
    const earlier = firstIndexByKey.get(key);
    if (earlier !== undefined) {
      throw new ConfigError(entry.keyOf('key'), `same key as ${joinKey(listKey, earlier)}`);
    }
    firstIndexByKey.set(key, index);
    ignoredKeys.push(...entry.unreadKeys());
    keys.push({ name, key, role });
  });
  return keys;
}

/**
 * IPs and CIDRs, normalised to CIDR (`10.0.0.1` -> `10.0.0.1/32`) so the guard only deals with
 * subnets. nginx's `all` is accepted, as APISIX writes the list into `allow` directives.
 */
function readAllowAdmin(section: ConfigSection): string[] {
  const list = section.optionalList('allow_admin');
  if (list === undefined) return [...DEFAULT_ALLOW_ADMIN];
  const listKey = section.keyOf('allow_admin');
  if (list.length === 0) {
    throw new ConfigError(
      listKey,
      'an empty list denies every client; remove the key for the default, or set apisix.enable_admin: false',
    );
  }
  return list.flatMap((item: unknown, index) => {
    const itemKey = joinKey(listKey, index);
    if (typeof item !== 'string') {
      throw new ConfigError(itemKey, `must be an IP or CIDR string, got ${describeValue(item)}`);
    }
    if (item === 'all') return ['0.0.0.0/0', '::/0'];
    const cidr = normaliseCidr(item);
    if (cidr === undefined)
      throw new ConfigError(itemKey, `invalid IP or CIDR: ${describeValue(item)}`);
    return [cidr];
  });
}

export function normaliseCidr(text: string): string | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return undefined;
  const maxPrefix = family === 4 ? 32 : 128;
  if (slash < 0) return `${address.toLowerCase()}/${maxPrefix}`;
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix) return undefined;
  return `${address.toLowerCase()}/${Number(prefixText)}`;
}

/**
 * `{ip, port}`. Unknown keys inside go to `ignoredKeys` (APISIX sections) or, when it is null
 * (Strait's own section), are errors.
 */
function readListenAddress(
  parent: ConfigSection,
  name: string,
  fallback: ListenAddress,
  ignoredKeys: string[] | null,
): ListenAddress {
  const section = parent.section(name);
  const ip = section.optionalString('ip');
  let host = fallback.host;
  if (ip !== undefined) {
    const literal = parseIpLiteral(ip);
    if (literal === undefined) {
      throw new ConfigError(section.keyOf('ip'), `must be an IP address, got ${describeValue(ip)}`);
    }
    host = literal;
  }
  const port = section.optionalInteger('port', PORT_RANGE) ?? fallback.port;
  if (ignoredKeys === null) section.rejectUnreadKeys();
  else ignoredKeys.push(...section.unreadKeys());
  return { host, port };
}

function readDatabase(section: ConfigSection, homeDir: string): { type: 'sqlite'; path: string } {
  section.optionalEnum('type', ['sqlite'] as const);
  const path = section.optionalString('path') ?? DEFAULTS.databasePath;
  section.rejectUnreadKeys();
  if (path === ':memory:') return { type: 'sqlite', path };
  return { type: 'sqlite', path: isAbsolute(path) ? path : resolve(homeDir, path) };
}

/** `strait.access_log`: one JSON line per connection; `progress_interval` adds records for long ones. */
function readAccessLog(section: ConfigSection, homeDir: string): AccessLogConfig {
  const output = section.optionalEnum('output', ACCESS_LOG_OUTPUTS) ?? 'off';
  const path = section.optionalString('path') ?? DEFAULTS.accessLogPath;
  const progressInterval =
    section.optionalInteger('progress_interval', { min: 0, max: 86_400 }) ?? 0;
  section.rejectUnreadKeys();
  return {
    output,
    path: isAbsolute(path) ? path : resolve(homeDir, path),
    progressIntervalSeconds: progressInterval,
  };
}

/**
 * `strait.workers`: a positive integer or `auto` (one per CPU the process may use). APISIX's
 * `nginx_config.worker_processes` is not a fallback: APISIX ships it as `auto`, so every migrated
 * file would silently turn into one process per core.
 */
function readWorkers(strait: ConfigSection): number {
  const raw = strait.raw('workers');
  if (raw === undefined) return DEFAULTS.workers;
  if (raw === 'auto') return Math.min(DEFAULTS.maxWorkers, availableParallelism());
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1) {
    throw new ConfigError(
      strait.keyOf('workers'),
      `must be a positive integer or "auto", got ${describeValue(raw)}`,
    );
  }
  if (raw > DEFAULTS.maxWorkers) {
    throw new ConfigError(
      strait.keyOf('workers'),
      `must be at most ${DEFAULTS.maxWorkers}, got ${raw}`,
    );
  }
  return raw;
}

function readStreamPlugins(root: ConfigSection): string[] {
  const list = root.optionalList('stream_plugins');
  if (list === undefined) return [...DEFAULT_STREAM_PLUGINS];
  const seen = new Set<string>();
  return list.map((item: unknown, index) => {
    const key = joinKey('stream_plugins', index);
    if (typeof item !== 'string' || item.trim() === '') {
      throw new ConfigError(key, `must be a plugin name, got ${describeValue(item)}`);
    }
    if (seen.has(item)) throw new ConfigError(key, `"${item}" is listed twice`);
    seen.add(item);
    return item;
  });
}

function readPrometheus(
  section: ConfigSection,
  streamPlugins: readonly string[],
  ignoredKeys: string[],
): PrometheusConfig {
  const exportAddr = readListenAddress(
    section,
    'export_addr',
    DEFAULTS.prometheusExportAddr,
    ignoredKeys,
  );
  const exportServer = section.boolean(
    'enable_export_server',
    DEFAULTS.prometheusEnableExportServer,
  );
  const exportUri = section.optionalString('export_uri') ?? DEFAULTS.prometheusExportUri;
  if (!exportUri.startsWith('/')) {
    throw new ConfigError(
      section.keyOf('export_uri'),
      `must start with "/", got ${describeValue(exportUri)}`,
    );
  }
  const metricPrefix = section.optionalString('metric_prefix') ?? DEFAULTS.prometheusMetricPrefix;
  const wanted = streamPlugins.includes('prometheus');
  if (wanted && !exportServer) {
    // APISIX's own message (apisix/cli/ops.lua): stream metrics have no other way out.
    throw new ConfigError(
      section.keyOf('enable_export_server'),
      'L4 prometheus metric should be exposed via export server',
    );
  }
  ignoredKeys.push(...section.unreadKeys());
  return { enabled: wanted && exportServer, exportAddr, exportUri, metricPrefix };
}

/**
 * APISIX refuses to start with the admin API reachable beyond the loopback default and no key
 * (`apisix/cli/ops.lua`: "missing valid Admin API token").
 */
function checkAdminToken(admin: AdminConfig, adminEnabled: boolean): void {
  if (!adminEnabled || !admin.keyRequired || admin.keys.length > 0) return;
  const loopbackDefault = admin.allow.length === 1 && admin.allow[0] === DEFAULT_ALLOW_ADMIN[0];
  if (loopbackDefault) return;
  throw new ConfigError(
    'deployment.admin.admin_key',
    'missing valid Admin API token: set one, or set admin_key_required: false, when allow_admin is not the loopback default',
  );
}

interface NamedAddress {
  readonly key: string;
  readonly address: ListenAddress;
}

/** Two servers of the service on one TCP port would fail at bind time; say which keys collide. */
function checkAddressConflicts(addresses: readonly NamedAddress[]): void {
  for (let later = 1; later < addresses.length; later++) {
    for (let earlier = 0; earlier < later; earlier++) {
      const a = addresses[earlier];
      const b = addresses[later];
      if (a.address.port !== b.address.port || !hostsOverlap(a.address.host, b.address.host))
        continue;
      // Stream listeners among themselves were checked for duplicates; wildcard plus specific is legal there.
      if (a.key.startsWith('apisix.stream_proxy') && b.key.startsWith('apisix.stream_proxy'))
        continue;
      throw new ConfigError(
        b.key,
        `${formatHostPort(b.address.host, b.address.port)} conflicts with ${a.key} (${formatHostPort(a.address.host, a.address.port)})`,
      );
    }
  }
}

/** Node binds '::' dual-stack, so it overlaps every address; '0.0.0.0' overlaps IPv4 ones. */
function hostsOverlap(first: string, second: string): boolean {
  const a = canonicalHost(first);
  const b = canonicalHost(second);
  if (a === b || a === '::' || b === '::') return true;
  if (a === '0.0.0.0') return isIP(b) === 4;
  if (b === '0.0.0.0') return isIP(a) === 4;
  return false;
}

/** Orders ignored keys as they appear in the file, so the startup line reads like the file. */
function inDocumentOrder(keys: readonly string[], raw: unknown): string[] {
  const order = new Map<string, number>();
  const walk = (value: unknown, key: string): void => {
    if (key !== '' && !order.has(key)) order.set(key, order.size);
    if (Array.isArray(value)) value.forEach((item, index) => walk(item, joinKey(key, index)));
    else if (isPlainObject(value)) {
      for (const [name, child] of Object.entries(value)) walk(child, joinKey(key, name));
    }
  };
  walk(raw, '');
  const unique = [...new Set(keys)];
  const last = Number.MAX_SAFE_INTEGER;
  return unique.sort((a, b) => (order.get(a) ?? last) - (order.get(b) ?? last));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
