import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIpv4Literal, isIpv6Host, isIpv6Literal, isValidCidrOrIp } from './ip-address';

describe('isIpv4Literal (glibc inet_pton AF_INET)', () => {
  it('accepts dotted quads', () => {
    for (const ip of ['127.0.0.1', '0.0.0.0', '255.255.255.255', '10.0.0.10']) {
      assert.equal(isIpv4Literal(ip), true, ip);
    }
  });

  it('rejects everything else', () => {
    for (const ip of [
      '256.0.0.1',
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      '1..2.3',
      '1.2.3.4.',
      '',
      'a.b.c.d',
      ' 1.2.3.4',
    ]) {
      assert.equal(isIpv4Literal(ip), false, ip);
    }
  });
});

describe('isIpv6Literal (glibc inet_pton AF_INET6)', () => {
  it('accepts full, compressed and IPv4-tailed forms', () => {
    for (const ip of [
      '::',
      '::1',
      '1::',
      'fe80::1',
      '2001:db8::68',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7::',
      '::ffff:192.0.2.1',
      'ABCD::ef',
    ]) {
      assert.equal(isIpv6Literal(ip), true, ip);
    }
  });

  it('rejects malformed ones', () => {
    for (const ip of [
      ':',
      ':::',
      ':1',
      '1:',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7::8',
      '12345::',
      '::ffff:01.2.3.4',
      '1.2.3.4',
      '[::1]',
      'fe80::1%eth0',
      'g::1',
    ]) {
      assert.equal(isIpv6Literal(ip), false, ip);
    }
  });

  it('lets ipmatcher strip brackets', () => {
    assert.equal(isIpv6Host('[::1]'), true);
    assert.equal(isIpv6Host('[::1'), false);
  });
});

describe('isValidCidrOrIp (core.ip.validate_cidr_or_ip)', () => {
  it('accepts addresses and CIDRs within the mask range', () => {
    for (const ip of ['127.0.0.1', '127.0.0.1/26', '0.0.0.0/0', '::1', '::1/128', 'fe80::/10']) {
      assert.equal(isValidCidrOrIp(ip), true, ip);
    }
  });

  it('rejects what the schema regex lets through', () => {
    for (const ip of [':/8', '127.0.0.1/33', '::1/129', 'x', '1.2.3.4/x', '::1/-1']) {
      assert.equal(isValidCidrOrIp(ip), false, ip);
    }
  });
});
