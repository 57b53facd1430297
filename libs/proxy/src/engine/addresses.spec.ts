import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatHostPort, isWildcardAddress, listenerId, unwrapMappedAddress } from './addresses';

describe('addresses', () => {
  it('unwraps IPv4-mapped IPv6 addresses and leaves others alone', () => {
    assert.equal(unwrapMappedAddress('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(unwrapMappedAddress('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(unwrapMappedAddress('::ffff:1'), '::ffff:1');
    assert.equal(unwrapMappedAddress('::1'), '::1');
    assert.equal(unwrapMappedAddress('192.168.0.1'), '192.168.0.1');
  });

  it('brackets IPv6 hosts in host:port and listener ids', () => {
    assert.equal(formatHostPort('127.0.0.1', 80), '127.0.0.1:80');
    assert.equal(formatHostPort('::1', 80), '[::1]:80');
    assert.equal(listenerId('udp', '::', 53), 'udp://[::]:53');
    assert.equal(listenerId('tcp', '0.0.0.0', 9100), 'tcp://0.0.0.0:9100');
  });

  it('recognises wildcard listener addresses', () => {
    assert.equal(isWildcardAddress('0.0.0.0'), true);
    assert.equal(isWildcardAddress('::'), true);
    assert.equal(isWildcardAddress('127.0.0.1'), false);
    assert.equal(isWildcardAddress('::1'), false);
  });
});
