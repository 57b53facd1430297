import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileHashKeyResolver } from './hash-key';
import { connection } from './test-support';

const context = connection({
  remoteAddr: '10.0.0.7',
  remotePort: 51000,
  serverAddr: '127.0.0.10',
  serverPort: 9100,
  vars: { mqtt_client_id: 'foo', empty: '' },
});

describe('compileHashKeyResolver (spec 3.10 chash key)', () => {
  it('reads nginx stream variables and plugin vars for hash_on vars', () => {
    const key = (hashKey: string) => compileHashKeyResolver({ hashOn: 'vars', hashKey })(context);
    assert.equal(key('remote_addr'), '10.0.0.7');
    assert.equal(key('remote_port'), '51000');
    assert.equal(key('server_addr'), '127.0.0.10');
    assert.equal(key('server_port'), '9100');
    assert.equal(key('mqtt_client_id'), 'foo');
    assert.equal(key('empty'), '', 'only a nil value falls back');
  });

  it('falls back to remote_addr for a nil key, header, cookie, consumer and no key', () => {
    assert.equal(
      compileHashKeyResolver({ hashOn: 'vars', hashKey: 'missing' })(context),
      '10.0.0.7',
    );
    assert.equal(compileHashKeyResolver({ hashOn: 'vars' })(context), '10.0.0.7');
    assert.equal(
      compileHashKeyResolver({ hashOn: 'header', hashKey: 'x-user' })(context),
      '10.0.0.7',
    );
    assert.equal(
      compileHashKeyResolver({ hashOn: 'cookie', hashKey: 'session' })(context),
      '10.0.0.7',
    );
    assert.equal(compileHashKeyResolver({ hashOn: 'consumer' })(context), '10.0.0.7');
  });

  it('fills vars_combinations templates: $a$b, ${a}, literals and \\$', () => {
    const key = (hashKey: string) =>
      compileHashKeyResolver({ hashOn: 'vars_combinations', hashKey })(context);
    assert.equal(key('$remote_addr$remote_port'), '10.0.0.751000');
    assert.equal(key('${remote_addr}-${server_port}'), '10.0.0.7-9100');
    assert.equal(key('id=$mqtt_client_id,$missing'), 'id=foo,');
    assert.equal(key('\\$remote_addr:$server_port'), '$remote_addr:9100');
    assert.equal(key('$missing$also_missing'), '10.0.0.7', 'nothing resolved counts as nil');
  });
});
