import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findForbiddenTimestamp } from './forbidden-properties';

describe('findForbiddenTimestamp (scenario 17)', () => {
  it('keeps the double space and names nested fields', () => {
    assert.equal(
      findForbiddenTimestamp({ create_time: 1, upstream: {} }),
      'the property is forbidden:  create_time',
    );
    assert.equal(
      findForbiddenTimestamp({ update_time: 1 }),
      'the property is forbidden:  update_time',
    );
    assert.equal(
      findForbiddenTimestamp({ upstream: { nodes: {}, create_time: 1 } }),
      'the property is forbidden:  upstream.create_time',
    );
    assert.equal(
      findForbiddenTimestamp({ plugins: { update_time: 0 } }),
      'the property is forbidden:  plugins.update_time',
    );
  });

  it('uses Lua truthiness: false is unset, null and 0 are set', () => {
    assert.equal(findForbiddenTimestamp({ create_time: false }), undefined);
    assert.equal(
      findForbiddenTimestamp({ create_time: null }),
      'the property is forbidden:  create_time',
    );
    assert.equal(findForbiddenTimestamp({ remote_addr: '127.0.0.1' }), undefined);
    assert.equal(findForbiddenTimestamp('x'), undefined);
  });
});
