/**
 * The stored resource kinds and the stored object shape, without the TypeORM entities
 * (resource-kind.ts adds those): the data-plane worker process imports this file and must not
 * load the ORM.
 */

/** The admin resources Strait stores, named as in APISIX's store keys (`/apisix/<kind>/<id>`). */
export const RESOURCE_KINDS = [
  'stream_routes',
  'upstreams',
  'ssls',
  'services',
  'plugin_metadata',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export type JsonObject = Record<string, unknown>;

/** One stored object with etcd-style revisions. */
export interface StoredObject {
  kind: ResourceKind;
  id: string;
  value: JsonObject;
  createdIndex: number;
  modifiedIndex: number;
}

export function storeKey(kind: ResourceKind, id: string): string {
  return `/apisix/${kind}/${id}`;
}
