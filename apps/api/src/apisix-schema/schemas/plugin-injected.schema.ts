/**
 * `plugin_injected_schema`: APISIX adds `properties._meta` and this `$comment` mark to every plugin
 * schema when the plugin is loaded (apisix/plugin.lua load_plugin), so `_meta` is validated too.
 */
import { defineSchema, type JsonSchema } from '../json-schema.types';

export const INJECTED_PLUGIN_SCHEMA_COMMENT = 'this is a mark for our injected plugin schema';

const metaSchema = defineSchema({
  type: 'object',
  properties: {
    disable: { type: 'boolean' },
    error_response: { oneOf: [{ type: 'string' }, { type: 'object' }] },
    priority: { description: 'priority of plugins by customized order', type: 'integer' },
    filter: {
      description: 'filter determines whether the plugin needs to be executed at runtime',
      type: 'array',
    },
    pre_function: {
      description:
        'function to be executed in each phase before execution of plugins. The pre_function ' +
        'will have access to two arguments: `conf` and `ctx`.',
      type: 'string',
    },
  },
  additionalProperties: false,
});

/** `plugin_injected_schema` as served by `GET /apisix/admin/schema/plugin_injected_schema`. */
export const pluginInjectedSchema = defineSchema({
  $comment: INJECTED_PLUGIN_SCHEMA_COMMENT,
  _meta: metaSchema,
} as JsonSchema & { readonly _meta: JsonSchema });

/** A plugin schema with `_meta` appended to its properties and the injection mark set. */
export function injectPluginMeta(schema: JsonSchema): JsonSchema {
  return defineSchema({
    ...schema,
    properties: { ...(schema.properties ?? {}), _meta: metaSchema },
    $comment: INJECTED_PLUGIN_SCHEMA_COMMENT,
  });
}
