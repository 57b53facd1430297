import { IpAddress, parseIpRange } from './ip-address';
import type { IpFamily } from './ip-address';
import { RoutingError } from './routing-error';

const CHAR_COLON = 58;
const CHAR_0 = 48;
const CHAR_9 = 57;

/** Mask of the leading `bits` (0..32) bits of a 32-bit word; `<< 32` is a no-op in JS, hence the cases. */
export function leadingBitsMask(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * An IP or CIDR rule (`127.0.0.1`, `127.0.0.1/26`, `::1`, `2001:db8::/32`), compiled to masked
 * words so that matching is a handful of integer operations (lua-resty-ipmatcher semantics).
 *
 * IPv4 rules match IPv4 addresses only and IPv6 rules IPv6 addresses only, as in ipmatcher.
 * An IPv4-mapped rule (`::ffff:127.0.0.1`, `::ffff:127.0.0.0/104`) is turned into the IPv4 rule
 * it denotes, because mapped connection addresses are unwrapped to IPv4 as well.
 */
export class IpNetwork {
  readonly mask0: number;
  readonly mask1: number;
  readonly mask2: number;
  readonly mask3: number;
  readonly word0: number;
  readonly word1: number;
  readonly word2: number;
  readonly word3: number;

  constructor(
    readonly family: IpFamily,
    /** 0..32 for IPv4, 0..128 for IPv6. */
    readonly prefixLength: number,
    address: IpAddress,
  ) {
    if (family === 4) {
      this.mask0 = 0;
      this.mask1 = 0;
      this.mask2 = 0;
      this.mask3 = leadingBitsMask(prefixLength);
    } else {
      this.mask0 = leadingBitsMask(prefixLength);
      this.mask1 = leadingBitsMask(prefixLength - 32);
      this.mask2 = leadingBitsMask(prefixLength - 64);
      this.mask3 = leadingBitsMask(prefixLength - 96);
    }
    // Host bits are dropped: `127.0.0.1/26` is accepted and means 127.0.0.0/26 (scenario 11).
    this.word0 = (address.word0 & this.mask0) >>> 0;
    this.word1 = (address.word1 & this.mask1) >>> 0;
    this.word2 = (address.word2 & this.mask2) >>> 0;
    this.word3 = (address.word3 & this.mask3) >>> 0;
  }

  /** True for a single address (`/32` or `/128`). */
  get isSingleAddress(): boolean {
    return this.prefixLength === (this.family === 4 ? 32 : 128);
  }

  matches(address: IpAddress): boolean {
    if (address.family !== this.family) return false;
    if (this.family === 4) return (address.word3 & this.mask3) >>> 0 === this.word3;
    return (
      (address.word0 & this.mask0) >>> 0 === this.word0 &&
      (address.word1 & this.mask1) >>> 0 === this.word1 &&
      (address.word2 & this.mask2) >>> 0 === this.word2 &&
      (address.word3 & this.mask3) >>> 0 === this.word3
    );
  }
}

function parsePrefixLength(text: string, start: number): number {
  const digits = text.length - start;
  if (digits < 1 || digits > 3) return -1;
  let value = 0;
  for (let position = start; position < text.length; position++) {
    const code = text.charCodeAt(position);
    if (code < CHAR_0 || code > CHAR_9) return -1;
    value = value * 10 + (code - CHAR_0);
  }
  return value;
}

/** Parses an IP or CIDR rule; undefined when it is not one (`:/8`, `1.2.3.4/33`, `::1%lo`). */
export function parseIpNetwork(text: string): IpNetwork | undefined {
  const slash = text.indexOf('/');
  const addressEnd = slash < 0 ? text.length : slash;
  // The raw text decides the family: `::ffff:1.2.3.4/120` counts its prefix in IPv6 bits.
  let writtenAsIpv6 = false;
  for (let position = 0; position < addressEnd; position++) {
    if (text.charCodeAt(position) === CHAR_COLON) {
      writtenAsIpv6 = true;
      break;
    }
  }
  const address = parseIpRange(text, 0, addressEnd, false);
  if (address === undefined) return undefined;
  const maximumPrefix = writtenAsIpv6 ? 128 : 32;
  let prefixLength = maximumPrefix;
  if (slash >= 0) {
    prefixLength = parsePrefixLength(text, slash + 1);
    if (prefixLength < 0 || prefixLength > maximumPrefix) return undefined;
  }
  if (writtenAsIpv6 && address.family === 4) {
    // A mapped rule: only its last 32 bits can vary inside ::ffff:0:0/96.
    if (prefixLength >= 96) return new IpNetwork(4, prefixLength - 96, address);
    // Wider than the mapped block: compare it as the IPv6 rule it was written as.
    return new IpNetwork(6, prefixLength, new IpAddress(6, 0, 0, 0xffff, address.word3));
  }
  return new IpNetwork(address.family, prefixLength, address);
}

/** The admin API's ipmatcher check for remote_addr / server_addr (rejects `:/8`, scenario 10). */
export function isValidIpOrCidr(text: string): boolean {
  return parseIpNetwork(text) !== undefined;
}

/** Compiles an IP or CIDR rule, throwing `ERR_INVALID_IP` when it is not one. */
export function compileIpMatcher(text: string): IpNetwork {
  const network = parseIpNetwork(text);
  if (network === undefined) {
    throw new RoutingError('ERR_INVALID_IP', `invalid IP or CIDR: ${text}`);
  }
  return network;
}
