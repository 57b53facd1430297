import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scanProxyHeader } from './proxy-protocol';
import { ipv4Block, PROXY_V2_SIGNATURE as SIGNATURE, proxyV2Header } from './testing/proxy-headers';

describe('scanProxyHeader', () => {
  it('reads v1 TCP4, TCP6 and UNKNOWN lines', () => {
    const payload = Buffer.from('PROXY TCP4 10.1.2.3 192.168.0.1 56324 443\r\nhello');
    assert.deepEqual(scanProxyHeader(payload), {
      kind: 'complete',
      length: payload.length - 5,
      addresses: {
        sourceAddr: '10.1.2.3',
        sourcePort: 56324,
        destinationAddr: '192.168.0.1',
        destinationPort: 443,
      },
    });
    const v6 = scanProxyHeader(Buffer.from('PROXY TCP6 2001:DB8:0:0::1 ::1 1 65535\r\n'));
    assert.equal(v6.kind, 'complete');
    assert.equal(v6.kind === 'complete' && v6.addresses?.sourceAddr, '2001:db8::1');
    const unknown = scanProxyHeader(Buffer.from('PROXY UNKNOWN ff:ff 1 2\r\nx'));
    assert.deepEqual(unknown, { kind: 'complete', length: 25 });
  });

  it('waits for a v1 line within 107 bytes and rejects malformed ones', () => {
    assert.equal(scanProxyHeader(Buffer.from('PRO')).kind, 'incomplete');
    assert.equal(scanProxyHeader(Buffer.from('PROXY TCP4 10.0.0.1')).kind, 'incomplete');
    assert.equal(scanProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(110)}`)).kind, 'invalid');
    for (const bad of [
      'PROXY TCP4 10.0.0.1 10.0.0.2 1 2\n', // LF without CR
      'PROXY TCP4 10.0.0.1 10.0.0.2 1\r\n', // missing a port
      'PROXY TCP4 ::1 10.0.0.2 1 2\r\n', // v6 address in a TCP4 line
      'PROXY TCP4 10.0.0.1 10.0.0.2 1 65536\r\n', // port out of range
      'PROXY TCP4 10.0.0.1 10.0.0.2 -1 2\r\n',
      'PROXY UDP4 10.0.0.1 10.0.0.2 1 2\r\n',
      'PROXY  TCP4 10.0.0.1 10.0.0.2 1 2\r\n',
      'PROXX TCP4',
      'GET / HTTP/1.1\r\n',
    ]) {
      assert.equal(scanProxyHeader(Buffer.from(bad)).kind, 'invalid', JSON.stringify(bad));
    }
  });

  it('reads v2 IPv4 and IPv6 headers, skipping TLVs', () => {
    const tlv = Buffer.from([0x04, 0x00, 0x02, 0xab, 0xcd]); // PP2_TYPE_NOOP
    const header = proxyV2Header(
      0x11,
      Buffer.concat([ipv4Block('10.9.8.7', '127.0.0.1', 4000, 9100), tlv]),
    );
    const scan = scanProxyHeader(Buffer.concat([header, Buffer.from('payload')]));
    assert.deepEqual(scan, {
      kind: 'complete',
      length: header.length,
      addresses: {
        sourceAddr: '10.9.8.7',
        sourcePort: 4000,
        destinationAddr: '127.0.0.1',
        destinationPort: 9100,
      },
    });
    const block = Buffer.alloc(36);
    Buffer.from('20010db8000000000000000000000001', 'hex').copy(block, 0);
    Buffer.from('00000000000000000000ffff7f000001', 'hex').copy(block, 16);
    block.writeUInt16BE(1234, 32);
    block.writeUInt16BE(443, 34);
    const v6 = scanProxyHeader(proxyV2Header(0x21, block));
    assert.equal(v6.kind, 'complete');
    assert.deepEqual(v6.kind === 'complete' && v6.addresses, {
      sourceAddr: '2001:db8::1',
      sourcePort: 1234,
      destinationAddr: '127.0.0.1', // IPv4-mapped comes out as IPv4
      destinationPort: 443,
    });
  });

  it('ignores the addresses of LOCAL, UNSPEC and UNIX headers', () => {
    assert.deepEqual(
      scanProxyHeader(proxyV2Header(0x11, ipv4Block('1.1.1.1', '2.2.2.2', 1, 2), 0)),
      {
        kind: 'complete',
        length: 28,
      },
    );
    assert.deepEqual(scanProxyHeader(proxyV2Header(0x00, Buffer.alloc(0))), {
      kind: 'complete',
      length: 16,
    });
    assert.deepEqual(scanProxyHeader(proxyV2Header(0x31, Buffer.alloc(216))), {
      kind: 'complete',
      length: 232,
    });
  });

  it('waits for the whole v2 header and rejects malformed or oversized ones', () => {
    const header = proxyV2Header(0x11, ipv4Block('1.1.1.1', '2.2.2.2', 1, 2));
    for (let cut = 1; cut < header.length; cut++) {
      assert.equal(scanProxyHeader(header.subarray(0, cut)).kind, 'incomplete', `cut ${cut}`);
    }
    const badVersion = Buffer.from(header);
    badVersion[12] = 0x11;
    assert.equal(scanProxyHeader(badVersion).kind, 'invalid');
    const badCommand = Buffer.from(header);
    badCommand[12] = 0x22;
    assert.equal(scanProxyHeader(badCommand).kind, 'invalid');
    assert.equal(scanProxyHeader(proxyV2Header(0x41, Buffer.alloc(12))).kind, 'invalid');
    assert.equal(scanProxyHeader(proxyV2Header(0x11, Buffer.alloc(8))).kind, 'invalid');
    assert.equal(scanProxyHeader(proxyV2Header(0x21, Buffer.alloc(12))).kind, 'invalid');
    const huge = Buffer.concat([SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
    assert.deepEqual(scanProxyHeader(huge), { kind: 'invalid', reason: 'v2 header too long' });
    const badSignature = Buffer.from(SIGNATURE);
    badSignature[5] = 0;
    assert.equal(scanProxyHeader(badSignature).kind, 'invalid');
  });
});
