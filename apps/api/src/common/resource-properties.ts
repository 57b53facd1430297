/**
 * OpenAPI property decorators shared by the admin resource models (stream routes, upstreams,
 * ssls, services, plugin metadata). They document the fields of apisix/schema_def.lua for
 * Swagger and the generated client. The id and host patterns are read from apisix-schema, which
 * enforces them, so the documentation cannot drift from the validation there.
 */
import { ApiPropertyOptional, DECORATORS, type SchemaObject } from '@nestjs/swagger';
import type { JsonSchema } from '../apisix-schema';
import { HOST_DEFINITION_PATTERN, idSchema } from '../apisix-schema/schemas/shared-definitions';

export { HOST_DEFINITION_PATTERN };

/** The keywords of a (simple, single-typed) apisix-schema schema that OpenAPI 3.0 shares. */
function toOpenApiSchema(schema: JsonSchema): SchemaObject {
  const { type, minLength, maxLength, pattern, minimum, maximum } = schema;
  const openApi: SchemaObject = {};
  if (typeof type === 'string' && type !== 'table') openApi.type = type;
  if (minLength !== undefined) openApi.minLength = minLength;
  if (maxLength !== undefined) openApi.maxLength = maxLength;
  if (pattern !== undefined) openApi.pattern = pattern;
  if (minimum !== undefined) openApi.minimum = minimum;
  if (maximum !== undefined) openApi.maximum = maximum;
  return openApi;
}

/** `id_schema`: a 1..64 character `[a-zA-Z0-9-_.]` string or an integer >= 1. */
export const ID_SCHEMA: readonly SchemaObject[] = (idSchema.anyOf ?? []).map(toOpenApiSchema);

/** `id`, or a reference to another object by id (`upstream_id`, `service_id`, ...). */
export function ApiIdProperty(description: string, example: string | number = '1') {
  return ApiPropertyOptional({
    description: `${description}: a string of 1-64 [a-zA-Z0-9-_.] or an integer >= 1`,
    oneOf: ID_SCHEMA.map((alternative) => ({ ...alternative })),
    example,
  });
}

/** `rule_name_def` */
export function ApiNameProperty(example: string) {
  return ApiPropertyOptional({
    description: 'Human-readable name (`name=` list filter matches it as a regular expression)',
    type: 'string',
    minLength: 1,
    maxLength: 256,
    example,
  });
}

/** `desc_def` */
export function ApiDescProperty(example: string) {
  return ApiPropertyOptional({
    description: 'Free-text description',
    type: 'string',
    maxLength: 256,
    example,
  });
}

/** `labels_def`: string values without white space (`label=` list filter matches the keys). */
export function ApiLabelsProperty() {
  return ApiPropertyOptional({
    description: 'Key/value attributes; each value is 1-256 characters without white space',
    type: 'object',
    additionalProperties: { type: 'string', pattern: '^\\S+$', minLength: 1, maxLength: 256 },
    example: { env: 'production', team: 'edge' },
  });
}

/**
 * `create_time` and `update_time` (`timestamp_def`): set by the server, and refused in PUT and
 * POST bodies with `the property is forbidden:  create_time`.
 */
export function ApiTimestampProperty(which: 'create_time' | 'update_time') {
  return ApiPropertyOptional({
    description:
      which === 'create_time'
        ? 'Creation time, epoch seconds (set by the server)'
        : 'Time of the last write, epoch seconds (set by the server)',
    type: 'integer',
    readOnly: true,
    example: which === 'create_time' ? 1764168000 : 1764171600,
  });
}

/** `plugins_schema`: plugin name to its configuration object, each checked by its own schema. */
export function ApiPluginsProperty() {
  return ApiPropertyOptional({
    description:
      'Stream plugins by name (ip-restriction, limit-conn, mqtt-proxy, syslog, traffic-split, ' +
      'prometheus); each configuration is validated against the schema of that plugin',
    type: 'object',
    additionalProperties: { type: 'object', additionalProperties: true },
    example: { 'ip-restriction': { whitelist: ['127.0.0.0/24'] } },
  });
}

/** `certificate_scheme`: a PEM certificate (or a `$secret://` / `$env://` reference). */
export const CERTIFICATE_SCHEMA = { type: 'string', minLength: 128, maxLength: 65536 } as const;

/** `private_key_schema`: a PEM private key (or a `$secret://` / `$env://` reference). */
export const PRIVATE_KEY_SCHEMA = { type: 'string', minLength: 64, maxLength: 65536 } as const;

export const CERTIFICATE_EXAMPLE =
  '-----BEGIN CERTIFICATE-----\nMIIDSjCCAjKgAwIBAgIUe...\n-----END CERTIFICATE-----\n';
export const PRIVATE_KEY_EXAMPLE =
  '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0...\n-----END PRIVATE KEY-----\n';

/**
 * Marks a model as open (`additionalProperties: true`): Swagger has no decorator for it, so the
 * keyword goes in through the schema-extension metadata, which Nest merges into the model schema.
 */
export function ApiAdditionalProperties(): ClassDecorator {
  return (target) => {
    const extensions = (Reflect.getMetadata(DECORATORS.API_EXTENSION, target) ?? {}) as object;
    Reflect.defineMetadata(
      DECORATORS.API_EXTENSION,
      { ...extensions, additionalProperties: true },
      target,
    );
  };
}
