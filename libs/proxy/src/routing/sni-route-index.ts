import type { CompiledRoute, ParsedConnection } from './compiled-route';
import { RouteFilterIndex } from './route-filter-index';

/**
 * SNI routes grouped by their `sni` key, looked up from the most specific key to the least
 * (spec 3.4, the radix tree over reversed names in apisix/stream/router/ip_port.lua):
 * the exact name, then wildcard suffixes from longest to shortest, then `*` (suffix '').
 * If every route under a key fails its address filters, the lookup falls through to the next key.
 */
export class SniRouteIndex {
  private readonly exact = new Map<string, RouteFilterIndex>();
  private readonly wildcardBySuffix = new Map<string, RouteFilterIndex>();
  /** Distinct wildcard suffix lengths, longest first. */
  private wildcardSuffixLengths: number[] = [];

  get isEmpty(): boolean {
    return this.exact.size === 0 && this.wildcardBySuffix.size === 0;
  }

  /** Routes must be added in array order; `route.sni` must be set. */
  add(route: CompiledRoute): void {
    const pattern = route.sni;
    if (pattern === undefined) return;
    if (pattern.exact !== undefined) {
      groupFor(this.exact, pattern.exact).add(route);
      return;
    }
    const suffix = pattern.wildcardSuffix ?? '';
    if (!this.wildcardBySuffix.has(suffix)) {
      this.wildcardSuffixLengths = [
        ...new Set([...this.wildcardSuffixLengths, suffix.length]),
      ].sort((left, right) => right - left);
    }
    groupFor(this.wildcardBySuffix, suffix).add(route);
  }

  firstMatch(connection: ParsedConnection): CompiledRoute | undefined {
    const sni = connection.sni;
    if (sni === undefined) return undefined;
    const exactGroup = this.exact.get(sni);
    if (exactGroup !== undefined) {
      const winner = exactGroup.firstMatch(connection, undefined);
      if (winner !== undefined) return winner;
    }
    for (const suffixLength of this.wildcardSuffixLengths) {
      if (suffixLength > sni.length) continue;
      const group = this.wildcardBySuffix.get(
        suffixLength === sni.length ? sni : sni.slice(sni.length - suffixLength),
      );
      if (group === undefined) continue;
      const winner = group.firstMatch(connection, undefined);
      if (winner !== undefined) return winner;
    }
    return undefined;
  }
}

function groupFor(groups: Map<string, RouteFilterIndex>, key: string): RouteFilterIndex {
  let group = groups.get(key);
  if (group === undefined) {
    group = new RouteFilterIndex();
    groups.set(key, group);
  }
  return group;
}
