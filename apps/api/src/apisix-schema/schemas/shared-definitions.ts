/**
 * Shared definitions of apisix/schema_def.lua, restated as data (APISIX names in comments).
 */
import { defineSchema, defineSchemaList } from '../json-schema.types';

/** `id_schema`: a 1..64 character `[a-zA-Z0-9-_.]` string or an integer >= 1. */
export const idSchema = defineSchema({
  anyOf: [
    { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9-_.]+$' },
    { type: 'integer', minimum: 1 },
  ],
});

/** `host_def_pat`: `*`, `*.example.com`, a host name, an IPv4 or a (bracketed) IPv6 literal. */
export const HOST_DEFINITION_PATTERN = '^\\*$|^\\*?[0-9a-zA-Z-._\\[\\]:]+$';

/** `host_def` */
export const hostDefinition = defineSchema({ type: 'string', pattern: HOST_DEFINITION_PATTERN });

const IPV4_SEGMENT = '([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])';
const IPV4_DEFINITION = [IPV4_SEGMENT, IPV4_SEGMENT, IPV4_SEGMENT, IPV4_SEGMENT].join('\\.');
// APISIX's own comment: the IPv6/CIDR regex lets `:/8` through; ipmatcher catches it afterwards.
const IPV6_DEFINITION = '([a-fA-F0-9]{0,4}:){1,8}(:[a-fA-F0-9]{0,4}){0,8}([a-fA-F0-9]{0,4})?';

/** `ip_def`: the four alternatives used with `anyOf` for IP or CIDR strings. */
export const ipDefinition = defineSchemaList([
  { title: 'IPv4', type: 'string', format: 'ipv4' },
  { title: 'IPv4/CIDR', type: 'string', pattern: `^${IPV4_DEFINITION}/([12]?[0-9]|3[0-2])$` },
  { title: 'IPv6', type: 'string', format: 'ipv6' },
  { title: 'IPv6/CIDR', type: 'string', pattern: `^${IPV6_DEFINITION}/[0-9]{1,3}$` },
]);

/** `uri_def` */
export const uriDefinition = defineSchema({
  type: 'string',
  pattern: '^[^\\/]+:\\/\\/([\\da-zA-Z.-]+|\\[[\\da-fA-F:]+\\])(:\\d+)?',
});

/** `remote_addr_def` */
export const remoteAddressDefinition = defineSchema({
  description: 'client IP',
  type: 'string',
  anyOf: ipDefinition,
});

/** `label_value_def` */
export const labelValueDefinition = defineSchema({
  description: 'value of label',
  type: 'string',
  pattern: '^\\S+$',
  maxLength: 256,
  minLength: 1,
});

/** `labels_def` */
export const labelsDefinition = defineSchema({
  description: 'key/value pairs to specify attributes',
  type: 'object',
  patternProperties: { '.*': labelValueDefinition },
});

/** `rule_name_def` (the `name` field) */
export const ruleNameDefinition = defineSchema({ type: 'string', maxLength: 256, minLength: 1 });

/** `desc_def` */
export const descriptionDefinition = defineSchema({ type: 'string', maxLength: 256 });

/** `timestamp_def` (create_time, update_time) */
export const timestampDefinition = defineSchema({ type: 'integer' });

/** `timeout_def`: seconds, each strictly positive, all three required. */
export const timeoutDefinition = defineSchema({
  type: 'object',
  properties: {
    connect: { type: 'number', exclusiveMinimum: 0 },
    send: { type: 'number', exclusiveMinimum: 0 },
    read: { type: 'number', exclusiveMinimum: 0 },
  },
  required: ['connect', 'send', 'read'],
});

/** The HTTP methods of `method_schema` (also the health checker's `http_method`). */
export const HTTP_METHODS: readonly string[] = Object.freeze([
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'HEAD',
  'OPTIONS',
  'CONNECT',
  'TRACE',
  'PURGE',
]);

/** `method_schema` */
export const methodSchema = defineSchema({
  description: 'HTTP method',
  type: 'string',
  enum: HTTP_METHODS,
});

/** `certificate_scheme` */
export const certificateDefinition = defineSchema({
  type: 'string',
  minLength: 128,
  maxLength: 64 * 1024,
});

/** `private_key_schema` */
export const privateKeyDefinition = defineSchema({
  type: 'string',
  minLength: 64,
  maxLength: 64 * 1024,
});

/** `plugins_schema`: each plugin is checked separately against its own schema. */
export const pluginsDefinition = defineSchema({ type: 'object' });
