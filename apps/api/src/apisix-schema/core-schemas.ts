/**
 * What `GET /apisix/admin/schema/{name}` serves: `core.schema[name]`, i.e. the exports of
 * apisix/schema_def.lua. Only the stream-relevant ones are kept; HTTP-only schemas (route,
 * consumer, ...) and `plugin_metadata` (APISIX has no such core schema) are "not found".
 */
import type { JsonSchema } from './json-schema.types';
import { pluginInjectedSchema } from './schemas/plugin-injected.schema';
import { serviceSchema } from './schemas/service.schema';
import {
  hostDefinition,
  idSchema,
  ipDefinition,
  labelValueDefinition,
  methodSchema,
  uriDefinition,
} from './schemas/shared-definitions';
import { sslSchema } from './schemas/ssl.schema';
import { streamRouteSchema } from './schemas/stream-route.schema';
import {
  discoveryNodesSchema,
  healthCheckerActiveSchema,
  healthCheckerPassiveSchema,
  healthCheckerSchema,
  upstreamHashHeaderSchema,
  upstreamHashVarsCombinationsSchema,
  upstreamHashVarsSchema,
  upstreamSchema,
} from './schemas/upstream.schema';

/** `ip_def` is an array of schemas, not a schema; it is served as such. */
export type CoreSchema = JsonSchema | readonly JsonSchema[];

const CORE_SCHEMAS: ReadonlyMap<string, CoreSchema> = new Map<string, CoreSchema>([
  ['stream_route', streamRouteSchema],
  ['upstream', upstreamSchema],
  ['ssl', sslSchema],
  ['service', serviceSchema],
  ['id_schema', idSchema],
  ['host_def', hostDefinition],
  ['ip_def', ipDefinition],
  ['uri_def', uriDefinition],
  ['label_value_def', labelValueDefinition],
  ['method_schema', methodSchema],
  ['health_checker', healthCheckerSchema],
  ['health_checker_active', healthCheckerActiveSchema],
  ['health_checker_passive', healthCheckerPassiveSchema],
  ['discovery_nodes', discoveryNodesSchema],
  ['upstream_hash_vars_schema', upstreamHashVarsSchema],
  ['upstream_hash_header_schema', upstreamHashHeaderSchema],
  ['upstream_hash_vars_combinations_schema', upstreamHashVarsCombinationsSchema],
  ['plugin_injected_schema', pluginInjectedSchema],
]);

export function findCoreSchema(name: string): CoreSchema | undefined {
  return CORE_SCHEMAS.get(name);
}

/** Resources of `POST /apisix/admin/schema/validate/{resource}` and the schema each is checked with. */
const RESOURCE_SCHEMAS: ReadonlyMap<string, JsonSchema> = new Map([
  ['stream_routes', streamRouteSchema],
  ['upstreams', upstreamSchema],
  ['ssls', sslSchema],
  ['services', serviceSchema],
]);

export function findResourceSchema(resource: string): JsonSchema | undefined {
  return RESOURCE_SCHEMAS.get(resource);
}
