import type { ProxyConfig, TrafficSplitWeightedUpstream, UpstreamSpec } from '../config';

/**
 * Every upstream a config can send connections to: each route's own, and the engine upstreams of
 * traffic-split's `weighted_upstreams` (which the adapter resolves into UpstreamSpecs).
 */
export function upstreamsOf(config: ProxyConfig): UpstreamSpec[] {
  const upstreams: UpstreamSpec[] = [];
  for (const route of config.routes) {
    if (route.upstream) upstreams.push(route.upstream);
    const split = route.plugins?.['traffic-split'] as { rules?: unknown } | undefined;
    if (!Array.isArray(split?.rules)) continue;
    for (const rule of split.rules as { weighted_upstreams?: unknown }[]) {
      if (!Array.isArray(rule?.weighted_upstreams)) continue;
      for (const entry of rule.weighted_upstreams as TrafficSplitWeightedUpstream[]) {
        if (entry?.upstream !== undefined) upstreams.push(entry.upstream);
      }
    }
  }
  return upstreams;
}
