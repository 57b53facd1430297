/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88820), table driven, as nginx's ngx_crc32_short
 * that resty.chash hashes with. The raw-state functions let the ring chain hashes the way
 * lua-resty-balancer's chash_point_init_crc does.
 */
const CRC32_TABLE = buildTable();

function buildTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index++) {
    let value = index;
    for (let bit = 0; bit < 8; bit++) {
      value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
    }
    table[index] = value >>> 0;
  }
  return table;
}

export const CRC32_INITIAL_STATE = 0xffffffff;

export function crc32UpdateByte(state: number, byte: number): number {
  return (CRC32_TABLE[(state ^ byte) & 0xff] ^ (state >>> 8)) >>> 0;
}

/** Feeds the four bytes of `value` in little-endian order (chash_point_init_crc's prev_hash). */
export function crc32UpdateWord(state: number, value: number): number {
  state = crc32UpdateByte(state, value & 0xff);
  state = crc32UpdateByte(state, (value >>> 8) & 0xff);
  state = crc32UpdateByte(state, (value >>> 16) & 0xff);
  return crc32UpdateByte(state, (value >>> 24) & 0xff);
}

export function crc32Final(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

/** CRC-32 of the UTF-8 bytes of `text`, encoded on the fly (no Buffer per connection). */
export function crc32OfString(text: string): number {
  let state = CRC32_INITIAL_STATE;
  for (let index = 0; index < text.length; index++) {
    let code = text.charCodeAt(index);
    if (code < 0x80) {
      state = crc32UpdateByte(state, code);
      continue;
    }
    if (code < 0x800) {
      state = crc32UpdateByte(state, 0xc0 | (code >> 6));
      state = crc32UpdateByte(state, 0x80 | (code & 0x3f));
      continue;
    }
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const low = text.charCodeAt(index + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        index++;
        state = crc32UpdateByte(state, 0xf0 | (code >> 18));
        state = crc32UpdateByte(state, 0x80 | ((code >> 12) & 0x3f));
        state = crc32UpdateByte(state, 0x80 | ((code >> 6) & 0x3f));
        state = crc32UpdateByte(state, 0x80 | (code & 0x3f));
        continue;
      }
    }
    // Lone surrogates become U+FFFD, as Buffer.from(text) encodes them.
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    state = crc32UpdateByte(state, 0xe0 | (code >> 12));
    state = crc32UpdateByte(state, 0x80 | ((code >> 6) & 0x3f));
    state = crc32UpdateByte(state, 0x80 | (code & 0x3f));
  }
  return crc32Final(state);
}
