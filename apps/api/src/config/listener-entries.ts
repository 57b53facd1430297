/**
 * `apisix.stream_proxy.{tcp,udp}` entries: parse, check with APISIX's messages
 * (`validate_port_or_range` in apisix/cli/ops.lua) and expand into one listener per port.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from './config-error';
import { DEFAULTS, type ListenerEntry } from './strait-config';
import { describeValue, isPlainObject } from './config-values';

/** An address entry once parsed: a host (undefined = all interfaces) and a port or port range. */
export interface ParsedListenAddress {
  /** IP literal as written (lower-cased, brackets removed); undefined for a bare port. */
  readonly host?: string;
  readonly firstPort: number;
  readonly lastPort: number;
}

export type ParseResult =
  | { readonly ok: true; readonly address: ParsedListenAddress }
  | { readonly ok: false; readonly reason: string };

const PORT_MIN = 1;
const PORT_MAX = 65535;

/**
 * Parses one address: a port number, or a string `port`, `a-b`, `ip:port`, `ip:a-b`, `[v6]:port`,
 * `[v6]:a-b`, `*:port`. Failure reasons reuse APISIX's wording where APISIX has one.
 */
export function parseListenAddress(value: unknown): ParseResult {
  if (typeof value === 'number') return parseNumericPort(value);
  if (typeof value !== 'string') {
    return fail(`invalid port value type: ${typeName(value)}`);
  }

  let hostPart: string | undefined;
  let portPart: string;
  if (value.startsWith('[')) {
    const bracketEnd = value.indexOf(']');
    if (bracketEnd < 0) return fail(`invalid address (unclosed "["): ${value}`);
    hostPart = value.slice(1, bracketEnd);
    const rest = value.slice(bracketEnd + 1);
    if (rest === '' || rest === ':') return fail(`missing port: ${value}`);
    if (!rest.startsWith(':')) return fail(`invalid port format: ${value}`);
    portPart = rest.slice(1);
    if (!isIPv6(hostPart)) return fail(`invalid address (expected an IPv6 literal): ${value}`);
  } else {
    const colon = value.indexOf(':');
    if (colon < 0) {
      portPart = value;
    } else {
      if (value.indexOf(':', colon + 1) >= 0) {
        // nginx would read "::1:9100" as a bad port, not as the address ::1.
        return fail(`invalid address (write IPv6 as "[addr]:port"): ${value}`);
      }
      hostPart = value.slice(0, colon);
      portPart = value.slice(colon + 1);
      if (hostPart === '') return fail(`missing address: ${value}`);
    }
  }

  const ports = parsePortPart(portPart, value);
  if (!ports.ok) return ports;

  if (hostPart === undefined || hostPart === '*') {
    return { ok: true, address: { firstPort: ports.first, lastPort: ports.last } };
  }
  if (!isIPv4(hostPart) && !isIPv6(hostPart)) {
    return fail(`invalid address (expected an IP literal; names are not resolved): ${value}`);
  }
  return {
    ok: true,
    address: { host: hostPart.toLowerCase(), firstPort: ports.first, lastPort: ports.last },
  };
}

function parseNumericPort(value: number): ParseResult {
  if (!Number.isInteger(value)) return fail(`port must be an integer, got: ${String(value)}`);
  if (value < PORT_MIN || value > PORT_MAX) return fail(`port out of range (1-65535): ${value}`);
  return { ok: true, address: { firstPort: value, lastPort: value } };
}

function parsePortPart(
  portPart: string,
  whole: string,
): { ok: true; first: number; last: number } | { ok: false; reason: string } {
  const range = /^(\d+)-(\d+)$/.exec(portPart);
  if (range) {
    const [, startText, endText] = range;
    const first = Number(startText);
    const last = Number(endText);
    if (first < PORT_MIN || first > PORT_MAX)
      return fail(`port out of range (1-65535): ${startText}`);
    if (last < PORT_MIN || last > PORT_MAX) return fail(`port out of range (1-65535): ${endText}`);
    if (first > last) return fail(`invalid port range (start > end): ${whole}`);
    if (last - first + 1 > DEFAULTS.maxPortsPerRange) {
      return fail(`port range too large (at most ${DEFAULTS.maxPortsPerRange} ports): ${whole}`);
    }
    return { ok: true, first, last };
  }
  if (portPart === '') return fail(`missing port: ${whole}`);
  if (/^\d+$/.test(portPart)) {
    const port = Number(portPart);
    if (port < PORT_MIN || port > PORT_MAX) return fail(`port out of range (1-65535): ${portPart}`);
    return { ok: true, first: port, last: port };
  }
  // APISIX leaves non-numeric ports (unix sockets) to nginx; Strait binds IP ports only.
  return fail(`invalid port format: ${whole}`);
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** Lua-ish type names, as APISIX's `invalid port value type: <type>` prints them. */
function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'table';
  return typeof value;
}

export interface StreamProxyDefaults {
  /** `apisix.proxy_protocol.enable_tcp_pp`. */
  readonly proxyProtocol: boolean;
  /** `apisix.proxy_protocol.enable_tcp_pp_to_upstream`. */
  readonly proxyProtocolToUpstream: boolean;
}

const TCP_OBJECT_KEYS = new Set(['addr', 'tls', 'proxy_protocol', 'proxy_protocol_to_upstream']);

/**
 * Expands one `stream_proxy.tcp` or `stream_proxy.udp` list into listeners, one per port.
 * `keyPath` is the list's dotted key; `ignoredKeys` collects unknown keys of tcp object entries.
 */
export function expandListenerList(
  protocol: 'tcp' | 'udp',
  list: unknown,
  keyPath: string,
  defaults: StreamProxyDefaults,
  ignoredKeys: string[],
): ListenerEntry[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    throw new ConfigError(keyPath, `must be a list of addresses, got ${describeValue(list)}`);
  }
  if (list.length === 0) {
    // APISIX's schema has minItems 1; an empty list is more likely a mistake than a wish.
    throw new ConfigError(keyPath, 'must list at least one address (remove the key for none)');
  }
  const entries: ListenerEntry[] = [];
  list.forEach((item: unknown, index) => {
    const entryKey = `${keyPath}[${index}]`;
    let addr: unknown = item;
    let addrKey = entryKey;
    let tls = false;
    let proxyProtocol = protocol === 'tcp' && defaults.proxyProtocol;
    let proxyProtocolToUpstream = protocol === 'tcp' && defaults.proxyProtocolToUpstream;

    if (isPlainObject(item)) {
      if (protocol === 'udp') {
        throw new ConfigError(
          entryKey,
          `invalid stream_proxy.udp entry: invalid port value type: table (udp entries are a port or an "ip:port" string)`,
        );
      }
      if (item.addr === undefined || item.addr === null) {
        throw new ConfigError(`${entryKey}.addr`, 'is required in an object entry');
      }
      addr = item.addr;
      addrKey = `${entryKey}.addr`;
      tls = optionalBoolean(item.tls, `${entryKey}.tls`) ?? false;
      proxyProtocol =
        optionalBoolean(item.proxy_protocol, `${entryKey}.proxy_protocol`) ?? proxyProtocol;
      proxyProtocolToUpstream =
        optionalBoolean(
          item.proxy_protocol_to_upstream,
          `${entryKey}.proxy_protocol_to_upstream`,
        ) ?? proxyProtocolToUpstream;
      for (const key of Object.keys(item)) {
        if (!TCP_OBJECT_KEYS.has(key)) ignoredKeys.push(`${entryKey}.${key}`);
      }
    }

    const parsed = parseListenAddress(addr);
    if (!parsed.ok) {
      throw new ConfigError(addrKey, `invalid stream_proxy.${protocol} entry: ${parsed.reason}`);
    }
    const { host, firstPort, lastPort } = parsed.address;
    for (let port = firstPort; port <= lastPort; port++) {
      entries.push({
        protocol,
        host: host ?? '0.0.0.0',
        port,
        tls,
        proxyProtocol,
        proxyProtocolToUpstream,
        configKey: entryKey,
      });
    }
  });
  return entries;
}

function optionalBoolean(value: unknown, key: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    throw new ConfigError(key, `must be true or false, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Two entries that bind the same protocol, address and port are an error naming both. A wildcard
 * and a specific address on the same port are not: APISIX (nginx) accepts them together and picks
 * the listen by the connection's local address.
 */
export function assertNoDuplicateListeners(listeners: readonly ListenerEntry[]): void {
  const seen = new Map<string, ListenerEntry>();
  for (const listener of listeners) {
    const id = `${listener.protocol} ${canonicalHost(listener.host)} ${listener.port}`;
    const earlier = seen.get(id);
    if (earlier) {
      throw new ConfigError(
        listener.configKey,
        `duplicate listener ${listener.protocol} ${formatHostPort(listener.host, listener.port)}, already listed by ${earlier.configKey}`,
      );
    }
    seen.set(id, listener);
  }
}

/** Canonical text of an IP literal, so `[0:0::1]` and `[::1]` are seen as one address. */
export function canonicalHost(host: string): string {
  if (!host.includes(':') || host.includes('%')) return host.toLowerCase();
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return host.toLowerCase();
  }
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
