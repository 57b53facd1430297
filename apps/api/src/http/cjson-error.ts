/**
 * The message lua-cjson (APISIX's JSON decoder) gives for a body it cannot decode, so invalid JSON
 * gets APISIX's exact `invalid request body: <message>` text: `Expected value but found
 * invalid token at character 1`, `Expected comma or object end but found T_STRING at character
 * 9`, `Expected the end but found T_OBJ_BEGIN at character 3`... Positions are 1-based byte
 * offsets, as in Lua.
 *
 * Only the error is reproduced: this walks the body with cjson's tokenizer and grammar and returns
 * the first complaint, or undefined when cjson would have decoded it (numbers that are not JSON,
 * like `01`, `0x1f` or `nan`, which cjson accepts and JSON.parse does not; the caller then keeps
 * its own message). Nesting is checked before (json-nesting.ts).
 */
export function cjsonErrorMessage(body: Buffer): string | undefined {
  const parser = new CjsonParser(body);
  try {
    parser.value(parser.next());
    const end = parser.next();
    if (end.type !== 'T_END') parser.fail('the end', end);
    return undefined;
  } catch (error) {
    if (error instanceof CjsonError) return error.message;
    throw error;
  }
}

type TokenType =
  | 'T_OBJ_BEGIN'
  | 'T_OBJ_END'
  | 'T_ARR_BEGIN'
  | 'T_ARR_END'
  | 'T_STRING'
  | 'T_NUMBER'
  | 'T_BOOLEAN'
  | 'T_NULL'
  | 'T_COLON'
  | 'T_COMMA'
  | 'T_END'
  | 'T_ERROR';

interface Token {
  type: TokenType;
  /** 0-based byte offset (cjson reports it + 1). */
  index: number;
  /** For T_ERROR: what was wrong. */
  error?: string;
}

class CjsonError extends Error {}

const SINGLE: Record<number, TokenType> = {
  0x7b: 'T_OBJ_BEGIN',
  0x7d: 'T_OBJ_END',
  0x5b: 'T_ARR_BEGIN',
  0x5d: 'T_ARR_END',
  0x3a: 'T_COLON',
  0x2c: 'T_COMMA',
};
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESCAPES = new Set([...'"\\/bfnrt'].map((char) => char.charCodeAt(0)));
/** strtod's idea of a number: what `fpconv_strtod` consumes (decimal, hex, inf, nan). */
const STRTOD_PREFIX =
  /^[-+]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][-+]?\d+)?|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)/i;

class CjsonParser {
  private position = 0;

  constructor(private readonly data: Buffer) {}

  fail(expected: string, token: Token): never {
    const found = token.type === 'T_ERROR' ? token.error : token.type;
    throw new CjsonError(`Expected ${expected} but found ${found} at character ${token.index + 1}`);
  }

  value(token: Token): void {
    switch (token.type) {
      case 'T_OBJ_BEGIN':
        return this.object();
      case 'T_ARR_BEGIN':
        return this.array();
      case 'T_STRING':
      case 'T_NUMBER':
      case 'T_BOOLEAN':
      case 'T_NULL':
        return;
      case 'T_OBJ_END':
      case 'T_ARR_END':
      case 'T_COLON':
      case 'T_COMMA':
      case 'T_END':
      case 'T_ERROR':
        this.fail('value', token);
    }
  }

  private object(): void {
    let token = this.next();
    if (token.type === 'T_OBJ_END') return;
    for (;;) {
      if (token.type !== 'T_STRING') this.fail('object key string', token);
      token = this.next();
      if (token.type !== 'T_COLON') this.fail('colon', token);
      this.value(this.next());
      token = this.next();
      if (token.type === 'T_OBJ_END') return;
      if (token.type !== 'T_COMMA') this.fail('comma or object end', token);
      token = this.next();
    }
  }

  private array(): void {
    let token = this.next();
    if (token.type === 'T_ARR_END') return;
    for (;;) {
      this.value(token);
      token = this.next();
      if (token.type === 'T_ARR_END') return;
      if (token.type !== 'T_COMMA') this.fail('comma or array end', token);
      token = this.next();
    }
  }

  /** json_next_token: a NUL byte ends the input, as in C. */
  next(): Token {
    const data = this.data;
    while (this.position < data.length && WHITESPACE.has(data[this.position])) this.position++;
    const index = this.position;
    const byte = index < data.length ? data[index] : 0;
    if (byte === 0) return { type: 'T_END', index };
    const single = SINGLE[byte];
    if (single) {
      this.position++;
      return { type: single, index };
    }
    if (byte === 0x22) return this.string(index);
    if (byte === 0x2d || (byte >= 0x30 && byte <= 0x39)) return this.number(index);
    for (const [word, type] of [
      ['true', 'T_BOOLEAN'],
      ['false', 'T_BOOLEAN'],
      ['null', 'T_NULL'],
    ] as const) {
      if (data.toString('latin1', index, index + word.length) === word) {
        this.position += word.length;
        return { type, index };
      }
    }
    // decode_invalid_numbers (on by default): `+1`, inf and nan go to strtod too.
    if (byte === 0x2b || /^(?:inf|nan)/i.test(data.toString('latin1', index, index + 3))) {
      return this.number(index);
    }
    return { type: 'T_ERROR', index, error: 'invalid token' };
  }

  private number(index: number): Token {
    const text = this.data.toString('latin1', index, Math.min(this.data.length, index + 400));
    const match = STRTOD_PREFIX.exec(text);
    if (!match) return { type: 'T_ERROR', index, error: 'invalid number' };
    this.position = index + match[0].length;
    return { type: 'T_NUMBER', index };
  }

  private string(index: number): Token {
    const data = this.data;
    let position = index + 1;
    for (;;) {
      const byte = position < data.length ? data[position] : 0;
      if (byte === 0)
        return { type: 'T_ERROR', index: position, error: 'unexpected end of string' };
      if (byte === 0x22) break;
      if (byte === 0x5c) {
        const escaped = position + 1 < data.length ? data[position + 1] : 0;
        if (escaped === 0x75) {
          const length = this.unicodeEscapeLength(position);
          if (length === 0) {
            return { type: 'T_ERROR', index: position, error: 'invalid unicode escape code' };
          }
          position += length;
          continue;
        }
        if (!ESCAPES.has(escaped)) {
          return { type: 'T_ERROR', index: position, error: 'invalid escape code' };
        }
        position += 2;
        continue;
      }
      position++;
    }
    this.position = position + 1;
    return { type: 'T_STRING', index };
  }

  /** `\uXXXX`, or a surrogate pair `\uD8xx\uDCxx`: its length, 0 when invalid. */
  private unicodeEscapeLength(position: number): number {
    const first = this.hex4(position + 2);
    if (first === undefined) return 0;
    if (first >= 0xdc00 && first <= 0xdfff) return 0; // a lone low surrogate
    if (first < 0xd800 || first > 0xdbff) return 6;
    if (this.data[position + 6] !== 0x5c || this.data[position + 7] !== 0x75) return 0;
    const second = this.hex4(position + 8);
    return second !== undefined && second >= 0xdc00 && second <= 0xdfff ? 12 : 0;
  }

  private hex4(position: number): number | undefined {
    const text = this.data.toString('latin1', position, position + 4);
    return /^[0-9a-fA-F]{4}$/.test(text) ? parseInt(text, 16) : undefined;
  }
}
