/**
 * apisix/utils/batch-processor.lua `schema` and the batch-processor-manager wrappers that every
 * batching logger (stream syslog included) merges into its own schemas.
 */
import type { JsonSchema } from '../../json-schema.types';

/** `wrap_schema`: adds the batch fields a plugin does not define itself; `name` defaults to `name`. */
export function withBatchProcessorFields(schema: JsonSchema, processorName: string): JsonSchema {
  const batchProperties: Record<string, JsonSchema> = {
    name: { type: 'string', default: processorName },
    max_retry_count: { type: 'integer', minimum: 0, default: 0 },
    retry_delay: { type: 'integer', minimum: 0, default: 1 },
    buffer_duration: { type: 'integer', minimum: 1, default: 60 },
    inactive_timeout: { type: 'integer', minimum: 1, default: 5 },
    batch_max_size: { type: 'integer', minimum: 1, default: 1000 },
  };
  const own = schema.properties ?? {};
  const added = Object.entries(batchProperties).filter(([field]) => !(field in own));
  return { ...schema, properties: { ...own, ...Object.fromEntries(added) } };
}

/** Default backlog cap of batch-processor-manager (`DEFAULT_MAX_PENDING_ENTRIES`). */
const DEFAULT_MAX_PENDING_ENTRIES = 8192;

/** `wrap_metadata_schema`: every batching logger's metadata also accepts `max_pending_entries`. */
export function withMaxPendingEntries(schema: JsonSchema): JsonSchema {
  return {
    ...schema,
    properties: {
      ...(schema.properties ?? {}),
      max_pending_entries: {
        type: 'integer',
        minimum: 1,
        default: DEFAULT_MAX_PENDING_ENTRIES,
        description:
          'maximum number of entries waiting to be processed; new entries are discarded while ' +
          'the backlog exceeds it',
      },
    },
  };
}
