import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr } from './expr';
import { fakeSession, fakeSummary } from './testing/sessions';

const session = fakeSession({
  remoteAddr: '10.1.2.3',
  serverPort: 9100,
  vars: { mqtt_client_id: 'sensor-7' },
});

function holds(rule: unknown): boolean {
  return compileExpr(rule)(session, undefined);
}

describe('compileExpr (lua-resty-expr over stream variables)', () => {
  it('compares strings and, with a number on the right, numbers', () => {
    assert.equal(holds([['remote_addr', '==', '10.1.2.3']]), true);
    assert.equal(holds([['remote_addr', '~=', '10.1.2.3']]), false);
    assert.equal(holds([['server_port', '==', 9100]]), true);
    assert.equal(holds([['server_port', '==', '9100']]), true);
    assert.equal(holds([['server_port', '>', 9000]]), true);
    assert.equal(holds([['server_port', '>=', 9100]]), true);
    assert.equal(holds([['server_port', '<', 9100]]), false);
    assert.equal(holds([['server_port', '<=', '9100']]), true);
    assert.equal(holds([['remote_addr', '>', 1]]), false);
    assert.equal(holds([['remote_addr', '10.1.2.3']]), true);
  });

  it('supports regex, in, ipmatch, negation and logic operators', () => {
    assert.equal(holds([['mqtt_client_id', '~~', '^sensor-\\d+$']]), true);
    assert.equal(holds([['mqtt_client_id', '~*', '^SENSOR']]), true);
    assert.equal(holds([['remote_addr', 'in', ['10.1.2.3', '10.1.2.4']]]), true);
    assert.equal(holds([['server_port', 'IN', [9100]]]), false); // Lua: "9100" ~= 9100
    assert.equal(holds([['remote_addr', 'ipmatch', ['10.0.0.0/8', '::1']]]), true);
    assert.equal(holds([['remote_addr', 'ipmatch', '192.168.0.0/16']]), false);
    assert.equal(holds([['remote_addr', '!', 'ipmatch', '192.168.0.0/16']]), true);
    assert.equal(holds(['OR', ['remote_addr', '==', 'x'], ['server_port', '==', 9100]]), true);
    assert.equal(
      holds(['!AND', ['remote_addr', '==', '10.1.2.3'], ['server_port', '==', 9100]]),
      false,
    );
    assert.equal(
      holds([
        ['remote_addr', '==', '10.1.2.3'],
        ['server_port', '==', 1],
      ]),
      false,
    );
    assert.equal(holds([]), true);
  });

  it('treats unset variables as nil', () => {
    assert.equal(holds([['nope', '==', 'x']]), false);
    assert.equal(holds([['nope', '~=', 'x']]), true);
    assert.equal(holds([['nope', '~~', '.*']]), false);
    assert.equal(holds([['status', '==', '200']]), false);
    assert.equal(compileExpr([['status', '==', 200]])(session, fakeSummary()), true);
  });

  it('rejects what lua-resty-expr does not compile', () => {
    assert.throws(() => compileExpr(undefined), /missing argument rule/);
    assert.throws(() => compileExpr([['a', 'bogus', 1]]), /invalid operator/);
    assert.throws(() => compileExpr([['a', 'ipmatch', ['300.0.0.1']]]), /invalid ip address/);
    assert.throws(() => compileExpr([['a', '~~', '(']]), /invalid regex/);
  });
});
