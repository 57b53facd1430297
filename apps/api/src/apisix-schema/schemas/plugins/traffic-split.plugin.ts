/** apisix/stream/plugins/traffic-split.lua (schema and check of apisix/plugins/traffic-split.lua). */
import { checkSchema } from '../../json-schema-validator';
import { defineSchema } from '../../json-schema.types';
import { isJsonObject } from '../../lua-values';
import type { StreamPluginDefinition } from '../../stream-plugin.types';
import { checkVarsExpression } from '../../vars-expression';
import { injectPluginMeta } from '../plugin-injected.schema';
import { idSchema } from '../shared-definitions';
import { upstreamSchema } from '../upstream.schema';

const schema = injectPluginMeta(
  defineSchema({
    type: 'object',
    properties: {
      rules: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            match: {
              type: 'array',
              items: { type: 'object', properties: { vars: { type: 'array' } } },
            },
            weighted_upstreams: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  upstream_id: idSchema,
                  upstream: upstreamSchema,
                  weight: {
                    description:
                      'used to split traffic between different upstreams for plugin configuration',
                    type: 'integer',
                    default: 1,
                    minimum: 0,
                  },
                },
              },
              // Without an upstream in the pick, the route's own upstream is used.
              default: [{ weight: 1 }],
              minItems: 1,
              maxItems: 20,
            },
          },
        },
      },
    },
  }),
);

function checkConf(conf: unknown): string | undefined {
  const error = checkSchema(schema, conf, { applyDefaults: true });
  if (error !== undefined || !isJsonObject(conf) || !Array.isArray(conf.rules)) return error;
  for (const rule of conf.rules) {
    if (!isJsonObject(rule) || !Array.isArray(rule.match)) continue;
    for (const match of rule.match) {
      const vars = isJsonObject(match) ? match.vars : undefined;
      const varsError = checkVarsExpression(vars);
      if (varsError !== undefined) {
        return `failed to validate the 'vars' expression: ${varsError}`;
      }
    }
  }
  return undefined;
}

export const trafficSplitPlugin: StreamPluginDefinition = {
  name: 'traffic-split',
  priority: 966,
  version: 0.1,
  schema,
  checkConf,
};
