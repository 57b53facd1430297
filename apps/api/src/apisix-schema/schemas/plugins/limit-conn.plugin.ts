/** apisix/stream/plugins/limit-conn.lua (its own schema, not the HTTP plugin's). */
import { defineSchema } from '../../json-schema.types';
import { schemaOnlyCheck, type StreamPluginDefinition } from '../../stream-plugin.types';
import { injectPluginMeta } from '../plugin-injected.schema';

const schema = injectPluginMeta(
  defineSchema({
    type: 'object',
    properties: {
      conn: { type: 'integer', exclusiveMinimum: 0 },
      burst: { type: 'integer', minimum: 0 },
      default_conn_delay: { type: 'number', exclusiveMinimum: 0 },
      only_use_default_delay: { type: 'boolean', default: false },
      key: { type: 'string' },
      key_type: { type: 'string', enum: ['var', 'var_combination'], default: 'var' },
    },
    required: ['conn', 'burst', 'default_conn_delay', 'key'],
  }),
);

export const limitConnPlugin: StreamPluginDefinition = {
  name: 'limit-conn',
  priority: 1003,
  version: 0.1,
  schema,
  checkConf: schemaOnlyCheck(schema),
};
