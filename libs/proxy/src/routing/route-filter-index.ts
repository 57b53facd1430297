import { AddressIndex } from './address-index';
import type { RouteCandidateSource } from './address-index';
import type { CompiledRoute, ParsedConnection } from './compiled-route';

/**
 * The routes that share one exact (server_port, server_addr, remote_addr) filter triple. Every one
 * of them matches a connection that reaches this leaf, so only the earliest can ever win.
 */
class RouteLeaf implements RouteCandidateSource {
  readonly firstOrder: number;

  constructor(readonly route: CompiledRoute) {
    this.firstOrder = route.order;
  }

  firstMatch(
    connection: ParsedConnection,
    best: CompiledRoute | undefined,
  ): CompiledRoute | undefined {
    connection.candidatesExamined++;
    return best === undefined || this.route.order < best.order ? this.route : best;
  }
}

type RemoteAddressLevel = AddressIndex<RouteLeaf>;
type ServerAddressLevel = AddressIndex<RemoteAddressLevel>;

/**
 * match_addrs (spec 3.4) as an index: server_port -> server_addr -> remote_addr, each level with a
 * wildcard branch for routes that do not set the filter. A lookup visits only branches the
 * connection satisfies and returns the earliest route among them, so "first in array order wins"
 * holds without scanning the routes.
 */
export class RouteFilterIndex implements RouteCandidateSource {
  private readonly byPort = new Map<number, ServerAddressLevel>();
  private anyPort: ServerAddressLevel | undefined;
  private routeCount = 0;
  firstOrder = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.routeCount;
  }

  /** Routes must be added in array order. */
  add(route: CompiledRoute): void {
    this.routeCount++;
    if (this.firstOrder === Number.POSITIVE_INFINITY) this.firstOrder = route.order;
    const order = route.order;
    let serverLevel: ServerAddressLevel;
    if (route.serverPort === undefined) {
      this.anyPort ??= new AddressIndex('server', order);
      serverLevel = this.anyPort;
    } else {
      const existing = this.byPort.get(route.serverPort);
      serverLevel = existing ?? new AddressIndex('server', order);
      if (existing === undefined) this.byPort.set(route.serverPort, serverLevel);
    }
    const remoteLevel = serverLevel.childFor(
      route.serverNetwork,
      () => new AddressIndex<RouteLeaf>('remote', order),
    );
    // A later route with the same filter triple is unreachable here; explain() reports it as shadowed.
    remoteLevel.childFor(route.remoteNetwork, () => new RouteLeaf(route));
  }

  firstMatch(
    connection: ParsedConnection,
    best: CompiledRoute | undefined,
  ): CompiledRoute | undefined {
    if (best !== undefined && best.order <= this.firstOrder) return best;
    const portLevel = this.byPort.get(connection.serverPort);
    if (portLevel !== undefined) best = portLevel.firstMatch(connection, best);
    if (this.anyPort !== undefined) best = this.anyPort.firstMatch(connection, best);
    return best;
  }
}
