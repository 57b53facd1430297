/**
 * The stream route model of the admin API (`stream_route` of apisix/schema_def.lua). No field is
 * required; there is no priority, status or timeout. Documentation and client types only: bodies
 * are validated by apisix-schema with APISIX's error texts.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ApiDescProperty,
  ApiIdProperty,
  ApiLabelsProperty,
  ApiNameProperty,
  ApiPluginsProperty,
  ApiTimestampProperty,
  HOST_DEFINITION_PATTERN,
} from '../common/resource-properties';
import { UpstreamDto } from '../upstreams/upstream.dto';

/** One logger of an xRPC protocol; a `name` needs its `conf`. */
export class StreamRouteProtocolLoggerDto {
  @ApiPropertyOptional({ description: 'Logger plugin name', type: 'string', example: 'syslog' })
  name?: string;

  @ApiPropertyOptional({
    description: 'Filter rules selecting the requests to log',
    type: 'array',
    items: {},
    example: [['cmd', '~=', 'ping']],
  })
  filter?: unknown[];

  @ApiPropertyOptional({
    description: 'Logger plugin configuration',
    type: 'object',
    additionalProperties: true,
    example: { host: '127.0.0.1', port: 514 },
  })
  conf?: Record<string, unknown>;
}

/** `xrpc_protocol_schema`: hands the connection to an xRPC protocol (redis, dubbo). */
export class StreamRouteProtocolDto {
  @ApiProperty({
    description: 'Protocol name; it must be enabled in xrpc.protocols',
    type: 'string',
    example: 'redis',
  })
  name!: string;

  @ApiIdProperty('Id of the superior stream route (same protocol) that routes to this one')
  superior_id?: string | number;

  @ApiPropertyOptional({
    description: 'Protocol-specific configuration',
    type: 'object',
    additionalProperties: true,
    example: { faults: [] },
  })
  conf?: Record<string, unknown>;

  @ApiPropertyOptional({ type: () => [StreamRouteProtocolLoggerDto] })
  logger?: StreamRouteProtocolLoggerDto[];
}

/**
 * An APISIX stream route as written to and read from the admin API: which connections it matches
 * (remote_addr, server_addr, server_port, sni) and where they go (upstream, upstream_id or the
 * service's upstream).
 */
export class StreamRouteDto {
  @ApiIdProperty('Stream route id (taken from the URL on PUT /{id})')
  id?: string | number;

  @ApiNameProperty('postgres')
  name?: string;

  @ApiDescProperty('Database traffic from the office network')
  desc?: string;

  @ApiLabelsProperty()
  labels?: Record<string, string>;

  @ApiTimestampProperty('create_time')
  create_time?: number;

  @ApiTimestampProperty('update_time')
  update_time?: number;

  @ApiPropertyOptional({
    description: 'Client address to match: an IPv4 or IPv6 address, or a CIDR block',
    type: 'string',
    example: '192.168.1.0/24',
  })
  remote_addr?: string;

  @ApiPropertyOptional({
    description:
      'Local address the connection arrived on: an IPv4 or IPv6 address, or a CIDR block',
    type: 'string',
    example: '127.0.0.10',
  })
  server_addr?: string;

  @ApiPropertyOptional({
    description: 'Local port the connection arrived on',
    type: 'integer',
    minimum: 1,
    maximum: 65535,
    example: 9100,
  })
  server_port?: number;

  @ApiPropertyOptional({
    description:
      'TLS server name to match on TLS listeners: a host name or a wildcard such as *.example.com',
    type: 'string',
    pattern: HOST_DEFINITION_PATTERN,
    example: 'db.example.com',
  })
  sni?: string;

  @ApiPropertyOptional({ type: () => UpstreamDto, description: 'Inline upstream' })
  upstream?: UpstreamDto;

  @ApiIdProperty('Id of an upstream object (takes precedence over the inline upstream)')
  upstream_id?: string | number;

  @ApiIdProperty('Id of a service whose upstream and plugins fill in what the route lacks')
  service_id?: string | number;

  @ApiPluginsProperty()
  plugins?: Record<string, Record<string, unknown>>;

  @ApiPropertyOptional({ type: () => StreamRouteProtocolDto, description: 'xRPC protocol' })
  protocol?: StreamRouteProtocolDto;
}
