import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { LOOPBACK, withDeadline } from '../engine/testing/loopback';
import { scanClientHello } from './client-hello';

/** The first flight a real Node TLS client sends, captured by a plain TCP server. */
async function captureClientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  let resolveHello: (hello: Buffer) => void = () => undefined;
  const captured = new Promise<Buffer>((resolve) => (resolveHello = resolve));
  const server = net.createServer((socket) => {
    socket.once('data', (chunk: Buffer) => {
      resolveHello(chunk);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const client = tls.connect({
    host: LOOPBACK,
    port: (server.address() as net.AddressInfo).port,
    rejectUnauthorized: false,
    ...options,
  });
  client.on('error', () => undefined);
  try {
    return await withDeadline(captured, 3000, 'ClientHello');
  } finally {
    client.destroy();
    server.close();
  }
}

/** Re-frames a single-record hello into records of at most `size` bytes of payload. */
function fragment(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5);
  const records: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += size) {
    const part = body.subarray(offset, offset + size);
    const header = Buffer.from([22, 3, 1, 0, 0]);
    header.writeUInt16BE(part.length, 3);
    records.push(header, part);
  }
  return Buffer.concat(records);
}

describe('scanClientHello', () => {
  it('reads the SNI of a real ClientHello, and none when the client sends none', async () => {
    const hello = await captureClientHello({ servername: 'Mixed.Case.Example.' });
    assert.deepEqual(scanClientHello(hello), {
      kind: 'complete',
      serverName: 'Mixed.Case.Example.',
    });
    // Node sends no SNI for an IP literal host.
    const bare = await captureClientHello({});
    assert.deepEqual(scanClientHello(bare), { kind: 'complete', serverName: undefined });
  });

  it('asks for more until the hello is complete, also across records', async () => {
    const hello = await captureClientHello({ servername: 'a.test.com' });
    // `needed`: more than was given, never more than the whole hello (a caller waits for it).
    const assertIncomplete = (bytes: Buffer, cut: number, whole: number): void => {
      const scan = scanClientHello(bytes.subarray(0, cut));
      assert.equal(scan.kind, 'incomplete', `cut ${cut}`);
      const needed = (scan as { needed: number }).needed;
      assert.ok(needed > cut && needed <= whole, `cut ${cut}: needed ${needed} of ${whole}`);
    };
    for (const cut of [1, 3, 5, 9, hello.length - 1]) assertIncomplete(hello, cut, hello.length);
    const fragmented = fragment(hello, 7);
    assert.deepEqual(scanClientHello(fragmented), { kind: 'complete', serverName: 'a.test.com' });
    for (const cut of [4, 12, fragmented.length - 2]) {
      assertIncomplete(fragmented, cut, fragmented.length);
    }
  });

  it('rejects garbage from the first byte', () => {
    for (const garbage of ['GET / HTTP/1.1\r\n', '\x80\x2e\x01\x03\x01', 'SSH-2.0-x']) {
      assert.equal(scanClientHello(Buffer.from(garbage, 'latin1')).kind, 'invalid', garbage);
    }
    // A handshake record whose message is not a ClientHello (a ServerHello, type 2).
    assert.equal(scanClientHello(Buffer.from([22, 3, 3, 0, 4, 2, 0, 0, 0])).kind, 'invalid');
    // Record length 0 and a record type change in the middle.
    assert.equal(scanClientHello(Buffer.from([22, 3, 1, 0, 0])).kind, 'invalid');
    assert.equal(
      scanClientHello(Buffer.from([22, 3, 1, 0, 2, 1, 0, 23, 3, 3, 0, 1, 0])).kind,
      'invalid',
    );
  });

  it('rejects a ClientHello that claims more than the bound', () => {
    assert.deepEqual(scanClientHello(Buffer.from([22, 3, 1, 0, 4, 1, 0x10, 0, 0])), {
      kind: 'invalid',
      reason: 'ClientHello too large',
    });
  });
});
