/**
 * `_M.stream_route` of apisix/schema_def.lua (HEAD before PRs #13911/#13912: no `snis`, no
 * `tls_passthrough`; no priority, status or timeout either).
 */
import { defineSchema } from '../json-schema.types';
import {
  HOST_DEFINITION_PATTERN,
  descriptionDefinition,
  idSchema,
  ipDefinition,
  labelsDefinition,
  pluginsDefinition,
  remoteAddressDefinition,
  ruleNameDefinition,
  timestampDefinition,
} from './shared-definitions';
import { upstreamSchema } from './upstream.schema';

/** `xrpc_protocol_schema`: the `protocol` field; `conf` is checked by the protocol afterwards. */
export const xrpcProtocolSchema = defineSchema({
  type: 'object',
  properties: {
    name: { type: 'string' },
    superior_id: idSchema,
    conf: { description: 'protocol-specific configuration', type: 'object' },
    logger: {
      type: 'array',
      items: {
        properties: {
          name: { type: 'string' },
          filter: { description: 'logger filter rules', type: 'array' },
          conf: { description: 'logger plugin configuration', type: 'object' },
        },
        dependencies: { name: ['conf'] },
        additionalProperties: false,
      },
    },
  },
  required: ['name'],
});

export const streamRouteSchema = defineSchema({
  type: 'object',
  properties: {
    id: idSchema,
    name: ruleNameDefinition,
    desc: descriptionDefinition,
    labels: labelsDefinition,
    create_time: timestampDefinition,
    update_time: timestampDefinition,

    remote_addr: remoteAddressDefinition,
    server_addr: { description: 'server IP', type: 'string', anyOf: ipDefinition },
    server_port: { description: 'server port', type: 'integer', minimum: 1, maximum: 65535 },
    sni: {
      description: 'server name indication',
      type: 'string',
      pattern: HOST_DEFINITION_PATTERN,
    },
    upstream: upstreamSchema,
    upstream_id: idSchema,
    service_id: idSchema,
    plugins: pluginsDefinition,
    protocol: xrpcProtocolSchema,
  },
  additionalProperties: false,
});
