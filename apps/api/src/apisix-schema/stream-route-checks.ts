/**
 * The stream-route checks of apisix/admin/stream_routes.lua and apisix/stream/router/ip_port.lua
 * `stream_route_checker`. None of them carries the `invalid configuration: ` prefix.
 */
import { isValidCidrOrIp } from './ip-address';
import { checkSchema } from './json-schema-validator';
import { isJsonObject, luaNumberToString } from './lua-values';
import {
  SUPERIOR_IS_SELF_MESSAGE,
  protocolMismatchMessage,
  serviceNotFoundMessage,
  superiorNotFoundMessage,
  upstreamNotFoundMessage,
} from './reference-messages';
import { findXrpcProtocolSchema } from './schemas/xrpc-protocols';
import type { ReferenceLookups } from './validation-pipeline';

function idText(id: unknown): string | undefined {
  if (typeof id === 'string') return id;
  if (typeof id === 'number') return luaNumberToString(id);
  return undefined;
}

/** `upstream_id` must exist. */
export async function checkUpstreamReference(
  conf: unknown,
  references: ReferenceLookups,
): Promise<string | undefined> {
  const id = isJsonObject(conf) ? idText(conf.upstream_id) : undefined;
  if (id === undefined || (await references.upstreamExists(id))) return undefined;
  return upstreamNotFoundMessage(id);
}

/** `service_id` must exist. */
export async function checkServiceReference(
  conf: unknown,
  references: ReferenceLookups,
): Promise<string | undefined> {
  const id = isJsonObject(conf) ? idText(conf.service_id) : undefined;
  if (id === undefined || (await references.serviceExists(id))) return undefined;
  return serviceNotFoundMessage(id);
}

/**
 * `protocol.superior_id`: not the route itself (compared as strings, with the id the route is
 * stored under), an existing stream route, speaking the same protocol.
 */
export async function checkSuperiorReference(
  conf: unknown,
  references: ReferenceLookups,
): Promise<string | undefined> {
  if (!isJsonObject(conf) || !isJsonObject(conf.protocol)) return undefined;
  const superiorId = idText(conf.protocol.superior_id);
  if (superiorId === undefined) return undefined;
  const ownId = idText(conf.id);
  if (ownId !== undefined && ownId === superiorId) return SUPERIOR_IS_SELF_MESSAGE;
  const superior = await references.findStreamRoute(superiorId);
  if (superior === undefined) return superiorNotFoundMessage(superiorId);
  const superiorProtocol = superior.protocol?.name;
  if (superior.protocol !== undefined && superiorProtocol !== conf.protocol.name) {
    return protocolMismatchMessage(String(conf.protocol.name), String(superiorProtocol));
  }
  return undefined;
}

/** `remote_addr` / `server_addr` through ipmatcher, which rejects what the schema regex lets by. */
export function checkRouteAddresses(conf: unknown): string | undefined {
  if (!isJsonObject(conf)) return undefined;
  for (const field of ['remote_addr', 'server_addr'] as const) {
    const value = conf[field];
    if (typeof value === 'string' && !isValidCidrOrIp(value)) {
      return `invalid ${field}: ${value}`;
    }
  }
  return undefined;
}

/**
 * xRPC `protocol`: the name must be a protocol enabled in `xrpc.protocols`, and its `conf` must
 * pass that protocol's schema (raw jsonschema text, no prefix).
 */
export function checkXrpcProtocol(
  conf: unknown,
  enabledProtocols: readonly string[],
): string | undefined {
  if (!isJsonObject(conf) || !isJsonObject(conf.protocol)) return undefined;
  const { name, conf: protocolConf } = conf.protocol;
  const schema =
    typeof name === 'string' && enabledProtocols.includes(name)
      ? findXrpcProtocolSchema(name)
      : undefined;
  if (schema === undefined) return `unknown protocol [${String(name)}]`;
  if (protocolConf === undefined) return undefined;
  return checkSchema(schema, protocolConf, { applyDefaults: true });
}
