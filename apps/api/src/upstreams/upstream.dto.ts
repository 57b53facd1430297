/**
 * The upstream model of the admin API (`upstream_schema` of apisix/schema_def.lua), used for the
 * upstreams resource and inline in stream routes and services. Documentation and client types
 * only: bodies are validated by apisix-schema with APISIX's error texts.
 */
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { UPSTREAM_TYPES } from '../apisix-schema';
import {
  ApiDescProperty,
  ApiIdProperty,
  ApiLabelsProperty,
  ApiNameProperty,
  ApiTimestampProperty,
  CERTIFICATE_EXAMPLE,
  CERTIFICATE_SCHEMA,
  HOST_DEFINITION_PATTERN,
  PRIVATE_KEY_EXAMPLE,
  PRIVATE_KEY_SCHEMA,
} from '../common/resource-properties';

const HEALTH_CHECK_TYPES = ['http', 'https', 'tcp'] as const;
/** Strait extension: active checks may also probe UDP nodes. */
const ACTIVE_HEALTH_CHECK_TYPES = [...HEALTH_CHECK_TYPES, 'udp'] as const;
const HTTP_METHODS = [
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
] as const;
const HASH_ON = ['vars', 'header', 'cookie', 'consumer', 'vars_combinations'] as const;
const SCHEMES = ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'udp', 'kafka'] as const;
const PASS_HOST = ['pass', 'node', 'rewrite'] as const;

/** A port number, as every `port` of the schema spells it. */
const PORT = { type: 'integer', minimum: 1, maximum: 65535 } as const;

function httpStatuses(description: string, defaults: readonly number[]) {
  return ApiPropertyOptional({
    description,
    type: 'integer',
    isArray: true,
    minItems: 1,
    uniqueItems: true,
    minimum: 200,
    maximum: 599,
    default: [...defaults],
    example: [...defaults],
  });
}

/** A health counter: how many results in a row flip a node's state (at most 254). */
function counter(description: string, minimum: 0 | 1, fallback: number) {
  return ApiPropertyOptional({
    description,
    type: 'integer',
    minimum,
    maximum: 254,
    default: fallback,
    example: fallback,
  });
}

/** One node in the array form of `nodes`. */
export class UpstreamNodeDto {
  @ApiProperty({
    description: 'Host name, IPv4 address or bracketed IPv6 address of the node',
    type: 'string',
    pattern: HOST_DEFINITION_PATTERN,
    example: '127.0.0.1',
  })
  host!: string;

  @ApiPropertyOptional({
    ...PORT,
    description: 'Port of the node',
    example: 8080,
  })
  port?: number;

  @ApiProperty({
    description: 'Relative weight; 0 keeps the node but sends it nothing',
    type: 'integer',
    minimum: 0,
    example: 1,
  })
  weight!: number;

  @ApiPropertyOptional({
    description:
      'Priority group: lower groups are tried only when every node of the higher ones failed',
    type: 'integer',
    default: 0,
    example: 0,
  })
  priority?: number;

  @ApiPropertyOptional({
    description: 'Free-form metadata of the node',
    type: 'object',
    additionalProperties: true,
    example: { zone: 'eu-west-1a' },
  })
  metadata?: Record<string, unknown>;
}

/** `timeout_def`: seconds; all three are required when `timeout` is given. */
export class UpstreamTimeoutDto {
  @ApiProperty({
    description: 'Seconds to establish the connection to a node',
    type: 'number',
    minimum: 0,
    exclusiveMinimum: true,
    example: 6,
  })
  connect!: number;

  @ApiProperty({
    description: 'Seconds between two successive writes to the node',
    type: 'number',
    minimum: 0,
    exclusiveMinimum: true,
    example: 6,
  })
  send!: number;

  @ApiProperty({
    description: 'Seconds between two successive reads from the node',
    type: 'number',
    minimum: 0,
    exclusiveMinimum: true,
    example: 6,
  })
  read!: number;
}

/**
 * Client certificate for `scheme: tls` upstreams: either `client_cert` with `client_key`, or
 * `client_cert_id` (an ssl of `type: client`), not both.
 */
export class UpstreamTlsDto {
  @ApiPropertyOptional({
    description: 'PEM client certificate; requires client_key',
    ...CERTIFICATE_SCHEMA,
    example: CERTIFICATE_EXAMPLE,
  })
  client_cert?: string;

  @ApiPropertyOptional({
    description: 'PEM private key of client_cert; requires client_cert; stored encrypted',
    ...PRIVATE_KEY_SCHEMA,
    example: PRIVATE_KEY_EXAMPLE,
  })
  client_key?: string;

  @ApiIdProperty(
    'Id of an ssl object of type client to present instead of client_cert and client_key',
  )
  client_cert_id?: string | number;

  @ApiPropertyOptional({
    description: 'Verify the server certificate (APISIX applies it to kafka upstreams only)',
    type: 'boolean',
    default: false,
    example: false,
  })
  verify?: boolean;
}

/** Connection pool of HTTP upstreams; accepted for compatibility, ignored by the stream proxy. */
export class KeepalivePoolDto {
  @ApiPropertyOptional({
    description: 'Idle connections kept per worker',
    type: 'integer',
    minimum: 1,
    default: 320,
    example: 320,
  })
  size?: number;

  @ApiPropertyOptional({
    description: 'Seconds an idle connection is kept',
    type: 'number',
    minimum: 0,
    default: 60,
    example: 60,
  })
  idle_timeout?: number;

  @ApiPropertyOptional({
    description: 'Requests served by one connection before it is closed',
    type: 'integer',
    minimum: 1,
    default: 1000,
    example: 1000,
  })
  requests?: number;
}

/** Arguments of the service-discovery registry (Nacos namespace and group). */
export class DiscoveryArgsDto {
  @ApiPropertyOptional({ description: 'Namespace id', type: 'string', example: 'public' })
  namespace_id?: string;

  @ApiPropertyOptional({ description: 'Group name', type: 'string', example: 'DEFAULT_GROUP' })
  group_name?: string;
}

/** When an active probe marks an unhealthy node healthy again. */
export class HealthCheckActiveHealthyDto {
  @ApiPropertyOptional({
    description: 'Seconds between probes of a healthy node',
    type: 'integer',
    minimum: 1,
    default: 1,
    example: 1,
  })
  interval?: number;

  @httpStatuses('HTTP statuses that count as a success (http/https probes)', [200, 302])
  http_statuses?: number[];

  @counter('Successful probes in a row that mark the node healthy', 1, 2)
  successes?: number;
}

/** When an active probe marks a healthy node unhealthy. */
export class HealthCheckActiveUnhealthyDto {
  @ApiPropertyOptional({
    description: 'Seconds between probes of an unhealthy node',
    type: 'integer',
    minimum: 1,
    default: 1,
    example: 1,
  })
  interval?: number;

  @httpStatuses(
    'HTTP statuses that count as a failure (http/https probes)',
    [429, 404, 500, 501, 502, 503, 504, 505],
  )
  http_statuses?: number[];

  @counter('Failed HTTP probes in a row that mark the node unhealthy', 1, 5)
  http_failures?: number;

  @counter('Failed TCP connects in a row that mark the node unhealthy', 1, 2)
  tcp_failures?: number;

  @counter('Probe timeouts in a row that mark the node unhealthy', 1, 3)
  timeouts?: number;
}

/** Probes sent to every node on a timer (`health_checker_active`). */
export class HealthCheckActiveDto {
  @ApiPropertyOptional({
    description:
      'Probe kind; stream upstreams use tcp (connect only). Strait extension: udp sends ' +
      'udp_request and expects udp_response. http and https are probed with a TCP connect.',
    type: 'string',
    enum: ACTIVE_HEALTH_CHECK_TYPES,
    default: 'http',
    example: 'tcp',
  })
  type?: (typeof ACTIVE_HEALTH_CHECK_TYPES)[number];

  @ApiPropertyOptional({
    description: 'Seconds before a probe counts as timed out',
    type: 'number',
    default: 1,
    example: 1,
  })
  timeout?: number;

  @ApiPropertyOptional({
    description: 'Probes in flight at the same time',
    type: 'integer',
    default: 10,
    example: 10,
  })
  concurrency?: number;

  @ApiPropertyOptional({
    description: 'Host header of HTTP probes (default: the host of the node)',
    type: 'string',
    pattern: HOST_DEFINITION_PATTERN,
    example: 'backend.example.com',
  })
  host?: string;

  @ApiPropertyOptional({
    ...PORT,
    description: 'Port to probe instead of the port of the node',
    example: 8081,
  })
  port?: number;

  @ApiPropertyOptional({
    description: 'Method of HTTP probes',
    type: 'string',
    enum: HTTP_METHODS,
    default: 'GET',
    example: 'GET',
  })
  http_method?: (typeof HTTP_METHODS)[number];

  @ApiPropertyOptional({
    description: 'Path of HTTP probes',
    type: 'string',
    default: '/',
    example: '/healthz',
  })
  http_path?: string;

  @ApiPropertyOptional({
    description: 'Body of HTTP probes',
    type: 'string',
    default: '',
    example: '',
  })
  http_req_body?: string;

  @ApiPropertyOptional({
    description: 'Verify the certificate of the node on https probes',
    type: 'boolean',
    default: true,
    example: true,
  })
  https_verify_certificate?: boolean;

  @ApiPropertyOptional({
    description: 'Extra request headers of HTTP probes, as `Name: value` lines',
    type: 'string',
    isArray: true,
    minItems: 1,
    example: ['User-Agent: strait-health'],
  })
  req_headers?: string[];

  @ApiPropertyOptional({
    description:
      'Strait extension, type udp: the datagram sent to each node (UTF-8; empty when unset)',
    type: 'string',
    maxLength: 65507,
    example: 'ping',
  })
  udp_request?: string;

  @ApiPropertyOptional({
    description:
      'Strait extension, type udp: bytes a reply must contain (UTF-8). Unset: any reply or ' +
      'silence until the timeout is healthy; only an ICMP port unreachable is a failure',
    type: 'string',
    minLength: 1,
    maxLength: 65507,
    example: 'pong',
  })
  udp_response?: string;

  @ApiPropertyOptional({ type: () => HealthCheckActiveHealthyDto })
  healthy?: HealthCheckActiveHealthyDto;

  @ApiPropertyOptional({ type: () => HealthCheckActiveUnhealthyDto })
  unhealthy?: HealthCheckActiveUnhealthyDto;
}

/** When proxied traffic marks an unhealthy node healthy again. */
export class HealthCheckPassiveHealthyDto {
  @httpStatuses(
    'HTTP statuses of proxied responses that count as a success',
    [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308],
  )
  http_statuses?: number[];

  @counter('Successes in a row that mark the node healthy', 0, 5)
  successes?: number;
}

/** When proxied traffic marks a healthy node unhealthy. */
export class HealthCheckPassiveUnhealthyDto {
  @httpStatuses('HTTP statuses of proxied responses that count as a failure', [429, 500, 503])
  http_statuses?: number[];

  @counter('Failed connects in a row that mark the node unhealthy', 0, 2)
  tcp_failures?: number;

  @counter('Timeouts in a row that mark the node unhealthy', 0, 7)
  timeouts?: number;

  @counter('HTTP failures in a row that mark the node unhealthy', 0, 5)
  http_failures?: number;
}

/** Health inferred from proxied connections (`health_checker_passive`); needs `active` too. */
export class HealthCheckPassiveDto {
  @ApiPropertyOptional({
    description: 'What passive checks observe; stream upstreams use tcp',
    type: 'string',
    enum: HEALTH_CHECK_TYPES,
    default: 'http',
    example: 'tcp',
  })
  type?: (typeof HEALTH_CHECK_TYPES)[number];

  @ApiPropertyOptional({ type: () => HealthCheckPassiveHealthyDto })
  healthy?: HealthCheckPassiveHealthyDto;

  @ApiPropertyOptional({ type: () => HealthCheckPassiveUnhealthyDto })
  unhealthy?: HealthCheckPassiveUnhealthyDto;
}

/**
 * `health_checker`: `active` alone or `active` with `passive` (passive alone is refused with
 * `object matches none of the required: ["active"] or ["active","passive"]`).
 */
export class HealthCheckDto {
  @ApiProperty({ type: () => HealthCheckActiveDto })
  active!: HealthCheckActiveDto;

  @ApiPropertyOptional({ type: () => HealthCheckPassiveDto })
  passive?: HealthCheckPassiveDto;
}

/**
 * An APISIX upstream as written to and read from the admin API. Exactly one of `nodes`, or
 * `service_name` with `discovery_type`, must be given.
 */
@ApiExtraModels(UpstreamNodeDto)
export class UpstreamDto {
  @ApiIdProperty('Upstream id (taken from the URL on PUT /{id})')
  id?: string | number;

  @ApiNameProperty('backend-pool')
  name?: string;

  @ApiDescProperty('PostgreSQL primaries')
  desc?: string;

  @ApiLabelsProperty()
  labels?: Record<string, string>;

  @ApiTimestampProperty('create_time')
  create_time?: number;

  @ApiTimestampProperty('update_time')
  update_time?: number;

  @ApiPropertyOptional({
    description:
      'Backend nodes: an object of `"host:port": weight`, or an array of node objects. Empty ' +
      'means no node is available and connections are closed',
    oneOf: [
      {
        type: 'object',
        title: 'UpstreamNodeWeights',
        additionalProperties: { type: 'integer', minimum: 0 },
      },
      { type: 'array', items: { $ref: getSchemaPath(UpstreamNodeDto) } },
    ],
    example: { '127.0.0.1:8080': 1, '127.0.0.1:8081': 2 },
  })
  nodes?: Record<string, number> | UpstreamNodeDto[];

  @ApiPropertyOptional({
    description: 'Other nodes to try after a failed connect (default: number of nodes - 1)',
    type: 'integer',
    minimum: 0,
    example: 2,
  })
  retries?: number;

  @ApiPropertyOptional({
    description: 'Seconds from the first pick after which no retry is made (0: no deadline)',
    type: 'number',
    minimum: 0,
    example: 5,
  })
  retry_timeout?: number;

  @ApiPropertyOptional({
    type: () => UpstreamTimeoutDto,
    description: 'Connect, send and read timeouts in seconds',
  })
  timeout?: UpstreamTimeoutDto;

  @ApiPropertyOptional({
    type: () => UpstreamTlsDto,
    description: 'Client certificate for scheme tls',
  })
  tls?: UpstreamTlsDto;

  @ApiPropertyOptional({
    type: () => KeepalivePoolDto,
    description: 'HTTP connection pool (accepted, ignored by the stream proxy)',
  })
  keepalive_pool?: KeepalivePoolDto;

  @ApiPropertyOptional({
    description: 'Load-balancing algorithm',
    type: 'string',
    enum: UPSTREAM_TYPES,
    default: 'roundrobin',
    example: 'roundrobin',
  })
  type?: (typeof UPSTREAM_TYPES)[number];

  @ApiPropertyOptional({
    type: () => HealthCheckDto,
    description: 'Active and passive health checks',
  })
  checks?: HealthCheckDto;

  @ApiPropertyOptional({
    description: 'What the chash key is read from',
    type: 'string',
    enum: HASH_ON,
    default: 'vars',
    example: 'vars',
  })
  hash_on?: (typeof HASH_ON)[number];

  @ApiPropertyOptional({
    description:
      'chash key, required with type chash (e.g. remote_addr, server_addr, mqtt_client_id)',
    type: 'string',
    example: 'remote_addr',
  })
  key?: string;

  @ApiPropertyOptional({
    description:
      'Protocol to the nodes: tcp, tls or udp for stream routes (http, the default, means tcp ' +
      'there); grpc, grpcs, http, https and kafka are accepted for APISIX compatibility',
    type: 'string',
    enum: SCHEMES,
    default: 'http',
    example: 'tcp',
  })
  scheme?: (typeof SCHEMES)[number];

  @ApiPropertyOptional({
    description: 'Service-discovery registry; requires service_name',
    type: 'string',
    example: 'dns',
  })
  discovery_type?: string;

  @ApiPropertyOptional({ type: () => DiscoveryArgsDto, description: 'Registry arguments' })
  discovery_args?: DiscoveryArgsDto;

  @ApiPropertyOptional({
    description: 'Host header sent to HTTP nodes (accepted, ignored by the stream proxy)',
    type: 'string',
    enum: PASS_HOST,
    default: 'pass',
    example: 'pass',
  })
  pass_host?: (typeof PASS_HOST)[number];

  @ApiPropertyOptional({
    description: 'Host header when pass_host is rewrite',
    type: 'string',
    pattern: HOST_DEFINITION_PATTERN,
    example: 'backend.example.com',
  })
  upstream_host?: string;

  @ApiPropertyOptional({
    description: 'Service name in the registry; requires discovery_type',
    type: 'string',
    minLength: 1,
    maxLength: 256,
    example: 'db.example.com',
  })
  service_name?: string;
}
