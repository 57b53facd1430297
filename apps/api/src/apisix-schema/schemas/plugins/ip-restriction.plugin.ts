/** apisix/stream/plugins/ip-restriction.lua (a clone of apisix/plugins/ip-restriction/init.lua). */
import { isValidCidrOrIp } from '../../ip-address';
import { checkSchema } from '../../json-schema-validator';
import { defineSchema } from '../../json-schema.types';
import { isJsonObject } from '../../lua-values';
import type { StreamPluginDefinition } from '../../stream-plugin.types';
import { injectPluginMeta } from '../plugin-injected.schema';
import { ipDefinition } from '../shared-definitions';

const schema = injectPluginMeta(
  defineSchema({
    type: 'object',
    properties: {
      message: {
        type: 'string',
        minLength: 1,
        maxLength: 1024,
        default: 'Your IP address is not allowed',
      },
      response_code: { type: 'integer', minimum: 403, maximum: 404, default: 403 },
      whitelist: { type: 'array', items: { anyOf: ipDefinition }, minItems: 1 },
      blacklist: { type: 'array', items: { anyOf: ipDefinition }, minItems: 1 },
    },
    // An empty conf fails with `value should match only one schema, but matches none`.
    oneOf: [{ required: ['whitelist'] }, { required: ['blacklist'] }],
  }),
);

function checkConf(conf: unknown): string | undefined {
  const error = checkSchema(schema, conf, { applyDefaults: true });
  if (error !== undefined || !isJsonObject(conf)) return error;
  // The plugin's own comment: too complex to filter out all invalid IPv6 via regex.
  for (const list of [conf.whitelist, conf.blacklist]) {
    if (!Array.isArray(list)) continue;
    for (const cidr of list) {
      if (!isValidCidrOrIp(String(cidr))) return `invalid ip address: ${String(cidr)}`;
    }
  }
  return undefined;
}

export const ipRestrictionPlugin: StreamPluginDefinition = {
  name: 'ip-restriction',
  priority: 3000,
  version: 0.1,
  schema,
  checkConf,
};
