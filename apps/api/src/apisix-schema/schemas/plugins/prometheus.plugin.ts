/** apisix/stream/plugins/prometheus.lua (not in the default `stream_plugins` list). */
import { defineSchema } from '../../json-schema.types';
import { schemaOnlyCheck, type StreamPluginDefinition } from '../../stream-plugin.types';
import { injectPluginMeta } from '../plugin-injected.schema';

const schema = injectPluginMeta(
  defineSchema({
    type: 'object',
    properties: {
      // APISIX: "stream route doesn't have name yet".
      prefer_name: { type: 'boolean', default: false },
    },
  }),
);

export const prometheusPlugin: StreamPluginDefinition = {
  name: 'prometheus',
  priority: 500,
  version: 0.1,
  schema,
  checkConf: schemaOnlyCheck(schema),
};
