/**
 * Strict IP literal and CIDR parsing with the exact acceptance rules APISIX gets from glibc's
 * `inet_pton` (through lua-resty-ipmatcher and api7 jsonschema's `format: ipv4|ipv6`).
 */
import { luaToNumber } from './lua-values';

function isDigit(character: string): boolean {
  return character >= '0' && character <= '9';
}

function hexValue(character: string): number {
  if (isDigit(character)) return character.charCodeAt(0) - 48;
  const lower = character.toLowerCase();
  if (lower >= 'a' && lower <= 'f') return lower.charCodeAt(0) - 87;
  return -1;
}

/**
 * glibc `inet_pton(AF_INET)`: exactly four dot-separated decimal octets, each 0..255, no leading
 * zeros (`01` is rejected), no empty octet, nothing else.
 */
export function isIpv4Literal(text: string): boolean {
  let octets = 0;
  let current = 0;
  let sawDigit = false;
  for (const character of text) {
    if (isDigit(character)) {
      if (sawDigit && current === 0) return false;
      current = current * 10 + (character.charCodeAt(0) - 48);
      if (current > 255) return false;
      if (!sawDigit) {
        octets++;
        if (octets > 4) return false;
        sawDigit = true;
      }
    } else if (character === '.' && sawDigit) {
      if (octets === 4) return false;
      current = 0;
      sawDigit = false;
    } else {
      return false;
    }
  }
  return octets === 4;
}

/**
 * glibc `inet_pton(AF_INET6)`: up to eight groups of 1..4 hex digits, one `::` that must stand for
 * at least one group, an optional dotted IPv4 tail in the last 32 bits; no brackets, no zone id.
 */
export function isIpv6Literal(text: string): boolean {
  const groupsMax = 8;
  let position = 0;
  if (text.length === 0) return false;
  if (text[0] === ':') {
    if (text[1] !== ':') return false;
    position = 1;
  }
  let groups = 0;
  let compressedAt = -1;
  let digitsSeen = 0;
  let tokenStart = position;
  while (position < text.length) {
    const character = text[position++];
    if (hexValue(character) >= 0) {
      if (digitsSeen === 4) return false;
      digitsSeen++;
      continue;
    }
    if (character === ':') {
      tokenStart = position;
      if (digitsSeen === 0) {
        if (compressedAt >= 0) return false;
        compressedAt = groups;
        continue;
      }
      if (position === text.length) return false;
      if (groups + 1 > groupsMax) return false;
      groups++;
      digitsSeen = 0;
      continue;
    }
    if (character === '.' && groups + 2 <= groupsMax && isIpv4Literal(text.slice(tokenStart))) {
      groups += 2;
      digitsSeen = 0;
      break;
    }
    return false;
  }
  if (digitsSeen > 0) {
    if (groups + 1 > groupsMax) return false;
    groups++;
  }
  if (compressedAt >= 0) {
    // glibc refuses a "::" that would expand to zero groups.
    return groups < groupsMax;
  }
  return groups === groupsMax;
}

/** lua-resty-ipmatcher `parse_ipv6`: like inet_pton but tolerates surrounding `[` `]`. */
export function isIpv6Host(text: string): boolean {
  const unbracketed =
    text.length >= 2 && text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return isIpv6Literal(unbracketed);
}

/**
 * `core.ip.validate_cidr_or_ip` (apisix/core/ip.lua): an IPv4 or IPv6 address with an optional
 * `/mask` (0..32 for IPv4, 0..128 for IPv6). The mask goes through Lua `tonumber`; a non-numeric
 * mask raises a Lua error in APISIX (the schema patterns keep it from happening), here it is invalid.
 */
export function isValidCidrOrIp(text: string): boolean {
  let address = text;
  let mask = 0;
  const slash = text.indexOf('/');
  if (slash !== -1) {
    const parsed = luaToNumber(text.slice(slash + 1));
    if (parsed === undefined || parsed < 0 || parsed > 128) return false;
    mask = parsed;
    address = text.slice(0, slash);
  }
  if (isIpv4Literal(address)) return mask <= 32;
  return isIpv6Host(address);
}
