/**
 * The service model of the admin API (`service` of apisix/schema_def.lua). Stream routes use a
 * service through `service_id`: its upstream and plugins fill in what the route lacks; the HTTP
 * fields (hosts, enable_websocket, script) are stored but ignored by the stream proxy.
 * Documentation and client types only: bodies are validated by apisix-schema.
 */
import { ApiPropertyOptional } from '@nestjs/swagger';
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

/** An APISIX service as written to and read from the admin API. */
export class ServiceDto {
  @ApiIdProperty('Service id (taken from the URL on PUT /{id})')
  id?: string | number;

  @ApiNameProperty('databases')
  name?: string;

  @ApiDescProperty('Shared upstream and plugins of the database routes')
  desc?: string;

  @ApiLabelsProperty()
  labels?: Record<string, string>;

  @ApiTimestampProperty('create_time')
  create_time?: number;

  @ApiTimestampProperty('update_time')
  update_time?: number;

  @ApiPluginsProperty()
  plugins?: Record<string, Record<string, unknown>>;

  @ApiPropertyOptional({ type: () => UpstreamDto, description: 'Inline upstream' })
  upstream?: UpstreamDto;

  @ApiIdProperty('Id of an upstream object (takes precedence over the inline upstream)')
  upstream_id?: string | number;

  @ApiPropertyOptional({
    description: 'Lua script (HTTP only; stored, ignored by the stream proxy)',
    type: 'string',
    minLength: 10,
    maxLength: 102400,
    example: 'local _M = {} return _M',
  })
  script?: string;

  @ApiPropertyOptional({
    description: 'Enable WebSocket proxying (HTTP only; stored, ignored by the stream proxy)',
    type: 'boolean',
    example: false,
  })
  enable_websocket?: boolean;

  @ApiPropertyOptional({
    description: 'Host names (HTTP only; stored, ignored by the stream proxy)',
    type: 'string',
    isArray: true,
    minItems: 1,
    uniqueItems: true,
    pattern: HOST_DEFINITION_PATTERN,
    example: ['db.example.com'],
  })
  hosts?: string[];
}
