import type { EntityTarget } from 'typeorm';
import { PluginMetadataEntity } from '../plugin-metadata/plugin-metadata.entity';
import { ServiceEntity } from '../services/service.entity';
import { SslEntity } from '../ssls/ssl.entity';
import { StreamRouteEntity } from '../stream-routes/stream-route.entity';
import { UpstreamEntity } from '../upstreams/upstream.entity';
import { RESOURCE_KINDS, type ResourceKind } from './resource-kinds';
import type { StoredObjectColumns } from './stored-object-columns';

export {
  RESOURCE_KINDS,
  storeKey,
  type JsonObject,
  type ResourceKind,
  type StoredObject,
} from './resource-kinds';

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
