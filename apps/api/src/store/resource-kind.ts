import type { EntityTarget } from 'typeorm';
import { PluginMetadataEntity } from '../plugin-metadata/plugin-metadata.entity';
import { ServiceEntity } from '../services/service.entity';
import { SslEntity } from '../ssls/ssl.entity';
import { StreamRouteEntity } from '../stream-routes/stream-route.entity';
import { UpstreamEntity } from '../upstreams/upstream.entity';
import type { StoredObjectColumns } from './stored-object-columns';

/** The admin resources Strait stores, named as in APISIX's store keys (`/apisix/<kind>/<id>`). */
export const RESOURCE_KINDS = [
  'stream_routes',
  'upstreams',
  'ssls',
  'services',
  'plugin_metadata',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export const RESOURCE_ENTITIES: Record<ResourceKind, EntityTarget<StoredObjectColumns>> = {
  stream_routes: StreamRouteEntity,
  upstreams: UpstreamEntity,
  ssls: SslEntity,
  services: ServiceEntity,
  plugin_metadata: PluginMetadataEntity,
};

export function isResourceKind(name: string): name is ResourceKind {
  return (RESOURCE_KINDS as readonly string[]).includes(name);
}

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
