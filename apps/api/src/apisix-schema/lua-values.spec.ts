import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cjsonEncode, luaNumberToString, luaQuote, luaToNumber, luaTypeName } from './lua-values';

describe('luaTypeName', () => {
  it('names decoded JSON values as Lua type() does', () => {
    assert.equal(luaTypeName({}), 'table');
    assert.equal(luaTypeName([]), 'table');
    assert.equal(luaTypeName('x'), 'string');
    assert.equal(luaTypeName(1.5), 'number');
    assert.equal(luaTypeName(true), 'boolean');
    // cjson.null is a lightuserdata.
    assert.equal(luaTypeName(null), 'userdata');
    assert.equal(luaTypeName(undefined), 'nil');
  });
});

describe('luaNumberToString (%.14g)', () => {
  it('prints integers and short fractions plainly', () => {
    assert.equal(luaNumberToString(70000), '70000');
    assert.equal(luaNumberToString(-1), '-1');
    assert.equal(luaNumberToString(0), '0');
    assert.equal(luaNumberToString(0.5), '0.5');
    assert.equal(luaNumberToString(0.1), '0.1');
    assert.equal(luaNumberToString(65535), '65535');
    assert.equal(luaNumberToString(0.0001), '0.0001');
  });

  it('switches to an exponent from 1e14 and below 1e-4', () => {
    assert.equal(luaNumberToString(1e15), '1e+15');
    assert.equal(luaNumberToString(1e20), '1e+20');
    assert.equal(luaNumberToString(12345678901234), '12345678901234');
    assert.equal(luaNumberToString(0.00001), '1e-05');
    assert.equal(luaNumberToString(-2.5e-7), '-2.5e-07');
  });
});

describe('luaQuote (%q)', () => {
  it('doubles backslashes and escapes quotes', () => {
    assert.equal(luaQuote('^\\S+$'), '"^\\\\S+$"');
    assert.equal(luaQuote('a"b'), '"a\\"b"');
  });

  it('keeps a newline after a backslash and writes other control bytes in decimal', () => {
    assert.equal(luaQuote('a\nb'), '"a\\\nb"');
    assert.equal(luaQuote('a\tb'), '"a\\9b"');
    assert.equal(luaQuote('a\t1'), '"a\\0091"');
  });
});

describe('luaToNumber', () => {
  it('parses what Lua tonumber parses', () => {
    assert.equal(luaToNumber('8080'), 8080);
    assert.equal(luaToNumber(' 80 '), 80);
    assert.equal(luaToNumber('0x10'), 16);
    assert.equal(luaToNumber('1e3'), 1000);
    assert.equal(luaToNumber(''), undefined);
    assert.equal(luaToNumber('80a'), undefined);
  });
});

describe('cjsonEncode', () => {
  it('encodes like lua-cjson', () => {
    assert.equal(cjsonEncode('a/b'), '"a\\/b"');
    assert.equal(cjsonEncode(1), '1');
    assert.equal(cjsonEncode(1e20), '1e+20');
    assert.equal(cjsonEncode(true), 'true');
    assert.equal(cjsonEncode(null), 'null');
    assert.equal(cjsonEncode(['active', 'passive']), '["active","passive"]');
  });
});
