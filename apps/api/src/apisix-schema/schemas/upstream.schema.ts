/**
 * `upstream_schema`, the health checker and the chash key schemas of apisix/schema_def.lua.
 */
import { defineSchema } from '../json-schema.types';
import {
  certificateDefinition,
  descriptionDefinition,
  hostDefinition,
  idSchema,
  labelsDefinition,
  HTTP_METHODS,
  privateKeyDefinition,
  ruleNameDefinition,
  timeoutDefinition,
  timestampDefinition,
} from './shared-definitions';

const httpStatusList = (defaults: readonly number[]) =>
  ({
    type: 'array',
    minItems: 1,
    items: { type: 'integer', minimum: 200, maximum: 599 },
    uniqueItems: true,
    default: defaults,
  }) as const;

const counter = (minimum: number, fallback: number) =>
  ({ type: 'integer', minimum, maximum: 254, default: fallback }) as const;

/**
 * `health_checker_active`, with one Strait extension (APISIX cannot probe UDP, issue #7591):
 * `type: "udp"` sends `udp_request` (default: an empty datagram) to each node and expects a reply
 * containing `udp_response`; without `udp_response`, any reply or silence until `timeout` is
 * healthy and only an ICMP port unreachable counts as a failure. Both strings are sent and
 * matched as UTF-8 bytes.
 */
export const healthCheckerActiveSchema = defineSchema({
  type: 'object',
  properties: {
    type: { type: 'string', enum: ['http', 'https', 'tcp', 'udp'], default: 'http' },
    timeout: { type: 'number', default: 1 },
    concurrency: { type: 'integer', default: 10 },
    host: hostDefinition,
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    http_method: { type: 'string', enum: HTTP_METHODS, default: 'GET' },
    http_path: { type: 'string', default: '/' },
    http_req_body: { type: 'string', default: '' },
    https_verify_certificate: { type: 'boolean', default: true },
    healthy: {
      type: 'object',
      properties: {
        interval: { type: 'integer', minimum: 1, default: 1 },
        http_statuses: httpStatusList([200, 302]),
        successes: counter(1, 2),
      },
    },
    unhealthy: {
      type: 'object',
      properties: {
        interval: { type: 'integer', minimum: 1, default: 1 },
        http_statuses: httpStatusList([429, 404, 500, 501, 502, 503, 504, 505]),
        http_failures: counter(1, 5),
        tcp_failures: counter(1, 2),
        timeouts: counter(1, 3),
      },
    },
    req_headers: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', uniqueItems: true },
    },
    udp_request: { type: 'string', maxLength: 65507 },
    udp_response: { type: 'string', minLength: 1, maxLength: 65507 },
  },
});

/** `health_checker_passive` */
export const healthCheckerPassiveSchema = defineSchema({
  type: 'object',
  properties: {
    type: { type: 'string', enum: ['http', 'https', 'tcp'], default: 'http' },
    healthy: {
      type: 'object',
      properties: {
        http_statuses: httpStatusList([
          200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307,
          308,
        ]),
        successes: counter(0, 5),
      },
    },
    unhealthy: {
      type: 'object',
      properties: {
        http_statuses: httpStatusList([429, 500, 503]),
        tcp_failures: counter(0, 2),
        timeouts: counter(0, 7),
        http_failures: counter(0, 5),
      },
    },
  },
});

/**
 * `health_checker`. The anyOf over `required` sets makes `passive` alone invalid, with the text
 * `object matches none of the required: ["active"] or ["active","passive"]`.
 */
export const healthCheckerSchema = defineSchema({
  type: 'object',
  properties: {
    active: healthCheckerActiveSchema,
    passive: healthCheckerPassiveSchema,
  },
  anyOf: [{ required: ['active'] }, { required: ['active', 'passive'] }],
});

/** `nodes_schema`: the hash form `{"host:port": weight}` or the array form. */
export const nodesSchema = defineSchema({
  anyOf: [
    {
      type: 'object',
      patternProperties: {
        '.*': { description: 'weight of node', type: 'integer', minimum: 0 },
      },
    },
    {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          host: hostDefinition,
          port: { description: 'port of node', type: 'integer', minimum: 1, maximum: 65535 },
          weight: { description: 'weight of node', type: 'integer', minimum: 0 },
          priority: { description: 'priority of node', type: 'integer', default: 0 },
          metadata: { description: 'metadata of node', type: 'object' },
        },
        required: ['host', 'weight'],
      },
    },
  ],
});

/** `discovery_nodes` */
export const discoveryNodesSchema = defineSchema({
  type: 'array',
  items: {
    type: 'object',
    properties: {
      host: { description: 'domain or ip' },
      port: { description: 'port of node', type: 'integer', minimum: 1, maximum: 65535 },
      weight: { description: 'weight of node', type: 'integer', minimum: 0 },
      priority: { description: 'priority of node', type: 'integer' },
      metadata: { description: 'metadata of node', type: 'object' },
    },
    required: ['host', 'weight'],
  },
});

/**
 * The load-balancing algorithms Strait implements. STRAIT DEVIATION (deliberate): APISIX declares
 * `type` a free string and accepts e.g. "unknown" (t/admin/upstream.t TEST 13), then fails every
 * connection at runtime; Strait rejects it up front with the schema's enum text,
 * `property "type" validation failed: matches none of the enum values`.
 */
export const UPSTREAM_TYPES = ['roundrobin', 'chash', 'least_conn', 'ewma'] as const;

/** `upstream_schema` (inline in stream routes and services, and the upstreams resource). */
export const upstreamSchema = defineSchema({
  type: 'object',
  properties: {
    id: idSchema,
    name: ruleNameDefinition,
    desc: descriptionDefinition,
    labels: labelsDefinition,
    create_time: timestampDefinition,
    update_time: timestampDefinition,

    nodes: nodesSchema,
    retries: { type: 'integer', minimum: 0 },
    retry_timeout: { type: 'number', minimum: 0 },
    timeout: timeoutDefinition,
    tls: {
      type: 'object',
      properties: {
        client_cert_id: idSchema,
        client_cert: certificateDefinition,
        client_key: privateKeyDefinition,
        verify: {
          type: 'boolean',
          description:
            'Turn on server certificate verification, currently only kafka upstream is supported',
          default: false,
        },
      },
      dependencies: {
        client_cert: { required: ['client_key'] },
        client_key: { required: ['client_cert'] },
        client_cert_id: { not: { required: ['client_cert', 'client_key'] } },
      },
    },
    keepalive_pool: {
      type: 'object',
      properties: {
        size: { type: 'integer', default: 320, minimum: 1 },
        idle_timeout: { type: 'number', default: 60, minimum: 0 },
        requests: { type: 'integer', default: 1000, minimum: 1 },
      },
    },
    type: {
      description: 'algorithms of load balancing',
      type: 'string',
      default: 'roundrobin',
      enum: UPSTREAM_TYPES,
    },
    checks: healthCheckerSchema,
    hash_on: {
      type: 'string',
      default: 'vars',
      enum: ['vars', 'header', 'cookie', 'consumer', 'vars_combinations'],
    },
    key: { description: 'the key of chash for dynamic load balancing', type: 'string' },
    scheme: {
      default: 'http',
      enum: ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'udp', 'kafka'],
      description:
        'The scheme of the upstream. For L7 proxy, it can be one of grpc/grpcs/http/https.' +
        ' For L4 proxy, it can be one of tcp/tls/udp. For specific protocols, it can be kafka.',
    },
    discovery_type: { description: 'discovery type', type: 'string' },
    discovery_args: {
      type: 'object',
      properties: {
        namespace_id: { description: 'namespace id', type: 'string' },
        group_name: { description: 'group name', type: 'string' },
      },
    },
    pass_host: {
      description: 'mod of host passing',
      type: 'string',
      enum: ['pass', 'node', 'rewrite'],
      default: 'pass',
    },
    upstream_host: hostDefinition,
    service_name: { type: 'string', maxLength: 256, minLength: 1 },
  },
  oneOf: [{ required: ['nodes'] }, { required: ['service_name', 'discovery_type'] }],
  additionalProperties: false,
});

/** `upstream_hash_vars_schema`: chash keys for `hash_on: vars` (the default). */
export const upstreamHashVarsSchema = defineSchema({
  type: 'string',
  pattern:
    '^((uri|server_name|server_addr|request_uri|remote_port' +
    '|remote_addr|query_string|host|hostname|mqtt_client_id)' +
    '|arg_[0-9a-zA-z_-]+)$',
});

/** `upstream_hash_header_schema`: chash keys for `hash_on: header` and `cookie`. */
export const upstreamHashHeaderSchema = defineSchema({
  type: 'string',
  pattern: '^[a-zA-Z0-9-_]+$',
});

/** `upstream_hash_vars_combinations_schema` */
export const upstreamHashVarsCombinationsSchema = defineSchema({ type: 'string' });
