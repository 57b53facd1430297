/**
 * `core.utils.parse_addr` (apisix/core/utils.lua): splits a hash-form node key into host and port
 * without validating either. Brackets of `[v6]:port` are kept in the host.
 */
import { luaToNumber } from './lua-values';

/** Lua `rfind_char(s, ":", #s - 1)`: the last colon, never the final character. */
function lastColonBeforeEnd(address: string): number {
  return address.length < 2 ? -1 : address.lastIndexOf(':', address.length - 2);
}

function splitAtLastColon(address: string): { host: string; port?: number } {
  const colon = lastColonBeforeEnd(address);
  if (colon === -1) return { host: address };
  return { host: address.slice(0, colon), port: luaToNumber(address.slice(colon + 1)) };
}

export function parseNodeAddress(address: string): { host: string; port?: number } {
  if (address.startsWith('[')) {
    if (address.endsWith(']')) return { host: address };
    const colon = lastColonBeforeEnd(address);
    if (colon === -1 || address[colon - 1] !== ']') return { host: address };
    return splitAtLastColon(address);
  }
  let colons = 0;
  for (const character of address) {
    // A dot before a second colon means IPv4 or a host name, maybe with a port.
    if (character === '.') return splitAtLastColon(address);
    // A second colon before any dot means a bare IPv6 literal: no port.
    if (character === ':' && ++colons === 2) return { host: address };
  }
  return splitAtLastColon(address);
}
