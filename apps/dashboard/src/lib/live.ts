/**
 * Pure helpers of the live views (connections, traffic, health, match debugger): units, time
 * series, axis scales, node addresses and the API's validation messages. No React, no API client:
 * the unit specs run them under node.
 */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 0 B, 512 B, 1.5 KiB, 12 KiB, 340 MiB: three significant digits at most. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  let unit = 0;
  let value = bytes;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  const digits = value < 10 ? 1 : 0;
  return `${value.toFixed(digits).replace(/\.0$/, '')} ${BYTE_UNITS[unit]}`;
}

/** 0, 7, 950, 1.2k, 34k, 1.5M. */
export function formatCount(count: number): string {
  if (!Number.isFinite(count) || count <= 0) return '0';
  if (count < 1000) return Number.isInteger(count) ? String(count) : count.toFixed(1);
  const [divisor, suffix] = count < 1e6 ? [1e3, 'k'] : count < 1e9 ? [1e6, 'M'] : [1e9, 'G'];
  const value = count / divisor;
  return `${value.toFixed(value < 10 ? 1 : 0).replace(/\.0$/, '')}${suffix}`;
}

/** A connection's age: 0 s, 42 s, 3 min 5 s, 2 h 14 min, 3 d 4 h. */
export function formatAge(milliseconds: number): string {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** host:port, with IPv6 hosts in brackets (how the API writes node and client addresses). */
export function hostPort(host: string, port: number | string): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
}

/**
 * The address the health API reports for an upstream node: host:port as configured, brackets
 * around IPv6, port 80 when the node has none (as the proxy does).
 */
export function nodeAddress(host: string, port: string | number | undefined): string {
  const text = port === undefined ? '' : String(port).trim();
  return hostPort(host.trim(), text === '' ? 80 : text);
}

export interface Sample {
  /** Epoch seconds at the end of the sampled second. */
  time: number;
  connections: number;
  bytesFromClient: number;
  bytesToClient: number;
}

export interface DenseSeries {
  /** Epoch seconds, oldest first, one per second. */
  times: number[];
  connections: number[];
  bytesFromClient: number[];
  bytesToClient: number[];
}

/**
 * The API leaves out seconds without traffic; a chart needs every second of the window. The
 * window ends at `endSeconds` (the server's clock) and holds `windowSeconds` points.
 */
export function denseSeries(
  samples: readonly Sample[],
  windowSeconds: number,
  endSeconds: number,
): DenseSeries {
  // Two ticks may fall in one wall-clock second: their samples add up.
  const byTime = new Map<number, Sample>();
  for (const sample of samples) {
    const seen = byTime.get(sample.time);
    byTime.set(
      sample.time,
      seen
        ? {
            time: sample.time,
            connections: seen.connections + sample.connections,
            bytesFromClient: seen.bytesFromClient + sample.bytesFromClient,
            bytesToClient: seen.bytesToClient + sample.bytesToClient,
          }
        : sample,
    );
  }
  const series: DenseSeries = {
    times: [],
    connections: [],
    bytesFromClient: [],
    bytesToClient: [],
  };
  for (let time = endSeconds - windowSeconds + 1; time <= endSeconds; time += 1) {
    const sample = byTime.get(time);
    series.times.push(time);
    series.connections.push(sample?.connections ?? 0);
    series.bytesFromClient.push(sample?.bytesFromClient ?? 0);
    series.bytesToClient.push(sample?.bytesToClient ?? 0);
  }
  return series;
}

/** An axis top for counts: 2, 5, 10, 20, 50, ... (2 when there is nothing to show). */
export function niceCeiling(value: number): number {
  if (!Number.isFinite(value) || value <= 2) return 2;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5]) {
    if (value <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
}

/**
 * An axis top for bytes: 10, 20, 50, 100, 200, 500 B, then 1, 2, 5, ... KiB, MiB, GiB (a power of
 * 1024 times 1, 2 or 5 × 10^k); 1 KiB when there is nothing to show.
 */
export function niceByteCeiling(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 1024;
  if (value <= 10) return 10;
  let unit = 1;
  while (value / unit > 1000 && unit < 1024 ** 5) unit *= 1024;
  const scaled = value / unit;
  const magnitude = 10 ** Math.floor(Math.log10(scaled));
  for (const step of [1, 2, 5, 10]) {
    const top = step * magnitude;
    // 1000 KiB reads badly: the next unit's 1 is just above it.
    if (scaled <= top) return (top >= 1000 ? 1024 : top) * unit;
  }
  return 1024 * unit;
}

/** `ago` seconds before now as an axis label: now, −30 s, −2.5 min. */
export function secondsAgoLabel(ago: number): string {
  if (ago <= 0) return 'now';
  if (ago < 120) return `−${ago} s`;
  const minutes = ago / 60;
  return `−${Number.isInteger(minutes) ? minutes : minutes.toFixed(1)} min`;
}

/**
 * The API's 400 for a request body joins one message per problem with "; " and starts each with
 * the property's name (`server_port must be at most 65535; sni must be a host name`). Returns the
 * messages by field (for the fields the form shows) and the rest.
 */
export function fieldErrors(
  message: string,
  fields: readonly string[],
): { byField: Record<string, string>; rest: string[] } {
  const byField: Record<string, string> = {};
  const rest: string[] = [];
  // Longest names first: `remote_port` must not be taken for `remote`.
  const ordered = [...fields].sort((left, right) => right.length - left.length);
  for (const part of message
    .split(/;\s+/)
    .map((text) => text.trim())
    .filter(Boolean)) {
    const field = ordered.find(
      (name) =>
        part.startsWith(`${name} `) ||
        part.startsWith(`property "${name}"`) ||
        part.startsWith(`invalid ${name}`),
    );
    if (field === undefined) rest.push(part);
    else byField[field] = byField[field] ? `${byField[field]}; ${part}` : part;
  }
  return { byField, rest };
}

export type MatchFailure =
  'sni' | 'remote_addr' | 'server_addr' | 'server_port' | 'shadowed' | 'subordinate';

/** The route fields the debugger shows, as stored (APISIX's stream route match fields). */
export interface RouteMatchFields {
  remote_addr?: string;
  server_addr?: string;
  server_port?: number;
  sni?: string;
}

/** Why one route did not take the connection, in words, from its own match fields. */
export function explainFailure(
  failed: MatchFailure,
  route: RouteMatchFields | undefined,
  winner: string | null | undefined,
): string {
  switch (failed) {
    case 'sni':
      return route?.sni ? `wants SNI ${route.sni}` : 'the server name (SNI) does not match';
    case 'remote_addr':
      return route?.remote_addr
        ? `the client is not in ${route.remote_addr}`
        : 'the client address does not match';
    case 'server_addr':
      return route?.server_addr
        ? `wants server address ${route.server_addr}`
        : 'the server address does not match';
    case 'server_port':
      return route?.server_port !== undefined
        ? `wants port ${route.server_port}`
        : 'the server port does not match';
    case 'shadowed':
      return winner
        ? `matches too, but route ${winner} comes first`
        : 'matches too, but an earlier route wins';
    case 'subordinate':
      return 'an xRPC subordinate: reached only through its superior route';
  }
}

export interface UpstreamOwner {
  kind: 'upstream' | 'stream_route' | 'service';
  id: string;
}

/**
 * Whose upstream a health checker probes, from its key: `/apisix/upstreams/<id>`, or the inline
 * upstream of `/apisix/stream_routes/<id>#upstream` or `/apisix/services/<id>#upstream`.
 */
export function upstreamOwner(key: string): UpstreamOwner | undefined {
  const match = /^\/apisix\/(upstreams|stream_routes|services)\/([^/#]+)(#upstream)?$/.exec(key);
  if (!match) return undefined;
  const kind =
    match[1] === 'upstreams' ? 'upstream' : match[1] === 'services' ? 'service' : 'stream_route';
  return { kind, id: match[2] };
}
