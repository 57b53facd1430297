/**
 * The plugin metadata model of the admin API: settings shared by every use of one plugin, stored
 * under the plugin's name. The body is checked against the plugin's `metadata_schema` (only
 * syslog has one among the stream plugins; the others accept any object). Documentation and
 * client types only: bodies are validated by apisix-schema.
 */
import { ApiPropertyOptional } from '@nestjs/swagger';
import { ApiAdditionalProperties, ApiTimestampProperty } from '../common/resource-properties';

/**
 * An APISIX plugin metadata object as written to and read from the admin API. The documented
 * fields are syslog's; other plugins' metadata may carry any field.
 */
@ApiAdditionalProperties()
export class PluginMetadataDto {
  @ApiPropertyOptional({
    description: 'The plugin name (taken from the URL)',
    type: 'string',
    readOnly: true,
    example: 'syslog',
  })
  id?: string;

  @ApiTimestampProperty('create_time')
  create_time?: number;

  @ApiTimestampProperty('update_time')
  update_time?: number;

  @ApiPropertyOptional({
    description:
      'syslog: log entry fields by name; values starting with $ are variables (e.g. $remote_addr)',
    type: 'object',
    additionalProperties: true,
    example: { client_ip: '$remote_addr', server_port: '$server_port' },
  })
  log_format?: Record<string, unknown>;

  @ApiPropertyOptional({
    description:
      'syslog: entries waiting to be sent before new ones are discarded (batch processor backlog)',
    type: 'integer',
    minimum: 1,
    default: 8192,
    example: 8192,
  })
  max_pending_entries?: number;

  /** Other plugins' metadata fields (their metadata is any object). */
  [field: string]: unknown;
}
