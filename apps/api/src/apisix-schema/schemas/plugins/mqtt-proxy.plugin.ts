/** apisix/stream/plugins/mqtt-proxy.lua */
import { defineSchema } from '../../json-schema.types';
import { schemaOnlyCheck, type StreamPluginDefinition } from '../../stream-plugin.types';
import { injectPluginMeta } from '../plugin-injected.schema';

const schema = injectPluginMeta(
  defineSchema({
    type: 'object',
    properties: {
      protocol_name: { type: 'string', default: 'MQTT' },
      protocol_level: { type: 'integer' },
    },
    required: ['protocol_level'],
  }),
);

export const mqttProxyPlugin: StreamPluginDefinition = {
  name: 'mqtt-proxy',
  priority: 1000,
  version: 0.1,
  schema,
  checkConf: schemaOnlyCheck(schema),
};
