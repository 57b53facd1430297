/**
 * How APISIX (LuaJIT + lua-cjson) sees and prints JSON values. Error texts are built from these
 * renderings, so they have to match byte for byte.
 */

/** A JSON object as decoded by JSON.parse (never an array, never null). */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A Lua table: what cjson decodes both JSON objects and JSON arrays into. */
export function isLuaTable(value: unknown): value is JsonObject | unknown[] {
  return typeof value === 'object' && value !== null;
}

export function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/**
 * Lua's `type()` of a decoded JSON value. Objects and arrays are both `table`; cjson decodes JSON
 * `null` to the `cjson.null` lightuserdata, hence `userdata`; a missing value is `nil`.
 */
export function luaTypeName(value: unknown): string {
  if (value === undefined) return 'nil';
  if (value === null) return 'userdata';
  if (typeof value === 'object') return 'table';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  return typeof value;
}

/**
 * LuaJIT's `tostring(number)`, i.e. C `printf("%.14g")`: `70000`, `0.5`, `1e+15`, `-1`.
 * Used for numbers in range messages and for cjson number encoding (which also uses %.14g).
 */
export function luaNumberToString(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exponentText] = value.toExponential(13).split('e');
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exponent < -4 || exponent >= 14) {
    const fraction = digits.slice(1).replace(/0+$/, '');
    const exponentDigits = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${digits[0]}${fraction ? `.${fraction}` : ''}e${exponent < 0 ? '-' : '+'}${exponentDigits}`;
  }
  if (exponent >= 0) {
    const integerPart = digits.slice(0, exponent + 1);
    const fraction = digits.slice(exponent + 1).replace(/0+$/, '');
    return `${sign}${integerPart}${fraction ? `.${fraction}` : ''}`;
  }
  const fraction = `${'0'.repeat(-exponent - 1)}${digits}`.replace(/0+$/, '');
  return `${sign}0.${fraction}`;
}

function isAsciiDigit(character: string | undefined): boolean {
  return character !== undefined && character >= '0' && character <= '9';
}

/**
 * LuaJIT's `string.format('%q', s)`: wraps in double quotes and escapes `"`, `\` and newline with a
 * backslash (the newline stays a real newline); other control bytes become `\ddd` decimal escapes,
 * padded to three digits only when a digit follows. api7 jsonschema renders pattern failures with it:
 * `failed to match pattern "^\\S+$" with "a b"`.
 */
export function luaQuote(text: string): string {
  let quoted = '"';
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    const code = character.charCodeAt(0);
    if (character === '"' || character === '\\' || character === '\n') {
      quoted += `\\${character}`;
    } else if (code < 32 || code === 127) {
      const padded = code >= 100 || isAsciiDigit(text[index + 1]);
      quoted += `\\${padded ? String(code).padStart(3, '0') : String(code)}`;
    } else {
      quoted += character;
    }
  }
  return `${quoted}"`;
}

/**
 * Lua `tonumber(string)` as LuaJIT parses it: surrounding whitespace allowed, decimal with optional
 * fraction and exponent, or `0x` hex. Anything else is `nil` (undefined here).
 */
export function luaToNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return Number(trimmed);
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]+)$/.exec(trimmed);
  if (hex) {
    const magnitude = parseInt(hex[2], 16);
    return hex[1] === '-' ? -magnitude : magnitude;
  }
  return undefined;
}

function cjsonEncodeString(text: string): string {
  let encoded = '"';
  for (const character of text) {
    const code = character.charCodeAt(0);
    switch (character) {
      case '"':
        encoded += '\\"';
        break;
      case '\\':
        encoded += '\\\\';
        break;
      // cjson escapes the forward slash, unlike JSON.stringify.
      case '/':
        encoded += '\\/';
        break;
      case '\b':
        encoded += '\\b';
        break;
      case '\f':
        encoded += '\\f';
        break;
      case '\n':
        encoded += '\\n';
        break;
      case '\r':
        encoded += '\\r';
        break;
      case '\t':
        encoded += '\\t';
        break;
      default:
        encoded += code < 32 ? `\\u${code.toString(16).padStart(4, '0')}` : character;
    }
  }
  return `${encoded}"`;
}

/**
 * lua-cjson's `encode`: numbers with %.14g, `/` escaped, compact separators. Used in
 * `invalid plugin conf <json> for plugin [x]` and in the anyOf `["active"] or [...]` text.
 */
export function cjsonEncode(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return cjsonEncodeString(value);
  if (typeof value === 'number') return luaNumberToString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(cjsonEncode).join(',')}]`;
  if (isJsonObject(value)) {
    const entries = Object.entries(value).map(
      ([key, item]) => `${cjsonEncodeString(key)}:${cjsonEncode(item)}`,
    );
    return `{${entries.join(',')}}`;
  }
  return 'null';
}

/** Structural equality of two decoded JSON values (jsonschema's `deepeq`, minus Lua's {} == []). */
export function jsonDeepEqual(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (Array.isArray(left) || Array.isArray(right)) {
    if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
    return left.every((item, index) => jsonDeepEqual(item, right[index]));
  }
  if (isJsonObject(left) && isJsonObject(right)) {
    const leftKeys = Object.keys(left);
    if (leftKeys.length !== Object.keys(right).length) return false;
    return leftKeys.every((key) => hasOwn(right, key) && jsonDeepEqual(left[key], right[key]));
  }
  return false;
}
