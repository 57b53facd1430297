import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { cjsonErrorMessage } from './cjson-error';

const message = (text: string) => cjsonErrorMessage(Buffer.from(text, 'utf8'));

// Expected texts are lua-cjson 2.1's (the decoder behind APISIX's `invalid request body: ...`).
describe('lua-cjson error messages', () => {
  it('names the expected and the found token with a 1-based byte position', () => {
    assert.equal(message('{'), 'Expected object key string but found T_END at character 2');
    assert.equal(message('{"a"}'), 'Expected colon but found T_OBJ_END at character 5');
    assert.equal(message('{"a":}'), 'Expected value but found T_OBJ_END at character 6');
    assert.equal(
      message('{"a":1 "b":2}'),
      'Expected comma or object end but found T_STRING at character 8',
    );
    assert.equal(
      message('{"a":1,}'),
      'Expected object key string but found T_OBJ_END at character 8',
    );
    assert.equal(message('[1 2]'), 'Expected comma or array end but found T_NUMBER at character 4');
    assert.equal(message('[1,]'), 'Expected value but found T_ARR_END at character 4');
    assert.equal(message('{"a":1}}'), 'Expected the end but found T_OBJ_END at character 8');
    assert.equal(message('{} {}'), 'Expected the end but found T_OBJ_BEGIN at character 4');
    assert.equal(message(':'), 'Expected value but found T_COLON at character 1');
  });

  it('reports token errors: invalid token, number, escapes, unterminated strings', () => {
    assert.equal(message('abc'), 'Expected value but found invalid token at character 1');
    assert.equal(
      message("{'a':1}"),
      'Expected object key string but found invalid token at character 2',
    );
    assert.equal(message('{"a":tru}'), 'Expected value but found invalid token at character 6');
    assert.equal(message('{"a":+}'), 'Expected value but found invalid number at character 6');
    assert.equal(message('[.5]'), 'Expected value but found invalid token at character 2');
    assert.equal(message('{"a":-}'), 'Expected value but found invalid number at character 6');
    assert.equal(
      message('{"a":1.5e}'),
      'Expected comma or object end but found invalid token at character 9',
    );
    assert.equal(
      message('{"a":"x\\qy"}'),
      'Expected value but found invalid escape code at character 8',
    );
    assert.equal(
      message('{"a":"\\u12G4"}'),
      'Expected value but found invalid unicode escape code at character 7',
    );
    assert.equal(
      message('{"a":"\\udc00"}'),
      'Expected value but found invalid unicode escape code at character 7',
    );
    assert.equal(
      message('{"a":"abc'),
      'Expected value but found unexpected end of string at character 10',
    );
  });

  it('counts bytes, not characters, as Lua does', () => {
    // "é" is two bytes in UTF-8: the error moves one character further than in JavaScript.
    assert.equal(
      message('{"é":1 x}'),
      'Expected comma or object end but found invalid token at character 9',
    );
  });

  it('is undefined for what cjson decodes though JSON.parse does not', () => {
    for (const text of [
      '{"a":01}',
      '{"a":0x1f}',
      '{"a":nan}',
      '{"a":-inf}',
      '{"a":+1}',
      '{"a":"\\ud83d\\ude00"}',
      '"top-level string"',
      '{"a":1}',
    ]) {
      assert.equal(message(text), undefined, text);
    }
  });
});

/**
 * Differential check against the real decoder: lua5.1 with lua-cjson (Debian packages lua5.1 and
 * lua-cjson, which .ci/run installs). Every generated body JSON.parse refuses must get cjson's own
 * message, byte for byte.
 */
describe('against lua-cjson itself', () => {
  const lua = spawnSync('lua5.1', ['-e', 'require("cjson.safe")'], { encoding: 'utf8' });
  const available = lua.status === 0;
  // CI installs the reference, so there a missing one fails instead of skipping.
  const skip = !available && process.env.CI !== 'true' && 'lua5.1 with lua-cjson is not installed';
  it('gives the same message for 2,000 corrupted admin bodies', { skip }, () => {
    assert.ok(available, 'lua5.1 with lua-cjson is required in CI (.ci/run installs it)');
    const bodies = corruptedBodies(2000);
    const script = [
      'local c = require("cjson.safe")',
      'local data = io.read("*a")',
      'local at = 1',
      'while at <= #data do',
      '  local nl = data:find("\\n", at, true)',
      '  local len = tonumber(data:sub(at, nl - 1))',
      '  local body = data:sub(nl + 1, nl + len)',
      '  at = nl + len + 1',
      '  local _, err = c.decode(body)',
      '  io.write((err or "OK"), "\\n")',
      'end',
    ].join('\n');
    const input = Buffer.concat(bodies.flatMap((body) => [Buffer.from(`${body.length}\n`), body]));
    const result = spawnSync('lua5.1', ['-e', script], { input, maxBuffer: 16 << 20 });
    assert.equal(result.status, 0, result.stderr?.toString());
    const expected = result.stdout.toString().trimEnd().split('\n');
    assert.equal(expected.length, bodies.length);
    let compared = 0;
    bodies.forEach((body, index) => {
      let parses = true;
      try {
        JSON.parse(body.toString('utf8'));
      } catch {
        parses = false;
      }
      if (parses) return;
      const ours = cjsonErrorMessage(body);
      const theirs = expected[index] === 'OK' ? undefined : expected[index];
      assert.equal(ours, theirs, `body ${JSON.stringify(body.toString('latin1'))}`);
      compared++;
    });
    assert.ok(compared > 1000, `only ${compared} invalid bodies were compared`);
  });
});

/** Valid admin bodies with one to three random byte edits (deterministic: a fixed seed). */
function corruptedBodies(count: number): Buffer[] {
  const seeds = [
    '{"server_port":9100,"remote_addr":"10.0.0.0/8","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}}}',
    '{"nodes":[{"host":"127.0.0.1","port":80,"weight":1}],"type":"chash","key":"remote_addr","desc":"caf\\u00e9 \\ud83d\\ude00"}',
    '{"cert":"-----BEGIN CERTIFICATE-----\\nMIIB\\n","snis":["a.test","*.b.test"],"labels":{"env":"prod"},"status":1}',
    '[true,false,null,-1.5e3,0,"x\\"y\\\\z"]',
  ];
  const alphabet = '{}[]:,"\\ -+.0123456789eEtrufalsnxu\u00e9\t\n';
  let state = 0x5eed;
  const random = (n: number): number => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return state % n;
  };
  const bodies: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    let text = seeds[index % seeds.length];
    for (let edit = 0, edits = 1 + random(3); edit < edits; edit++) {
      const at = random(text.length + 1);
      const kind = random(3);
      const char = alphabet[random(alphabet.length)];
      if (kind === 0) text = text.slice(0, at) + text.slice(at + 1);
      else if (kind === 1) text = text.slice(0, at) + char + text.slice(at);
      else text = text.slice(0, at) + char + text.slice(at + 1);
    }
    bodies.push(Buffer.from(text, 'utf8'));
  }
  return bodies;
}
