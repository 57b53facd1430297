import type { ReferenceLookups } from '../apisix-schema';
import { isJsonObject } from '../common/deep-merge';
import type { JsonObject, ResourceKind } from '../store/resource-kind';
import type { StoreSession } from '../store/store-session';

/** The store look-ups APISIX's reference checks need, answered inside the write's transaction. */
export function storeLookups(session: StoreSession): ReferenceLookups {
  return {
    upstreamExists: async (id) => (await session.get('upstreams', id)) !== undefined,
    serviceExists: async (id) => (await session.get('services', id)) !== undefined,
    findStreamRoute: async (id) => (await session.get('stream_routes', id))?.value,
    findSsl: async (id) => (await session.get('ssls', id))?.value,
  };
}

/** The upstream ids a traffic-split plugin configuration points at. */
export function trafficSplitUpstreamIds(plugins: unknown): string[] {
  if (!isJsonObject(plugins) || !isJsonObject(plugins['traffic-split'])) return [];
  const rules = plugins['traffic-split'].rules;
  if (!Array.isArray(rules)) return [];
  const ids: string[] = [];
  for (const rule of rules) {
    if (!isJsonObject(rule) || !Array.isArray(rule.weighted_upstreams)) continue;
    for (const weighted of rule.weighted_upstreams) {
      if (isJsonObject(weighted) && weighted.upstream_id !== undefined)
        ids.push(String(weighted.upstream_id));
    }
  }
  return ids;
}

/**
 * Finds the first object of `kind` for which `uses` is true, in key order (deterministic messages).
 * `key` is an object key every user's stored JSON contains (`upstream_id`): only objects whose
 * text mentions it are read and tested, instead of the whole table.
 */
export async function findUser(
  session: StoreSession,
  kind: ResourceKind,
  key: string,
  uses: (value: JsonObject) => boolean,
): Promise<string | undefined> {
  const candidates = await session.listContaining(kind, JSON.stringify(key));
  const users = candidates.filter((object) => uses(object.value));
  users.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return users[0]?.id;
}
