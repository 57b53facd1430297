import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { locateError, resolveField } from '../../src/lib/error-paths';

describe('locateError', () => {
  const cases: Array<[string, string[], string]> = [
    [
      'invalid configuration: property "server_port" validation failed: expected 70000 to be at most 65535',
      ['server_port'],
      'expected 70000 to be at most 65535',
    ],
    [
      'invalid configuration: property "upstream" validation failed: property "timeout" validation failed: property "send" is required',
      ['upstream.timeout.send', 'upstream.timeout', 'upstream'],
      'property "send" is required',
    ],
    [
      'invalid configuration: property "ssl_protocols" validation failed: failed to validate item 1: matches none of the enum values',
      ['ssl_protocols.0', 'ssl_protocols'],
      'matches none of the enum values',
    ],
    ['invalid remote_addr: :/8', ['remote_addr'], 'invalid remote_addr: :/8'],
    ['failed to fetch upstream info by upstream id [9], response code: 404', ['upstream_id'], ''],
    [
      'failed to check the configuration of stream plugin [ip-restriction]: value should match only one schema, but matches none',
      ['plugins.ip-restriction', 'plugins'],
      '',
    ],
    ['unknown plugin [mqttt-proxy]', ['plugins.mqttt-proxy', 'plugins'], ''],
    [
      'failed to handle cert-key pair[1]: private key does not match the certificate',
      ['certs.0', 'certs'],
      '',
    ],
    ['failed to parse key: PEM_read_bio_PrivateKey() failed', ['key', 'tls.client_key'], ''],
    ['missing key', ['key'], ''],
    [
      'invalid configuration: failed to match pattern "^[a-zA-Z0-9-_]+$" with "bad key"',
      ['key'],
      '',
    ],
    ['invalid configuration: then clause did not match', [], ''],
  ];
  for (const [message, paths, detail] of cases) {
    it(message, () => {
      const located = locateError(message);
      assert.deepEqual(located.paths, paths);
      assert.equal(located.message, message);
      if (detail) assert.equal(located.detail, detail);
    });
  }
});

describe('resolveField', () => {
  it('picks the most specific field on screen, or one that ends with the path', () => {
    const fields = ['upstream.timeout', 'upstream', 'upstream.tls.client_cert_id', 'plugins'];
    const nested = locateError(
      'invalid configuration: property "upstream" validation failed: property "timeout" validation failed: property "send" is required',
    );
    assert.equal(resolveField(nested, fields), 'upstream.timeout');
    assert.equal(
      resolveField(locateError('failed to fetch ssl info by ssl id [3], wrong ssl type'), fields),
      'upstream.tls.client_cert_id',
    );
    assert.equal(resolveField(locateError('unknown plugin [x]'), fields), 'plugins');
    assert.equal(
      resolveField(locateError('invalid configuration: then clause did not match'), fields),
      undefined,
    );
  });
});
