/**
 * Conf schemas of the xRPC protocols shipped with APISIX (apisix/stream/xrpc/protocols/<name>/
 * schema.lua). A protocol is only known when it is listed in `xrpc.protocols` of the config.
 */
import { defineSchema, type JsonSchema } from '../json-schema.types';

const redisSchema = defineSchema({
  type: 'object',
  properties: {
    faults: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        properties: {
          commands: { type: 'array', minItems: 1, items: { type: 'string' } },
          key: { type: 'string', minLength: 1 },
          delay: { type: 'number', description: 'additional delay in seconds' },
        },
        required: ['commands', 'delay'],
      },
    },
  },
});

const dubboSchema = defineSchema({ type: 'object' });

const PROTOCOL_SCHEMAS: ReadonlyMap<string, JsonSchema> = new Map([
  ['redis', redisSchema],
  ['dubbo', dubboSchema],
]);

/** The conf schema of an xRPC protocol APISIX ships, or undefined for an unknown name. */
export function findXrpcProtocolSchema(name: string): JsonSchema | undefined {
  return PROTOCOL_SCHEMAS.get(name);
}
