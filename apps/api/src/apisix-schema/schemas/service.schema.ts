/** `_M.service` of apisix/schema_def.lua. Stream routes use services through `service_id`. */
import { defineSchema } from '../json-schema.types';
import {
  descriptionDefinition,
  hostDefinition,
  idSchema,
  labelsDefinition,
  pluginsDefinition,
  ruleNameDefinition,
  timestampDefinition,
} from './shared-definitions';
import { upstreamSchema } from './upstream.schema';

export const serviceSchema = defineSchema({
  type: 'object',
  properties: {
    id: idSchema,
    name: ruleNameDefinition,
    desc: descriptionDefinition,
    labels: labelsDefinition,
    create_time: timestampDefinition,
    update_time: timestampDefinition,

    plugins: pluginsDefinition,
    upstream: upstreamSchema,
    upstream_id: idSchema,
    script: { type: 'string', minLength: 10, maxLength: 102400 },
    enable_websocket: { description: 'enable websocket for request', type: 'boolean' },
    hosts: { type: 'array', items: hostDefinition, minItems: 1, uniqueItems: true },
  },
  additionalProperties: false,
});
