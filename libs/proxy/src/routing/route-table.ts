import type { StreamRouteSpec } from '../config';
import { compileRoute, ParsedConnection } from './compiled-route';
import type { CompiledRoute } from './compiled-route';
import { parseIpAddress } from './ip-address';
import type { IpAddress } from './ip-address';
import { RouteFilterIndex } from './route-filter-index';
import { SniRouteIndex } from './sni-route-index';
import type { ConnectionContext, MatchExplanation, RouteTable } from './types';

/** A RouteTable with a running count of the candidates its indexes examined (for metrics and tests). */
export interface CompiledRouteTable extends RouteTable {
  /** Total index leaves examined by match() and explain() since compilation. */
  readonly candidatesExamined: number;
}

/** Server addresses are the few local IPs the listeners accept on: remember their parse. */
const SERVER_ADDRESS_CACHE_LIMIT = 256;

class IndexedRouteTable implements CompiledRouteTable {
  candidatesExamined = 0;
  private readonly serverAddressCache = new Map<string, IpAddress | undefined>();

  constructor(
    private readonly routes: readonly CompiledRoute[],
    private readonly sniRoutes: SniRouteIndex,
    private readonly plainRoutes: RouteFilterIndex,
    private readonly anyServerFilter: boolean,
    private readonly anyRemoteFilter: boolean,
  ) {}

  get size(): number {
    return this.routes.length;
  }

  match(context: ConnectionContext): StreamRouteSpec | undefined {
    return this.findWinner(this.parse(context))?.spec;
  }

  explain(context: ConnectionContext): MatchExplanation {
    const connection = this.parse(context);
    const winner = this.findWinner(connection);
    const others: MatchExplanation['others'] = [];
    for (const route of this.routes) {
      if (route === winner) continue;
      others.push({ route: route.spec, failed: route.firstFailure(connection) ?? 'shadowed' });
    }
    return { matched: winner?.spec, others };
  }

  /** Spec 3.4: SNI routes (most specific key first, with fallthrough), then plain routes in order. */
  private findWinner(connection: ParsedConnection): CompiledRoute | undefined {
    let winner: CompiledRoute | undefined;
    if (connection.sni !== undefined && !this.sniRoutes.isEmpty) {
      winner = this.sniRoutes.firstMatch(connection);
    }
    winner ??= this.plainRoutes.firstMatch(connection, undefined);
    this.candidatesExamined += connection.candidatesExamined;
    return winner;
  }

  private parse(context: ConnectionContext): ParsedConnection {
    // Spec 3.8: SNI never applies to UDP sessions, even with fallback_sni configured.
    const sni = context.protocol === 'udp' ? undefined : context.sni;
    return new ParsedConnection(
      sni,
      context.serverPort,
      this.anyServerFilter ? this.parseServerAddress(context.serverAddr) : undefined,
      this.anyRemoteFilter ? parseIpAddress(context.remoteAddr) : undefined,
    );
  }

  private parseServerAddress(text: string): IpAddress | undefined {
    if (this.serverAddressCache.has(text)) return this.serverAddressCache.get(text);
    const address = parseIpAddress(text);
    if (this.serverAddressCache.size >= SERVER_ADDRESS_CACHE_LIMIT) this.serverAddressCache.clear();
    this.serverAddressCache.set(text, address);
    return address;
  }
}

/**
 * Compiles routes (in store order) into indexes once per config change. Throws a RoutingError with
 * code `ERR_INVALID_ROUTE` when a route carries an address or port the admin API should have
 * rejected, so that a bad config is refused as a whole instead of silently never matching.
 */
export function compileRouteTable(routes: readonly StreamRouteSpec[]): CompiledRouteTable {
  return indexRoutes(routes.map((route, order) => compileRoute(route, order)));
}

/**
 * compileRouteTable for a caller that compiles again and again (the engine, at every apply):
 * the parsed filters of a route spec object that was in the previous table are reused, so a
 * re-apply parses only new or replaced specs. Route specs are treated as immutable once compiled
 * (the admin adapter maps a changed object into a new spec). The memory is updated in place and
 * pruned to the current routes once it holds twice as many, so replaced specs cost nothing per
 * compilation; a compilation that throws only leaves valid entries for the specs it reached.
 */
export function createRouteTableCompiler(): (
  routes: readonly StreamRouteSpec[],
) => CompiledRouteTable {
  let known = new Map<StreamRouteSpec, CompiledRoute>();
  return (routes) => {
    const compiled = routes.map((route, order) => {
      const previous = known.get(route);
      if (previous !== undefined && previous.order === order) return previous;
      const result =
        previous === undefined ? compileRoute(route, order) : previous.withOrder(order);
      known.set(route, result);
      return result;
    });
    if (known.size > 2 * compiled.length + 64) {
      known = new Map(compiled.map((route) => [route.spec, route]));
    }
    return indexRoutes(compiled);
  };
}

function indexRoutes(compiled: readonly CompiledRoute[]): CompiledRouteTable {
  const sniRoutes = new SniRouteIndex();
  const plainRoutes = new RouteFilterIndex();
  let anyServerFilter = false;
  let anyRemoteFilter = false;
  for (const route of compiled) {
    if (route.sni === undefined) plainRoutes.add(route);
    else sniRoutes.add(route);
    if (route.serverNetwork !== undefined) anyServerFilter = true;
    if (route.remoteNetwork !== undefined) anyRemoteFilter = true;
  }
  return new IndexedRouteTable(compiled, sniRoutes, plainRoutes, anyServerFilter, anyRemoteFilter);
}
