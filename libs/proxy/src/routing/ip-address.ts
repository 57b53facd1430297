/**
 * IP address parsing without regular expressions or string splitting: a connection's address is
 * parsed once into numbers, and every route filter then compares numbers (spec 3.4 match_addrs).
 */

export type IpFamily = 4 | 6;

/**
 * A parsed address as four big-endian 32-bit words. IPv4 keeps its value in `word3` (the other
 * words are 0) and is told apart by `family`. IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack
 * Node listener reports for an IPv4 client) is unwrapped to IPv4, so it meets IPv4 rules.
 */
export class IpAddress {
  constructor(
    readonly family: IpFamily,
    readonly word0: number,
    readonly word1: number,
    readonly word2: number,
    readonly word3: number,
  ) {}

  static ipv4(value: number): IpAddress {
    return new IpAddress(4, 0, 0, 0, value >>> 0);
  }
}

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_LOWER_A = 97;
const CHAR_LOWER_F = 102;
const CHAR_UPPER_A = 65;
const CHAR_UPPER_F = 70;
const CHAR_DOT = 46;
const CHAR_COLON = 58;
const CHAR_PERCENT = 37;

/**
 * Parses dotted-quad IPv4 in text[start, end) to an unsigned 32-bit number, or -1. Leading zeros
 * are rejected (`01.2.3.4` is octal to some parsers), as Node's net.isIPv4 does.
 */
export function parseIpv4Range(text: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let position = start;
  while (parts < 4) {
    let octet = 0;
    let digits = 0;
    const octetStart = position;
    while (position < end) {
      const code = text.charCodeAt(position);
      if (code < CHAR_0 || code > CHAR_9) break;
      octet = octet * 10 + (code - CHAR_0);
      digits++;
      position++;
      if (digits > 3) return -1;
    }
    if (digits === 0 || octet > 255) return -1;
    if (digits > 1 && text.charCodeAt(octetStart) === CHAR_0) return -1;
    value = value * 256 + octet;
    parts++;
    if (parts < 4) {
      if (position >= end || text.charCodeAt(position) !== CHAR_DOT) return -1;
      position++;
    }
  }
  return position === end ? value : -1;
}

function hexDigitValue(code: number): number {
  if (code >= CHAR_0 && code <= CHAR_9) return code - CHAR_0;
  if (code >= CHAR_LOWER_A && code <= CHAR_LOWER_F) return code - CHAR_LOWER_A + 10;
  if (code >= CHAR_UPPER_A && code <= CHAR_UPPER_F) return code - CHAR_UPPER_A + 10;
  return -1;
}

/** Scratch for the eight 16-bit groups; parsing is synchronous, so one buffer is enough. */
const groupScratch = new Uint16Array(8);

/**
 * Parses IPv6 text[start, end) (RFC 4291 section 2.2: `::` compression and a dotted IPv4 tail)
 * into `groupScratch`. Returns false when the text is not an IPv6 address.
 */
function parseIpv6Groups(text: string, start: number, end: number): boolean {
  if (start >= end) return false;
  let count = 0;
  let compressAt = -1;
  let position = start;
  if (text.charCodeAt(position) === CHAR_COLON) {
    if (position + 1 >= end || text.charCodeAt(position + 1) !== CHAR_COLON) return false;
    compressAt = 0;
    position += 2;
  }
  while (position < end) {
    let value = 0;
    let digits = 0;
    let scan = position;
    while (scan < end) {
      const digit = hexDigitValue(text.charCodeAt(scan));
      if (digit < 0) break;
      value = value * 16 + digit;
      digits++;
      scan++;
    }
    if (scan < end && text.charCodeAt(scan) === CHAR_DOT) {
      // A dotted IPv4 tail fills the last two groups (`::ffff:1.2.3.4`).
      const ipv4 = parseIpv4Range(text, position, end);
      if (ipv4 < 0 || count > 6) return false;
      groupScratch[count++] = ipv4 >>> 16;
      groupScratch[count++] = ipv4 & 0xffff;
      position = end;
      break;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    groupScratch[count++] = value;
    if (scan === end) {
      position = end;
      break;
    }
    if (text.charCodeAt(scan) !== CHAR_COLON) return false;
    scan++;
    if (scan < end && text.charCodeAt(scan) === CHAR_COLON) {
      if (compressAt >= 0) return false;
      compressAt = count;
      scan++;
    } else if (scan === end) {
      return false;
    }
    position = scan;
  }
  if (compressAt < 0) return count === 8;
  if (count > 7) return false;
  const tailLength = count - compressAt;
  for (let index = 0; index < tailLength; index++) {
    groupScratch[7 - index] = groupScratch[count - 1 - index];
  }
  for (let index = compressAt; index < 8 - tailLength; index++) groupScratch[index] = 0;
  return true;
}

/**
 * Parses an IPv4 or IPv6 literal in text[start, end). IPv4-mapped IPv6 becomes IPv4.
 * `allowZone` accepts a trailing `%zone` (link-local remote addresses carry one) and ignores it.
 */
export function parseIpRange(
  text: string,
  start: number,
  end: number,
  allowZone: boolean,
): IpAddress | undefined {
  if (start >= end) return undefined;
  let hasColon = false;
  for (let position = start; position < end; position++) {
    const code = text.charCodeAt(position);
    if (code === CHAR_COLON) hasColon = true;
    else if (code === CHAR_PERCENT) {
      if (!allowZone || !hasColon || position === end - 1) return undefined;
      end = position;
      break;
    }
  }
  if (!hasColon) {
    const value = parseIpv4Range(text, start, end);
    return value < 0 ? undefined : IpAddress.ipv4(value);
  }
  if (!parseIpv6Groups(text, start, end)) return undefined;
  const word0 = ((groupScratch[0] << 16) | groupScratch[1]) >>> 0;
  const word1 = ((groupScratch[2] << 16) | groupScratch[3]) >>> 0;
  const word2 = ((groupScratch[4] << 16) | groupScratch[5]) >>> 0;
  const word3 = ((groupScratch[6] << 16) | groupScratch[7]) >>> 0;
  if (word0 === 0 && word1 === 0 && word2 === 0xffff) return IpAddress.ipv4(word3);
  return new IpAddress(6, word0, word1, word2, word3);
}

/**
 * Parses a connection's address (`127.0.0.1`, `::1`, `::ffff:127.0.0.1`, `fe80::1%eth0`).
 * Undefined for anything else (a Unix socket path, an empty string).
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  return parseIpRange(text, 0, text.length, true);
}
