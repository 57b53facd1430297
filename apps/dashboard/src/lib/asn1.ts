/**
 * A minimal DER reader: just enough of ASN.1 (X.690) to walk an X.509 certificate. Indefinite
 * lengths are BER-only and never valid in DER, so they are rejected rather than supported.
 */
export interface Asn1Node {
  /** The identifier octet: class (bits 8-7), constructed (bit 6), tag number (bits 5-1). */
  readonly tag: number;
  readonly constructed: boolean;
  /** Offset of the identifier octet in the buffer, and of the first content octet. */
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
  readonly bytes: Uint8Array;
}

export class Asn1Error extends Error {}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  universalString: 0x1c,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const;

export function readNode(bytes: Uint8Array, offset = 0, limit = bytes.length): Asn1Node {
  if (offset + 2 > limit) throw new Asn1Error('truncated ASN.1 header');
  const tag = bytes[offset];
  // High tag numbers (0x1f) do not occur in certificates.
  if ((tag & 0x1f) === 0x1f) throw new Asn1Error('unsupported high tag number');
  let length = bytes[offset + 1];
  let cursor = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0) throw new Asn1Error('indefinite length is not DER');
    if (octets > 4) throw new Asn1Error('length too large');
    length = 0;
    for (let index = 0; index < octets; index += 1) {
      if (cursor >= limit) throw new Asn1Error('truncated ASN.1 length');
      length = length * 256 + bytes[cursor];
      cursor += 1;
    }
  }
  const end = cursor + length;
  if (end > limit) throw new Asn1Error('ASN.1 value runs past its container');
  return { tag, constructed: (tag & 0x20) !== 0, start: offset, contentStart: cursor, end, bytes };
}

export function children(node: Asn1Node): Asn1Node[] {
  if (!node.constructed) throw new Asn1Error('not a constructed value');
  const result: Asn1Node[] = [];
  let cursor = node.contentStart;
  while (cursor < node.end) {
    const child = readNode(node.bytes, cursor, node.end);
    result.push(child);
    cursor = child.end;
  }
  return result;
}

export function content(node: Asn1Node): Uint8Array {
  return node.bytes.subarray(node.contentStart, node.end);
}

export function expectTag(node: Asn1Node | undefined, tag: number, what: string): Asn1Node {
  if (node === undefined || node.tag !== tag) throw new Asn1Error(`expected ${what}`);
  return node;
}

export function readOid(node: Asn1Node): string {
  const data = content(expectTag(node, TAG.oid, 'an OBJECT IDENTIFIER'));
  if (data.length === 0) throw new Asn1Error('empty OBJECT IDENTIFIER');
  const parts: number[] = [];
  let value = 0;
  for (const byte of data) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) {
        // The first subidentifier packs the first two arcs: 40 * X + Y (X is 0, 1 or 2).
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  return parts.join('.');
}

export function readString(node: Asn1Node): string {
  const data = content(node);
  switch (node.tag) {
    case TAG.bmpString: {
      let text = '';
      for (let index = 0; index + 1 < data.length; index += 2) {
        text += String.fromCharCode((data[index] << 8) | data[index + 1]);
      }
      return text;
    }
    case TAG.universalString: {
      let text = '';
      for (let index = 0; index + 3 < data.length; index += 4) {
        text += String.fromCodePoint(
          ((data[index] << 24) |
            (data[index + 1] << 16) |
            (data[index + 2] << 8) |
            data[index + 3]) >>>
            0,
        );
      }
      return text;
    }
    case TAG.teletexString:
      // T.61 in theory; Latin-1 in practice.
      return Array.from(data, (byte) => String.fromCharCode(byte)).join('');
    default:
      return new TextDecoder().decode(data);
  }
}

/** UTCTime (YYMMDDHHMMSSZ, RFC 5280: YY < 50 means 20YY) or GeneralizedTime (YYYYMMDDHHMMSSZ). */
export function readTime(node: Asn1Node): Date {
  const text = new TextDecoder().decode(content(node));
  let match: RegExpMatchArray | null;
  let year: number;
  if (node.tag === TAG.utcTime) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(text);
    if (!match) throw new Asn1Error(`bad UTCTime ${text}`);
    const short = Number(match[1]);
    year = short < 50 ? 2000 + short : 1900 + short;
  } else if (node.tag === TAG.generalizedTime) {
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(text);
    if (!match) throw new Asn1Error(`bad GeneralizedTime ${text}`);
    year = Number(match[1]);
  } else {
    throw new Asn1Error('expected a time');
  }
  return new Date(
    Date.UTC(
      year,
      Number(match[2]) - 1,
      Number(match[3]),
      Number(match[4]),
      Number(match[5]),
      Number(match[6] ?? '0'),
    ),
  );
}

/** Bit length of an unsigned big-endian INTEGER (e.g. an RSA modulus). */
export function integerBitLength(node: Asn1Node): number {
  const data = content(expectTag(node, TAG.integer, 'an INTEGER'));
  let index = 0;
  while (index < data.length - 1 && data[index] === 0) index += 1;
  if (index >= data.length) return 0;
  return (data.length - index - 1) * 8 + (32 - Math.clz32(data[index]));
}
