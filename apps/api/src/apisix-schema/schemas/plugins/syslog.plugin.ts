/** apisix/stream/plugins/syslog.lua */
import { defineSchema } from '../../json-schema.types';
import { schemaOnlyCheck, type StreamPluginDefinition } from '../../stream-plugin.types';
import { injectPluginMeta } from '../plugin-injected.schema';
import { withBatchProcessorFields, withMaxPendingEntries } from './batch-processor.schema';

const schema = injectPluginMeta(
  defineSchema(
    withBatchProcessorFields(
      {
        type: 'object',
        properties: {
          host: { type: 'string' },
          port: { type: 'integer' },
          flush_limit: { type: 'integer', minimum: 1, default: 4096 },
          drop_limit: { type: 'integer', default: 1048576 },
          timeout: { type: 'integer', minimum: 1, default: 3000 },
          log_format: { type: 'object' },
          sock_type: { type: 'string', default: 'tcp', enum: ['tcp', 'udp'] },
          pool_size: { type: 'integer', minimum: 5, default: 5 },
          tls: { type: 'boolean', default: false },
        },
        required: ['host', 'port'],
      },
      'stream sys logger',
    ),
  ),
);

/**
 * `{log_format: object}`, plus `max_pending_entries` which batch-processor-manager's
 * `wrap_metadata_schema` adds in place (so the plugin's own metadata check sees it too).
 */
const metadataSchema = defineSchema(
  withMaxPendingEntries({ type: 'object', properties: { log_format: { type: 'object' } } }),
);

export const syslogPlugin: StreamPluginDefinition = {
  name: 'syslog',
  priority: 401,
  version: 0.1,
  schema,
  metadataSchema,
  checkConf: schemaOnlyCheck(schema),
};
