/**
 * Texts of the checks that need the store, which the admin service runs itself (or hands to
 * `validate*WithReferences`). Ids are printed with Lua's `..`, i.e. as given (`1` or `"1"` -> 1).
 */

import { luaNumberToString } from './lua-values';

type Id = string | number;

/** Lua's `..` on an id: strings as they are, numbers with %.14g. */
function show(id: Id): string {
  return typeof id === 'number' ? luaNumberToString(id) : id;
}

/** apisix/admin/stream_routes.lua and services.lua: `upstream_id` must exist. */
export function upstreamNotFoundMessage(upstreamId: Id, responseCode = 404): string {
  return `failed to fetch upstream info by upstream id [${show(upstreamId)}], response code: ${responseCode}`;
}

/** apisix/admin/stream_routes.lua: `service_id` must exist. */
export function serviceNotFoundMessage(serviceId: Id, responseCode = 404): string {
  return `failed to fetch service info by service id [${show(serviceId)}], response code: ${responseCode}`;
}

/** `protocol.superior_id` equal to the route's own id. */
export const SUPERIOR_IS_SELF_MESSAGE = 'stream route can not set itself as superior_id';

/** `protocol.superior_id` names no stream route. Note: no space before `[`. */
export function superiorNotFoundMessage(superiorId: Id, responseCode = 404): string {
  return `failed to fetch stream routes[${show(superiorId)}], response code: ${responseCode}`;
}

/** The superior route speaks another xRPC protocol. */
export function protocolMismatchMessage(subordinate: string, superior: string): string {
  return `protocol mismatch: subordinate protocol [${subordinate}] does not match superior protocol [${superior}]`;
}

/** apisix/upstream.lua: `tls.client_cert_id` must exist... */
export function sslNotFoundMessage(sslId: Id, responseCode = 404): string {
  return `failed to fetch ssl info by ssl id [${show(sslId)}], response code: ${responseCode}`;
}

/** ...and be an ssl object of `type: "client"` (a stored ssl without `type` is a server one). */
export function sslWrongTypeMessage(sslId: Id): string {
  return `failed to fetch ssl info by ssl id [${show(sslId)}], wrong ssl type`;
}
