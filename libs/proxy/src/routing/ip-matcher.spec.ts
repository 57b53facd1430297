import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIP } from 'node:net';
import { parseIpAddress } from './ip-address';
import type { IpAddress } from './ip-address';
import { compileIpMatcher, isValidIpOrCidr, parseIpNetwork } from './ip-matcher';

function address(text: string): IpAddress {
  const parsed = parseIpAddress(text);
  assert.ok(parsed, `expected ${text} to parse`);
  return parsed;
}

function matches(rule: string, remote: string): boolean {
  return compileIpMatcher(rule).matches(address(remote));
}

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

describe('parseIpAddress', () => {
  it('parses IPv4 into one word', () => {
    const parsed = address('192.168.1.200');
    assert.equal(parsed.family, 4);
    assert.equal(parsed.word3, 0xc0a801c8);
  });

  it('parses IPv6 forms: compressed, full, trailing and leading ::, dotted tail', () => {
    assert.deepEqual(
      [address('::1').family, address('::1').word0, address('::1').word3],
      [6, 0, 1],
    );
    const full = address('2001:0db8:0000:0000:0000:ff00:0042:8329');
    const compressed = address('2001:db8::ff00:42:8329');
    assert.deepEqual(full, compressed);
    assert.equal(compressed.word0, 0x20010db8);
    assert.equal(compressed.word2, 0x0000ff00);
    assert.equal(compressed.word3, 0x00428329);
    assert.equal(address('1:2:3:4:5:6:7::').word3, 0x00070000);
    assert.equal(address('::').word0, 0);
    assert.equal(address('64:ff9b::192.0.2.33').word3, 0xc0000221);
  });

  it('unwraps IPv4-mapped IPv6 (dual-stack listeners report IPv4 clients that way)', () => {
    assert.deepEqual(address('::ffff:127.0.0.1'), address('127.0.0.1'));
    assert.deepEqual(address('::FFFF:7f00:1'), address('127.0.0.1'));
    assert.equal(address('::ffff:127.0.0.1').family, 4);
    // IPv4-compatible (deprecated) and other embeddings stay IPv6.
    assert.equal(address('::127.0.0.1').family, 6);
  });

  it('accepts and ignores a zone id on connection addresses', () => {
    assert.deepEqual(address('fe80::1%eth0'), address('fe80::1'));
  });

  it('agrees with net.isIP on random address-like strings', () => {
    const random = seededRandom(7);
    const alphabet = '0123456789abcdefABCDEF:.:.:';
    let accepted = 0;
    for (let round = 0; round < 20000; round++) {
      const length = 1 + Math.floor(random() * 20);
      let text = '';
      for (let index = 0; index < length; index++) {
        text += alphabet[Math.floor(random() * alphabet.length)];
      }
      const expected = isIP(text) !== 0;
      assert.equal(parseIpAddress(text) !== undefined, expected, `disagreement on "${text}"`);
      if (expected) accepted++;
    }
    assert.ok(accepted > 100, 'the generator must produce valid addresses too');
  });

  it('agrees with net.isIP on generated IPv6 spellings', () => {
    const random = seededRandom(11);
    for (let round = 0; round < 5000; round++) {
      const groups = Array.from({ length: 8 }, () =>
        random() < 0.4 ? '0' : Math.floor(random() * 0x10000).toString(16),
      );
      let text = groups.join(':');
      if (random() < 0.5) text = text.replace(/(^|:)0(:0)+(:|$)/, '::');
      if (random() < 0.2) text = `${groups.slice(0, 6).join(':')}:1.2.3.4`;
      assert.equal(parseIpAddress(text) !== undefined, isIP(text) === 6, text);
    }
  });
});

describe('isValidIpOrCidr', () => {
  it('accepts IPs and CIDRs of both families, including every prefix length', () => {
    for (const text of [
      '127.0.0.1',
      '127.0.0.1/26',
      '0.0.0.0/0',
      '10.0.0.0/8',
      '255.255.255.255/32',
      '::1',
      '::',
      '::/0',
      '::1/128',
      '2001:db8::/32',
      '::ffff:127.0.0.1',
      '::ffff:127.0.0.0/104',
      '1:2:3:4:5:6:7:8',
      'fe80::/10',
    ]) {
      assert.equal(isValidIpOrCidr(text), true, text);
    }
    for (let prefix = 0; prefix <= 32; prefix++) assert.ok(isValidIpOrCidr(`10.1.2.3/${prefix}`));
    for (let prefix = 0; prefix <= 128; prefix++)
      assert.ok(isValidIpOrCidr(`2001:db8::1/${prefix}`));
  });

  it('rejects what the ipmatcher check rejects (scenario 10: `:/8`)', () => {
    for (const text of [
      ':/8',
      '',
      '/8',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1.2.3.4/33',
      '1.2.3.4/',
      '1.2.3.4/-1',
      '1.2.3.4/8/8',
      '1.2.3.4/1234',
      '1.2.3.4:80',
      ' 1.2.3.4',
      '::1/129',
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7:8::',
      '12345::',
      'g::1',
      '::1%lo',
      '::ffff:1.2.3',
      'localhost',
      '*',
    ]) {
      assert.equal(isValidIpOrCidr(text), false, text);
    }
  });

  it('throws ERR_INVALID_IP from compileIpMatcher', () => {
    assert.throws(() => compileIpMatcher(':/8'), { code: 'ERR_INVALID_IP' });
  });
});

describe('IpNetwork.matches', () => {
  it('handles IPv4 prefix edges: /0, /1, /31, /32 and host bits in the rule', () => {
    assert.ok(matches('0.0.0.0/0', '255.1.2.3'));
    assert.ok(!matches('0.0.0.0/0', '::1'), 'an IPv4 rule never matches IPv6');
    assert.ok(matches('128.0.0.0/1', '200.0.0.1'));
    assert.ok(!matches('128.0.0.0/1', '127.255.255.255'));
    assert.ok(matches('10.0.0.2/31', '10.0.0.3'));
    assert.ok(!matches('10.0.0.2/31', '10.0.0.4'));
    assert.ok(matches('127.0.0.1', '127.0.0.1'));
    assert.ok(!matches('127.0.0.1', '127.0.0.2'));
    assert.ok(matches('127.0.0.1/26', '127.0.0.63'));
    assert.ok(!matches('127.0.0.1/26', '127.0.0.64'));
  });

  it('handles IPv6 prefix edges across word boundaries', () => {
    assert.ok(matches('::/0', '2001:db8::1'));
    assert.ok(!matches('::/0', '1.2.3.4'), 'an IPv6 rule never matches IPv4');
    assert.ok(matches('::1', '::1'));
    assert.ok(matches('::1/128', '0:0:0:0:0:0:0:1'));
    assert.ok(!matches('::1', '::2'));
    assert.ok(matches('2001:db8:8000::/33', '2001:db8:ffff::1'));
    assert.ok(!matches('2001:db8:8000::/33', '2001:db8:7fff::1'));
    assert.ok(matches('2001:db8::/64', '2001:db8::ffff:ffff:ffff:ffff'));
    assert.ok(!matches('2001:db8::/64', '2001:db8:0:1::'));
    assert.ok(matches('::/127', '::1'));
    assert.ok(!matches('::/127', '::2'));
    assert.ok(matches('8000::/1', 'ffff::'));
    assert.ok(!matches('8000::/1', '7fff::'));
  });

  it('matches IPv4-mapped remote addresses against IPv4 rules and mapped rules against IPv4', () => {
    assert.ok(matches('127.0.0.0/8', '::ffff:127.0.0.1'));
    assert.ok(matches('127.0.0.1', '::ffff:127.0.0.1'));
    assert.ok(matches('::ffff:127.0.0.1', '127.0.0.1'));
    assert.ok(matches('::ffff:127.0.0.0/104', '127.9.9.9'));
    assert.ok(!matches('::ffff:127.0.0.0/104', '128.0.0.1'));
    assert.equal(parseIpNetwork('::ffff:127.0.0.0/104')?.family, 4);
    assert.equal(parseIpNetwork('::ffff:127.0.0.0/104')?.prefixLength, 8);
    assert.ok(!matches('127.0.0.1', '::1'), 'loopbacks of different families are different');
  });

  it('agrees with net.BlockList on random networks and addresses', () => {
    const random = seededRandom(3);
    const randomIpv4 = () =>
      Array.from(
        { length: 4 },
        () => Math.floor(random() * 4) * 64 + Math.floor(random() * 2),
      ).join('.');
    const randomIpv6 = () =>
      Array.from({ length: 8 }, () =>
        (random() < 0.5 ? 0 : Math.floor(random() * 0x10000)).toString(16),
      ).join(':');
    for (let round = 0; round < 3000; round++) {
      const ipv6 = random() < 0.5;
      const base = ipv6 ? randomIpv6() : randomIpv4();
      const prefix = Math.floor(random() * ((ipv6 ? 128 : 32) + 1));
      const reference = new BlockList();
      reference.addSubnet(base, prefix, ipv6 ? 'ipv6' : 'ipv4');
      const network = compileIpMatcher(`${base}/${prefix}`);
      for (let probe = 0; probe < 5; probe++) {
        // Half the probes share the network's leading bits so that both outcomes occur.
        const candidate = probe % 2 === 0 ? base : ipv6 ? randomIpv6() : randomIpv4();
        const expected = reference.check(candidate, ipv6 ? 'ipv6' : 'ipv4');
        assert.equal(
          network.matches(address(candidate)),
          expected,
          `${base}/${prefix} vs ${candidate}`,
        );
      }
    }
  });
});
