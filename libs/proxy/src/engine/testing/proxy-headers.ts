/** PROXY protocol v2 headers for the specs. Not exported from the package. */

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: `command` 1 = PROXY, 0 = LOCAL; `block` the address block (+ TLVs). */
export function proxyV2Header(family: number, block: Buffer, command = 1): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = family;
  head.writeUInt16BE(block.length, 2);
  return Buffer.concat([SIGNATURE, head, block]);
}

/** The 12-byte TCP-over-IPv4 address block. */
export function ipv4Block(
  source: string,
  destination: string,
  sourcePort: number,
  destinationPort: number,
): Buffer {
  const block = Buffer.alloc(12);
  source.split('.').forEach((octet, index) => (block[index] = Number(octet)));
  destination.split('.').forEach((octet, index) => (block[4 + index] = Number(octet)));
  block.writeUInt16BE(sourcePort, 8);
  block.writeUInt16BE(destinationPort, 10);
  return block;
}

export const PROXY_V2_SIGNATURE = SIGNATURE;
