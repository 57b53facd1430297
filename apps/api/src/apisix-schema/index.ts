/**
 * APISIX-compatible validation for the Strait admin API: JSON schemas, api7 jsonschema error
 * texts and the per-resource checks, with APISIX's ordering and exact `error_msg` strings.
 *
 * Every `validate*` returns the final `error_msg`: schema failures carry the
 * `invalid configuration: ` prefix, the other checks do not (apisix-stream-spec §1.8). The
 * synchronous forms skip the checks that need the store; the `...WithReferences` forms run them
 * in their APISIX position through the given look-ups.
 */
import { findCoreSchema, findResourceSchema, type CoreSchema } from './core-schemas';
import { applySchemaDefaults, checkSchema } from './json-schema-validator';
import type { JsonSchema } from './json-schema.types';
import type { DecryptPrivateKey } from './pem-checks';
import {
  serviceSteps,
  sslSteps,
  streamRouteSteps,
  upstreamSteps,
  type ResolvedValidationOptions,
} from './resource-validators';
import { serviceSchema } from './schemas/service.schema';
import { idSchema } from './schemas/shared-definitions';
import { sslSchema } from './schemas/ssl.schema';
import { streamRouteSchema } from './schemas/stream-route.schema';
import { upstreamSchema } from './schemas/upstream.schema';
import {
  DEFAULT_STREAM_PLUGINS,
  enabledStreamPlugins,
  findEnabledStreamPlugin,
  findStreamPlugin,
  type StreamPluginSummary,
} from './stream-plugin-registry';
import {
  runAllSteps,
  runLocalSteps,
  type ReferenceLookups,
  type ValidationResult,
} from './validation-pipeline';

export { DEFAULT_STREAM_PLUGINS, type StreamPluginSummary } from './stream-plugin-registry';
export { UPSTREAM_TYPES } from './schemas/upstream.schema';
export { applySchemaDefaults, checkSchema, type SchemaCheckOptions } from './json-schema-validator';
export type { JsonSchema, JsonSchemaType } from './json-schema.types';
export type { CoreSchema } from './core-schemas';
export type {
  ReferenceLookups,
  StoredSsl,
  StoredStreamRoute,
  ValidationResult,
} from './validation-pipeline';
export { isValidCidrOrIp, isIpv4Literal, isIpv6Literal } from './ip-address';
export { isSecretReference } from './secret-reference';
export * from './resource-checks';

export interface ValidationOptions {
  /** `stream_plugins` of the configuration; default {@link DEFAULT_STREAM_PLUGINS}. */
  readonly enabledPlugins?: readonly string[];
  /** Names in `xrpc.protocols` of the configuration (`redis`, `dubbo`); none by default. */
  readonly xrpcProtocols?: readonly string[];
  /**
   * Decrypts a stored private key (one not starting with `---`, e.g. after a PATCH merged the
   * stored value). Without it such a key is parsed as is, as APISIX does with no keyring.
   */
  readonly decryptPrivateKey?: DecryptPrivateKey;
}

function resolve(options: ValidationOptions = {}): ResolvedValidationOptions {
  return {
    enabledPlugins: options.enabledPlugins ?? DEFAULT_STREAM_PLUGINS,
    xrpcProtocols: options.xrpcProtocols ?? [],
    decryptPrivateKey: options.decryptPrivateKey,
  };
}

/**
 * A stream route body (with `id` already set to the id it is stored under, as APISIX does before
 * checking). Skips the upstream_id, service_id and superior_id look-ups.
 */
export function validateStreamRoute(body: unknown, options?: ValidationOptions): ValidationResult {
  return runLocalSteps(streamRouteSteps(body, resolve(options)));
}

export function validateStreamRouteWithReferences(
  body: unknown,
  references: ReferenceLookups,
  options?: ValidationOptions,
): Promise<ValidationResult> {
  return runAllSteps(streamRouteSteps(body, resolve(options)), references);
}

/** An upstream body. Skips the `tls.client_cert_id` look-up. */
export function validateUpstream(body: unknown, options?: ValidationOptions): ValidationResult {
  return runLocalSteps(upstreamSteps(body, resolve(options)));
}

export function validateUpstreamWithReferences(
  body: unknown,
  references: ReferenceLookups,
  options?: ValidationOptions,
): Promise<ValidationResult> {
  return runAllSteps(upstreamSteps(body, resolve(options)), references);
}

/** An ssl body (no store look-ups exist for ssls). */
export function validateSsl(body: unknown, options?: ValidationOptions): ValidationResult {
  return runLocalSteps(sslSteps(body, resolve(options)));
}

/** A service body. Skips the upstream_id and inline `tls.client_cert_id` look-ups. */
export function validateService(body: unknown, options?: ValidationOptions): ValidationResult {
  return runLocalSteps(serviceSteps(body, resolve(options)));
}

export function validateServiceWithReferences(
  body: unknown,
  references: ReferenceLookups,
  options?: ValidationOptions,
): Promise<ValidationResult> {
  return runAllSteps(serviceSteps(body, resolve(options)), references);
}

/** apisix/admin/plugin_metadata.lua: a plugin without a metadata schema accepts any object. */
const INJECTED_METADATA_SCHEMA: JsonSchema = Object.freeze({
  type: 'object',
  $comment: 'injected metadata_schema',
  properties: {},
});

/**
 * `PUT /apisix/admin/plugin_metadata/{name}`. Any shipped stream plugin is a valid name, enabled
 * or not (APISIX `require`s the module). STRAIT DEVIATION: APISIX also accepts every HTTP plugin
 * name and prefers the HTTP module's metadata schema; Strait knows stream plugins only.
 */
export function validatePluginMetadata(name: string | undefined, body: unknown): ValidationResult {
  if (name === undefined || name === '') return { ok: false, message: 'missing plugin name' };
  const plugin = findStreamPlugin(name);
  if (plugin === undefined) return { ok: false, message: 'invalid plugin name' };
  const schema = plugin.metadataSchema ?? INJECTED_METADATA_SCHEMA;
  const error = checkSchema(schema, structuredClone(body), { applyDefaults: true });
  return error === undefined
    ? { ok: true }
    : { ok: false, message: `invalid configuration: ${error}` };
}

/**
 * `POST /apisix/admin/schema/validate/{resource}`: the JSON schema alone, raw text (no prefix, no
 * extra checks). Undefined for a resource without a schema (the caller answers 404
 * `Unsupported resource type: <resource>`).
 */
export function validateAgainstSchemaOnly(
  resource: string,
  body: unknown,
): ValidationResult | undefined {
  const schema = findResourceSchema(resource);
  if (schema === undefined) return undefined;
  const error = checkSchema(schema, structuredClone(body), { applyDefaults: true });
  return error === undefined ? { ok: true } : { ok: false, message: error };
}

/**
 * An id from the URL or body against `id_schema`:
 * `invalid configuration: property "id" validation failed: object matches none of the required`.
 */
export function validateResourceId(id: unknown): ValidationResult {
  const error = checkSchema(idSchema, id);
  return error === undefined
    ? { ok: true }
    : { ok: false, message: `invalid configuration: property "id" validation failed: ${error}` };
}

/** `GET /apisix/admin/schema/{name}` (a copy); undefined → 400 `not found schema: <name>`. */
export function getCoreSchema(name: string): CoreSchema | undefined {
  const schema = findCoreSchema(name);
  return schema === undefined ? undefined : structuredClone(schema);
}

/** `GET /apisix/admin/plugins/list?subsystem=stream`: enabled names, highest priority first. */
export function listStreamPlugins(enabled: readonly string[] = DEFAULT_STREAM_PLUGINS): string[] {
  return enabledStreamPlugins(enabled).map((plugin) => plugin.name);
}

/**
 * `GET /apisix/admin/plugins/{name}?subsystem=stream` (a copy, with `_meta` and the `$comment`
 * mark); undefined → 404 `plugin not found in subsystem stream`.
 */
export function getPluginSchema(
  name: string,
  enabled: readonly string[] = DEFAULT_STREAM_PLUGINS,
): JsonSchema | undefined {
  const plugin = findEnabledStreamPlugin(name, enabled);
  return plugin === undefined ? undefined : structuredClone(plugin.schema);
}

/** `GET /apisix/admin/plugins?all=true&subsystem=stream` (deprecated): enabled plugins by name. */
export function getStreamPluginSummaries(
  enabled: readonly string[] = DEFAULT_STREAM_PLUGINS,
): Record<string, StreamPluginSummary> {
  const summaries: Record<string, StreamPluginSummary> = {};
  for (const plugin of enabledStreamPlugins(enabled)) {
    summaries[plugin.name] = structuredClone({
      version: plugin.version,
      priority: plugin.priority,
      schema: plugin.schema,
      ...(plugin.metadataSchema === undefined ? {} : { metadata_schema: plugin.metadataSchema }),
    });
  }
  return summaries;
}

const RESOURCE_DEFAULT_SCHEMAS = {
  stream_route: streamRouteSchema,
  upstream: upstreamSchema,
  ssl: sslSchema,
  service: serviceSchema,
} as const;

/** A copy of a valid body with schema defaults filled in, for the runtime (never for storage). */
export function withResourceDefaults<T>(kind: keyof typeof RESOURCE_DEFAULT_SCHEMAS, body: T): T {
  return applySchemaDefaults(RESOURCE_DEFAULT_SCHEMAS[kind], body);
}

/** A copy of a valid plugin conf with its schema defaults filled in; unknown plugins unchanged. */
export function withPluginDefaults<T>(name: string, conf: T): T {
  const plugin = findStreamPlugin(name);
  return plugin === undefined ? structuredClone(conf) : applySchemaDefaults(plugin.schema, conf);
}
