/**
 * `_M.ssl` of apisix/schema_def.lua (validity_start/validity_end/exptime were removed in 3.7 and
 * are rejected as additional properties).
 */
import { defineSchema } from '../json-schema.types';
import {
  HOST_DEFINITION_PATTERN,
  certificateDefinition,
  descriptionDefinition,
  idSchema,
  labelsDefinition,
  privateKeyDefinition,
  timestampDefinition,
} from './shared-definitions';

export const sslSchema = defineSchema({
  type: 'object',
  properties: {
    id: idSchema,
    desc: descriptionDefinition,
    labels: labelsDefinition,
    create_time: timestampDefinition,
    update_time: timestampDefinition,

    type: {
      description:
        'ssl certificate type, server to server certificate, client to client certificate for upstream',
      type: 'string',
      default: 'server',
      enum: ['server', 'client'],
    },
    cert: certificateDefinition,
    key: privateKeyDefinition,
    sni: { type: 'string', pattern: HOST_DEFINITION_PATTERN },
    snis: {
      type: 'array',
      items: { type: 'string', pattern: HOST_DEFINITION_PATTERN },
      minItems: 1,
    },
    certs: { type: 'array', items: certificateDefinition },
    keys: { type: 'array', items: privateKeyDefinition },
    client: {
      type: 'object',
      properties: {
        ca: certificateDefinition,
        depth: { type: 'integer', minimum: 0, default: 1 },
        skip_mtls_uri_regex: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { description: 'uri regular expression to skip mtls', type: 'string' },
        },
      },
      required: ['ca'],
    },
    status: {
      description: 'ssl status, 1 to enable, 0 to disable',
      type: 'integer',
      enum: [1, 0],
      default: 1,
    },
    ssl_protocols: {
      description: 'set ssl protocols',
      type: 'array',
      maxItems: 3,
      uniqueItems: true,
      items: { enum: ['TLSv1.1', 'TLSv1.2', 'TLSv1.3'] },
    },
  },
  // A server certificate needs cert, key and exactly one of sni/snis; anything else fails with the
  // bare `then clause did not match` (t/admin/ssl.t TEST 6, 13, 19).
  if: { properties: { type: { enum: ['server'] } } },
  then: {
    oneOf: [{ required: ['sni', 'key', 'cert'] }, { required: ['snis', 'key', 'cert'] }],
  },
  else: { required: ['key', 'cert'] },
  additionalProperties: false,
});
