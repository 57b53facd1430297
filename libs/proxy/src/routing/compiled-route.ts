import type { StreamRouteSpec } from '../config';
import type { IpAddress } from './ip-address';
import { parseIpNetwork } from './ip-matcher';
import type { IpNetwork } from './ip-matcher';
import { RoutingError } from './routing-error';
import type { MatchFailure } from './types';

/** What matching needs from a connection, parsed once per connection. */
export class ParsedConnection {
  /** Routes looked at by the indexes; feeds RouteTable statistics and the scaling tests. */
  candidatesExamined = 0;

  constructor(
    /** Undefined for UDP: SNI never applies there (spec 3.8). */
    readonly sni: string | undefined,
    readonly serverPort: number,
    readonly serverAddress: IpAddress | undefined,
    readonly remoteAddress: IpAddress | undefined,
  ) {}
}

/** The SNI part of a route: an exact name, or a `*suffix` wildcard (`*` alone has suffix ''). */
export interface SniPattern {
  readonly exact?: string;
  readonly wildcardSuffix?: string;
}

/**
 * A route with its filters parsed. `order` is the position in the config's route array: among
 * candidates of equal standing the lower order wins (spec 3.4, "first in array order").
 */
export class CompiledRoute {
  constructor(
    readonly spec: StreamRouteSpec,
    readonly order: number,
    readonly sni: SniPattern | undefined,
    readonly serverPort: number | undefined,
    readonly serverNetwork: IpNetwork | undefined,
    readonly remoteNetwork: IpNetwork | undefined,
  ) {}

  /** This route at another position of the route array (the parsed filters are shared). */
  withOrder(order: number): CompiledRoute {
    if (order === this.order) return this;
    return new CompiledRoute(
      this.spec,
      order,
      this.sni,
      this.serverPort,
      this.serverNetwork,
      this.remoteNetwork,
    );
  }

  /**
   * The first criterion this route fails for `connection`, in the debugger's order
   * (sni, server_port, server_addr, remote_addr), or undefined when it matches.
   */
  firstFailure(connection: ParsedConnection): MatchFailure | undefined {
    if (this.sni !== undefined && !sniPatternMatches(this.sni, connection.sni)) return 'sni';
    if (this.serverPort !== undefined && this.serverPort !== connection.serverPort) {
      return 'server_port';
    }
    if (!networkAccepts(this.serverNetwork, connection.serverAddress)) return 'server_addr';
    if (!networkAccepts(this.remoteNetwork, connection.remoteAddress)) return 'remote_addr';
    return undefined;
  }
}

function networkAccepts(network: IpNetwork | undefined, address: IpAddress | undefined): boolean {
  if (network === undefined) return true;
  return address !== undefined && network.matches(address);
}

/**
 * Radix-tree semantics of apisix/stream/router/ip_port.lua: a `*` key is a prefix of the reversed
 * SNI, so `*.test.com` matches any name ending in `.test.com`, however many labels deeper.
 */
export function sniPatternMatches(pattern: SniPattern, sni: string | undefined): boolean {
  if (sni === undefined) return false;
  if (pattern.exact !== undefined) return pattern.exact === sni;
  return sni.endsWith(pattern.wildcardSuffix ?? '');
}

export function parseSniPattern(sni: string): SniPattern {
  const lowerCased = sni.toLowerCase();
  if (lowerCased.startsWith('*')) return { wildcardSuffix: lowerCased.slice(1) };
  return { exact: lowerCased };
}

function compileAddress(
  route: StreamRouteSpec,
  field: 'remoteAddr' | 'serverAddr',
): IpNetwork | undefined {
  const text = route[field];
  if (text === undefined) return undefined;
  const network = parseIpNetwork(text);
  if (network === undefined) {
    const name = field === 'remoteAddr' ? 'remote_addr' : 'server_addr';
    throw new RoutingError(
      'ERR_INVALID_ROUTE',
      `stream route ${route.id}: invalid ${name}: ${text}`,
    );
  }
  return network;
}

export function compileRoute(spec: StreamRouteSpec, order: number): CompiledRoute {
  const serverPort = spec.serverPort;
  if (
    serverPort !== undefined &&
    (!Number.isInteger(serverPort) || serverPort < 1 || serverPort > 65535)
  ) {
    throw new RoutingError(
      'ERR_INVALID_ROUTE',
      `stream route ${spec.id}: invalid server_port: ${serverPort}`,
    );
  }
  return new CompiledRoute(
    spec,
    order,
    spec.sni === undefined ? undefined : parseSniPattern(spec.sni),
    serverPort,
    compileAddress(spec, 'serverAddr'),
    compileAddress(spec, 'remoteAddr'),
  );
}
