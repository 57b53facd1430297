import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIpv6 } from './addresses';

/**
 * PROXY protocol v1 and v2 headers (haproxy doc/proxy-protocol.txt), read before anything else on
 * a `proxyProtocol` listener. The header is trusted as sent: such a listener must only be reachable
 * from the load balancer (APISIX's `real_ip_from` list is not modelled yet).
 */

/** v1: "the maximum line length is 107 characters including the CRLF" (section 2.1). */
export const MAX_PROXY_V1_LENGTH = 107;
/**
 * v2 may declare up to 64 KiB of addresses and TLVs; real load balancers send well under 1 KiB
 * (AWS, GCP and Azure TLVs are a few dozen bytes), so 4 KiB bounds what one pending connection
 * can make the proxy buffer without refusing any of them.
 */
export const MAX_PROXY_V2_LENGTH = 4096;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V2_HEADER_LENGTH = 16;

export type ProxyHeaderScan =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | {
      readonly kind: 'complete';
      /** Bytes the header occupies; what follows is payload. */
      readonly length: number;
      /**
       * The original client and the address it connected to; absent for v1 `UNKNOWN`, v2 `LOCAL`
       * (health checks from the balancer itself), `UNSPEC` and UNIX families, where the
       * connection's own addresses stay in force (the spec's "receiver must ignore" cases).
       */
      readonly addresses?: ProxiedAddresses;
    };

export interface ProxiedAddresses {
  readonly sourceAddr: string;
  readonly sourcePort: number;
  readonly destinationAddr: string;
  readonly destinationPort: number;
}

const INCOMPLETE: ProxyHeaderScan = { kind: 'incomplete' };

function invalid(reason: string): ProxyHeaderScan {
  return { kind: 'invalid', reason };
}

/**
 * Scans the bytes received so far. Anything that cannot become a valid header is reported as soon
 * as the first wrong byte arrives; `incomplete` is only returned while within the size bounds.
 */
export function scanProxyHeader(data: Buffer): ProxyHeaderScan {
  if (data.length === 0) return INCOMPLETE;
  if (data[0] === V1_PREFIX[0]) return scanV1(data);
  if (data[0] === V2_SIGNATURE[0]) return scanV2(data);
  return invalid('no PROXY protocol header');
}

function hasPrefix(data: Buffer, prefix: Buffer): boolean {
  const length = Math.min(data.length, prefix.length);
  for (let index = 0; index < length; index++) if (data[index] !== prefix[index]) return false;
  return true;
}

function scanV1(data: Buffer): ProxyHeaderScan {
  if (!hasPrefix(data, V1_PREFIX)) return invalid('malformed v1 header');
  const lineFeed = data.indexOf(0x0a);
  if (lineFeed === -1 || lineFeed >= MAX_PROXY_V1_LENGTH) {
    return data.length >= MAX_PROXY_V1_LENGTH ? invalid('v1 header too long') : INCOMPLETE;
  }
  if (data[lineFeed - 1] !== 0x0d) return invalid('v1 header not terminated by CRLF');
  const fields = data.toString('latin1', V1_PREFIX.length, lineFeed - 1).split(' ');
  const length = lineFeed + 1;
  // "UNKNOWN" may be followed by anything up to the CRLF, which the receiver ignores.
  if (fields[0] === 'UNKNOWN') return { kind: 'complete', length };
  if (fields.length !== 5) return invalid('malformed v1 header');
  const [family, source, destination, sourcePort, destinationPort] = fields;
  const isAddress = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : undefined;
  if (!isAddress) return invalid(`unknown v1 protocol ${family}`);
  if (!isAddress(source) || !isAddress(destination)) return invalid('malformed v1 address');
  const sourcePortNumber = parsePort(sourcePort);
  const destinationPortNumber = parsePort(destinationPort);
  if (sourcePortNumber < 0 || destinationPortNumber < 0) return invalid('malformed v1 port');
  return {
    kind: 'complete',
    length,
    addresses: {
      sourceAddr: family === 'TCP6' ? canonicalIpv6(source) : source,
      sourcePort: sourcePortNumber,
      destinationAddr: family === 'TCP6' ? canonicalIpv6(destination) : destination,
      destinationPort: destinationPortNumber,
    },
  };
}

/** Decimal 0-65535 without sign or spaces; -1 when malformed. */
function parsePort(text: string): number {
  if (text.length === 0 || text.length > 5) return -1;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 48 || code > 57) return -1;
  }
  const port = Number(text);
  return port <= 65535 ? port : -1;
}

/** 16 address bytes as `xxxx:xxxx:...`, then canonical (`::1`, mapped IPv4 as IPv4). */
function ipv6FromBytes(data: Buffer, offset: number): string {
  const hex = data.toString('hex', offset, offset + 16);
  return canonicalIpv6(hex.replace(/(.{4})(?!$)/g, '$1:'));
}

function scanV2(data: Buffer): ProxyHeaderScan {
  if (!hasPrefix(data, V2_SIGNATURE)) return invalid('malformed v2 signature');
  if (data.length < V2_HEADER_LENGTH) return INCOMPLETE;
  const versionAndCommand = data[12];
  if (versionAndCommand >> 4 !== 2) return invalid('unsupported v2 version');
  const command = versionAndCommand & 0x0f;
  if (command > 1) return invalid('unknown v2 command');
  const family = data[13];
  const length = V2_HEADER_LENGTH + data.readUInt16BE(14);
  if (length > MAX_PROXY_V2_LENGTH) return invalid('v2 header too long');
  if (data.length < length) return INCOMPLETE;
  // LOCAL: the balancer's own connection (health check); the addresses must be ignored.
  if (command === 0) return { kind: 'complete', length };
  const blockLength = length - V2_HEADER_LENGTH;
  switch (family) {
    case 0x00: // UNSPEC
      return { kind: 'complete', length };
    case 0x11: // TCP over IPv4
    case 0x12: // UDP over IPv4
      if (blockLength < 12) return invalid('v2 address block too short');
      return {
        kind: 'complete',
        length,
        addresses: {
          sourceAddr: `${data[16]}.${data[17]}.${data[18]}.${data[19]}`,
          destinationAddr: `${data[20]}.${data[21]}.${data[22]}.${data[23]}`,
          sourcePort: data.readUInt16BE(24),
          destinationPort: data.readUInt16BE(26),
        },
      };
    case 0x21: // TCP over IPv6
    case 0x22: // UDP over IPv6
      if (blockLength < 36) return invalid('v2 address block too short');
      return {
        kind: 'complete',
        length,
        addresses: {
          sourceAddr: ipv6FromBytes(data, 16),
          destinationAddr: ipv6FromBytes(data, 32),
          sourcePort: data.readUInt16BE(48),
          destinationPort: data.readUInt16BE(50),
        },
      };
    case 0x31: // UNIX stream
    case 0x32: // UNIX datagram
      if (blockLength < 216) return invalid('v2 address block too short');
      return { kind: 'complete', length };
    default:
      // "Other values are unspecified and must be rejected as invalid by receivers."
      return invalid('unknown v2 address family');
  }
}
