import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from './config-error';
import {
  assertNoDuplicateListeners,
  canonicalHost,
  expandListenerList,
  parseListenAddress,
  type ParseResult,
} from './listener-entries';
import type { ListenerEntry } from './strait-config';

const noDefaults = { proxyProtocol: false, proxyProtocolToUpstream: false };

function parsed(value: unknown): { host?: string; firstPort: number; lastPort: number } {
  const result: ParseResult = parseListenAddress(value);
  assert.ok(result.ok, `expected ${JSON.stringify(value)} to parse`);
  return { ...result.address };
}

function reason(value: unknown): string {
  const result = parseListenAddress(value);
  assert.ok(!result.ok, `expected ${JSON.stringify(value)} to be rejected`);
  return result.reason;
}

function expand(protocol: 'tcp' | 'udp', list: unknown, ignored: string[] = []): ListenerEntry[] {
  return expandListenerList(protocol, list, `apisix.stream_proxy.${protocol}`, noDefaults, ignored);
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_CONFIG');
    return error;
  }
  assert.fail('expected a ConfigError');
}

void describe('parseListenAddress', () => {
  void it('reads a port number as all interfaces', () => {
    assert.deepEqual(parsed(9100), { firstPort: 9100, lastPort: 9100 });
  });

  void it('reads the string forms', () => {
    assert.deepEqual(parsed('9100'), { firstPort: 9100, lastPort: 9100 });
    assert.deepEqual(parsed('127.0.0.1:9101'), {
      host: '127.0.0.1',
      firstPort: 9101,
      lastPort: 9101,
    });
    assert.deepEqual(parsed('[::1]:9102'), { host: '::1', firstPort: 9102, lastPort: 9102 });
    assert.deepEqual(parsed('[2001:DB8::1]:9102'), {
      host: '2001:db8::1',
      firstPort: 9102,
      lastPort: 9102,
    });
    assert.deepEqual(parsed('*:9103'), { firstPort: 9103, lastPort: 9103 });
  });

  void it('reads port ranges, with and without an address', () => {
    assert.deepEqual(parsed('2000-2100'), { firstPort: 2000, lastPort: 2100 });
    assert.deepEqual(parsed('127.0.0.1:4000-4100'), {
      host: '127.0.0.1',
      firstPort: 4000,
      lastPort: 4100,
    });
    assert.deepEqual(parsed('[::1]:5000-5001'), { host: '::1', firstPort: 5000, lastPort: 5001 });
    assert.deepEqual(parsed('7000-7000'), { firstPort: 7000, lastPort: 7000 });
  });

  void it('uses APISIX messages for bad ports', () => {
    assert.equal(reason(70000), 'port out of range (1-65535): 70000');
    assert.equal(reason(0), 'port out of range (1-65535): 0');
    assert.equal(reason('70000'), 'port out of range (1-65535): 70000');
    assert.equal(reason('127.0.0.1:70000'), 'port out of range (1-65535): 70000');
    assert.equal(reason('0-10'), 'port out of range (1-65535): 0');
    assert.equal(reason('10-70000'), 'port out of range (1-65535): 70000');
    assert.equal(reason('2100-2000'), 'invalid port range (start > end): 2100-2000');
    assert.equal(
      reason('127.0.0.1:2100-2000'),
      'invalid port range (start > end): 127.0.0.1:2100-2000',
    );
    assert.equal(reason('127.0.0.1:'), 'missing port: 127.0.0.1:');
    assert.equal(reason('[::1]'), 'missing port: [::1]');
    assert.equal(reason('[::1]:'), 'missing port: [::1]:');
    assert.equal(reason(''), 'missing port: ');
    assert.equal(reason('127.0.0.1:80.5'), 'invalid port format: 127.0.0.1:80.5');
    assert.equal(reason('1e3'), 'invalid port format: 1e3');
    assert.equal(reason('unix:/tmp/strait.sock'), 'invalid port format: unix:/tmp/strait.sock');
    assert.equal(reason('http'), 'invalid port format: http');
    assert.equal(reason(80.5), 'port must be an integer, got: 80.5');
    assert.equal(reason(true), 'invalid port value type: boolean');
    assert.equal(reason(null), 'invalid port value type: nil');
    assert.equal(reason([9100]), 'invalid port value type: list');
  });

  void it('rejects addresses that are not IP literals', () => {
    assert.match(reason('localhost:9100'), /expected an IP literal.*localhost:9100/);
    assert.match(reason('300.1.1.1:9100'), /expected an IP literal/);
    assert.match(reason('::1:9100'), /write IPv6 as "\[addr\]:port"/);
    assert.match(reason('[nope]:9100'), /expected an IPv6 literal/);
    assert.match(reason('[::1:9100'), /unclosed/);
    assert.match(reason(':9100'), /missing address/);
  });

  void it('caps how many ports one range may open', () => {
    assert.deepEqual(parsed('1-1000'), { firstPort: 1, lastPort: 1000 });
    assert.equal(reason('1-1001'), 'port range too large (at most 1000 ports): 1-1001');
  });
});

void describe('expandListenerList', () => {
  void it('expands numbers, strings and ranges into one listener per port', () => {
    const listeners = expand('tcp', [9100, '127.0.0.10:9101', '[::1]:9102', '127.0.0.1:4000-4002']);
    assert.deepEqual(
      listeners.map((l) => [l.protocol, l.host, l.port, l.configKey]),
      [
        ['tcp', '0.0.0.0', 9100, 'apisix.stream_proxy.tcp[0]'],
        ['tcp', '127.0.0.10', 9101, 'apisix.stream_proxy.tcp[1]'],
        ['tcp', '::1', 9102, 'apisix.stream_proxy.tcp[2]'],
        ['tcp', '127.0.0.1', 4000, 'apisix.stream_proxy.tcp[3]'],
        ['tcp', '127.0.0.1', 4001, 'apisix.stream_proxy.tcp[3]'],
        ['tcp', '127.0.0.1', 4002, 'apisix.stream_proxy.tcp[3]'],
      ],
    );
    assert.ok(listeners.every((l) => !l.tls && !l.proxyProtocol && !l.proxyProtocolToUpstream));
  });

  void it('reads tcp objects with tls and proxy_protocol, addr in any form', () => {
    const listeners = expand('tcp', [
      { addr: 9100, tls: true },
      { addr: '127.0.0.1:9443', proxy_protocol: true },
      {
        addr: '[::1]:7000-7001',
        tls: true,
        proxy_protocol: true,
        proxy_protocol_to_upstream: true,
      },
    ]);
    assert.deepEqual(
      listeners.map((l) => [l.host, l.port, l.tls, l.proxyProtocol, l.proxyProtocolToUpstream]),
      [
        ['0.0.0.0', 9100, true, false, false],
        ['127.0.0.1', 9443, false, true, false],
        ['::1', 7000, true, true, true],
        ['::1', 7001, true, true, true],
      ],
    );
  });

  void it('takes proxy_protocol defaults from apisix.proxy_protocol for tcp only', () => {
    const defaults = { proxyProtocol: true, proxyProtocolToUpstream: true };
    const tcp = expandListenerList(
      'tcp',
      [9100, { addr: 9101, proxy_protocol: false }],
      'k',
      defaults,
      [],
    );
    assert.deepEqual(
      tcp.map((l) => [l.port, l.proxyProtocol, l.proxyProtocolToUpstream]),
      [
        [9100, true, true],
        [9101, false, true],
      ],
    );
    const udp = expandListenerList('udp', [9200], 'k', defaults, []);
    assert.equal(udp[0].proxyProtocol, false);
    assert.equal(udp[0].proxyProtocolToUpstream, false);
  });

  void it('names the entry and keeps the APISIX prefix in errors', () => {
    const error = configError(() => expand('tcp', [9100, 70000]));
    assert.equal(error.key, 'apisix.stream_proxy.tcp[1]');
    assert.equal(
      error.reason,
      'invalid stream_proxy.tcp entry: port out of range (1-65535): 70000',
    );
    assert.equal(
      error.message,
      'apisix.stream_proxy.tcp[1]: invalid stream_proxy.tcp entry: port out of range (1-65535): 70000',
    );

    const inObject = configError(() => expand('tcp', [{ addr: '2100-2000', tls: true }]));
    assert.equal(inObject.key, 'apisix.stream_proxy.tcp[0].addr');
    assert.equal(
      inObject.reason,
      'invalid stream_proxy.tcp entry: invalid port range (start > end): 2100-2000',
    );

    const udp = configError(() => expand('udp', ['127.0.0.1:']));
    assert.equal(udp.key, 'apisix.stream_proxy.udp[0]');
    assert.equal(udp.reason, 'invalid stream_proxy.udp entry: missing port: 127.0.0.1:');

    const format = configError(() => expand('udp', ['127.0.0.1:53x']));
    assert.equal(
      format.reason,
      'invalid stream_proxy.udp entry: invalid port format: 127.0.0.1:53x',
    );
  });

  void it('rejects objects in udp, objects without addr and non-boolean flags', () => {
    const udpObject = configError(() => expand('udp', [{ addr: 9200 }]));
    assert.equal(udpObject.key, 'apisix.stream_proxy.udp[0]');
    assert.match(udpObject.reason, /udp entries are a port or an "ip:port" string/);

    const noAddr = configError(() => expand('tcp', [{ tls: true }]));
    assert.equal(noAddr.key, 'apisix.stream_proxy.tcp[0].addr');
    assert.match(noAddr.reason, /is required/);

    const badTls = configError(() => expand('tcp', [{ addr: 9100, tls: 'yes' }]));
    assert.equal(badTls.key, 'apisix.stream_proxy.tcp[0].tls');
    assert.equal(badTls.reason, 'must be true or false, got "yes"');
  });

  void it('rejects a non-list and an empty list, accepts an absent one', () => {
    assert.equal(configError(() => expand('tcp', 9100)).key, 'apisix.stream_proxy.tcp');
    assert.match(configError(() => expand('tcp', [])).reason, /at least one address/);
    assert.deepEqual(expand('tcp', undefined), []);
    assert.deepEqual(expand('tcp', null), []);
  });

  void it('reports unknown keys of tcp objects as ignored', () => {
    const ignored: string[] = [];
    expand('tcp', [{ addr: 9100, tsl: true }], ignored);
    assert.deepEqual(ignored, ['apisix.stream_proxy.tcp[0].tsl']);
  });
});

void describe('assertNoDuplicateListeners', () => {
  void it('names both entries of a duplicate, ranges included', () => {
    const listeners = [...expand('tcp', [9100, '9099-9101'])];
    const error = configError(() => assertNoDuplicateListeners(listeners));
    assert.equal(error.key, 'apisix.stream_proxy.tcp[1]');
    assert.equal(
      error.reason,
      'duplicate listener tcp 0.0.0.0:9100, already listed by apisix.stream_proxy.tcp[0]',
    );
  });

  void it('sees differently written IPv6 addresses as one', () => {
    const listeners = expand('tcp', ['[::1]:9100', '[0:0::1]:9100']);
    assert.equal(
      configError(() => assertNoDuplicateListeners(listeners)).reason,
      'duplicate listener tcp [0:0::1]:9100, already listed by apisix.stream_proxy.tcp[0]',
    );
  });

  void it('allows the same port on tcp and udp, and a wildcard beside a specific address', () => {
    assertNoDuplicateListeners([
      ...expand('tcp', [9100, '127.0.0.1:9100']),
      ...expand('udp', [9100]),
    ]);
  });
});

void describe('canonicalHost', () => {
  void it('compresses IPv6 and leaves IPv4 alone', () => {
    assert.equal(canonicalHost('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonicalHost('2001:DB8:0::1'), '2001:db8::1');
    assert.equal(canonicalHost('127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalHost('fe80::1%eth0'), 'fe80::1%eth0');
  });
});
