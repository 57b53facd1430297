import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkVarsExpression } from './vars-expression';

describe('checkVarsExpression (lua-resty-expr v1 expr.new)', () => {
  it('accepts the rule shapes traffic-split documents', () => {
    for (const rule of [
      [],
      [['remote_addr', '==', '127.0.0.1']],
      [
        ['server_port', '>', 8000],
        ['arg_name', '~~', '^a'],
      ],
      ['OR', ['remote_addr', '==', '1.1.1.1'], ['remote_addr', '==', '2.2.2.2']],
      [['remote_addr', 'ipmatch', ['127.0.0.0/24', '::1']]],
      [['remote_addr', '!', 'in', ['1', '2']]],
      [['arg_x', 'value']],
    ]) {
      assert.equal(checkVarsExpression(rule), undefined, JSON.stringify(rule));
    }
  });

  it('returns the library texts', () => {
    assert.equal(checkVarsExpression(undefined), 'missing argument rule');
    assert.equal(
      checkVarsExpression(['remote_addr', '==', 'x']),
      'rule should be wrapped inside brackets',
    );
    assert.equal(checkVarsExpression(['AND', ['a', '==', 'b']]), 'rule too short');
    assert.equal(checkVarsExpression([[]]), 'rule too short');
    assert.equal(checkVarsExpression([['a', 'is', 'b']]), "invalid operator 'is'");
    assert.equal(checkVarsExpression([['a', 'x', '==', 'b']]), "bad 'not' expression");
    assert.equal(checkVarsExpression([['a']]), 'invalid expression');
    assert.equal(checkVarsExpression([['remote_addr', 'ipmatch', '']]), 'invalid ip address');
    assert.equal(
      checkVarsExpression([['remote_addr', 'ipmatch', ['300.1.1.1/8']]]),
      'invalid ip address: 300.1.1.1',
    );
  });
});
