import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ListenerSpec, StreamRouteSpec } from '../config';
import { certificateSpec, opensslAvailable, testPki } from '../tls/testing/test-pki';
import { rawExchange } from '../tls/testing/tls-clients';
import type { HandshakeErrorEvent } from './connection-events';
import { ipv4Block, proxyV2Header } from './testing/proxy-headers';
import {
  collect,
  exchange,
  LOOPBACK,
  node,
  serve,
  startEngine,
  startTaggedEchoServer,
  upstream,
  waitFor,
  withDeadline,
  type TestServer,
} from './testing/loopback';

async function proxySetup(
  t: TestContext,
  listener: Partial<ListenerSpec> = {},
  handshakeTimeout?: number,
  realIpFrom?: string[],
) {
  const { engine, bound, closed } = await startEngine(
    t,
    [{ protocol: 'tcp', host: LOOPBACK, port: 0, proxyProtocol: true, ...listener }],
    { handshakeTimeout, realIpFrom },
  );
  const b1 = await serve(t, startTaggedEchoServer('B1'));
  const b2 = await serve(t, startTaggedEchoServer('B2'));
  const handshakeErrors: HandshakeErrorEvent[] = [];
  engine.on('handshake:error', (event) => handshakeErrors.push(event));
  const routes: StreamRouteSpec[] = [
    { id: 'ten', remoteAddr: '10.0.0.0/8', upstream: upstream('u1', [node(b1.port)]) },
    { id: 'doc6', remoteAddr: '2001:db8::/32', upstream: upstream('u1', [node(b1.port)]) },
    { id: 'rest', upstream: upstream('u2', [node(b2.port)]) },
  ];
  engine.apply({ routes, certificates: [] });
  return { engine, port: bound[0].port, closed, b1, b2, handshakeErrors, routes };
}

/** Writes the bytes one at a time, so every parser state sees a partial header. */
async function dribble(port: number, bytes: Buffer): Promise<string> {
  const socket = net.connect({ host: LOOPBACK, port, allowHalfOpen: true });
  const result = collect(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  for (const byte of bytes) {
    socket.write(Buffer.from([byte]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  socket.end();
  return (await withDeadline(result, 3000, 'dribble')).data.toString();
}

describe('PROXY protocol listeners', () => {
  it('v1: the header address is remote_addr for matching and events; server_* stay local', async (t) => {
    const { port, closed, b1 } = await proxySetup(t);
    const result = await exchange(port, 'PROXY TCP4 10.1.2.3 192.0.2.1 5555 443\r\nping');
    assert.equal(result.data.toString(), 'B1\nping');
    const summary = await closed.nth(1);
    assert.equal(summary.routeId, 'ten');
    assert.equal(summary.remoteAddr, '10.1.2.3');
    assert.equal(summary.remotePort, 5555);
    assert.equal(summary.serverAddr, LOOPBACK);
    assert.equal(summary.serverPort, port);
    assert.equal(summary.bytesFromClient, 4, 'the header is not relayed');
    assert.equal(summary.proxyProtocol?.peerAddr, LOOPBACK);
    assert.equal(summary.proxyProtocol?.destinationAddr, '192.0.2.1');
    assert.equal(summary.proxyProtocol?.destinationPort, 443);
    assert.equal(b1.accepted.length, 1);
  });

  it("realIpFrom: only a trusted peer's header sets remote_addr; others keep their own", async (t) => {
    const header = 'PROXY TCP4 10.1.2.3 192.0.2.1 5555 443\r\n';
    const trusted = await proxySetup(t, {}, undefined, ['127.0.0.0/8', '::1']);
    assert.equal((await exchange(trusted.port, `${header}a`)).data.toString(), 'B1\na');
    assert.equal((await trusted.closed.nth(1)).remoteAddr, '10.1.2.3');

    // Loopback is not in the list: the header is still required and read, but matching, plugins
    // and events see the TCP peer; the header's claim is only reported.
    const untrusted = await proxySetup(t, {}, undefined, ['192.0.2.0/24']);
    assert.equal((await exchange(untrusted.port, `${header}b`)).data.toString(), 'B2\nb');
    const summary = await untrusted.closed.nth(1);
    assert.equal(summary.routeId, 'rest');
    assert.equal(summary.remoteAddr, LOOPBACK);
    assert.equal(summary.proxyProtocol?.sourceAddr, '10.1.2.3');
    assert.equal(summary.proxyProtocol?.sourcePort, 5555);
    assert.equal(summary.proxyProtocol?.peerAddr, LOOPBACK);
    assert.equal(summary.bytesFromClient, 1, 'the header is not relayed either way');
  });

  it('v2: IPv6 source, header and payload arriving one byte at a time', async (t) => {
    const { port, closed } = await proxySetup(t);
    const block = Buffer.alloc(36);
    Buffer.from('20010db8000000000000000000000042', 'hex').copy(block, 0);
    Buffer.from('00000000000000000000000000000001', 'hex').copy(block, 16);
    block.writeUInt16BE(40000, 32);
    block.writeUInt16BE(9100, 34);
    const tlv = Buffer.from([0x05, 0x00, 0x03, 0x61, 0x62, 0x63]); // PP2_TYPE_UNIQUE_ID
    const header = proxyV2Header(0x21, Buffer.concat([block, tlv]));
    assert.equal(await dribble(port, Buffer.concat([header, Buffer.from('hi')])), 'B1\nhi');
    const summary = await closed.nth(1);
    assert.equal(summary.remoteAddr, '2001:db8::42');
    assert.equal(summary.remotePort, 40000);
    assert.equal(summary.routeId, 'doc6');
  });

  it('v2 LOCAL (a balancer health check) keeps the connection addresses', async (t) => {
    const { port, closed } = await proxySetup(t);
    const header = proxyV2Header(0x11, ipv4Block('10.0.0.9', '10.0.0.1', 1, 2), 0);
    const result = await exchange(port, Buffer.concat([header, Buffer.from('ok')]));
    assert.equal(result.data.toString(), 'B2\nok');
    const summary = await closed.nth(1);
    assert.equal(summary.remoteAddr, LOOPBACK);
    assert.equal(summary.proxyProtocol, undefined);
  });

  it('closes a connection with a malformed or missing header without contacting an upstream', async (t) => {
    const { engine, port, b1, b2, handshakeErrors, closed } = await proxySetup(t);
    const results = await Promise.all([
      rawExchange(port, 'PROXY TCP4 10.0.0.1 nope 1 2\r\nping'),
      rawExchange(port, 'ping without a header'),
      rawExchange(port, Buffer.concat([proxyV2Header(0x41, Buffer.alloc(12)), Buffer.from('x')])),
    ]);
    for (const result of results) assert.equal(result.data.length, 0);
    await waitFor(() => handshakeErrors.length === 3, 2000, 'three header errors');
    for (const event of handshakeErrors) {
      assert.equal(event.error.code, 'ERR_PROXY_PROTOCOL');
      assert.equal(event.remoteAddr, LOOPBACK);
    }
    assert.equal(b1.accepted.length + b2.accepted.length, 0);
    assert.equal(closed.events.length, 0);
    assert.equal(engine.handshakeStats().failed.ERR_PROXY_PROTOCOL, 3);
  });

  it('cuts a client whose header does not arrive within handshakeTimeout', async (t) => {
    const { port, handshakeErrors } = await proxySetup(t, {}, 0.2);
    const result = await rawExchange(port, 'PROXY TCP4 10.0.0.1');
    assert.ok(
      result.closedAfterMs >= 150 && result.closedAfterMs < 1500,
      `${result.closedAfterMs} ms`,
    );
    await waitFor(() => handshakeErrors.length === 1, 2000, 'timeout event');
    assert.equal(handshakeErrors[0].error.code, 'ERR_HANDSHAKE_TIMEOUT');
    assert.match(handshakeErrors[0].error.message, /PROXY protocol header/);
  });

  it(
    'reads the header in front of TLS: SNI and the header address both route',
    { skip: opensslAvailable() ? false : 'no openssl' },
    async (t) => {
      const pki = testPki();
      const { engine, port, closed, routes } = await proxySetup(t, { tls: true });
      const b3: TestServer = await serve(t, startTaggedEchoServer('B3'));
      engine.apply({
        routes: [
          {
            id: 'sni',
            sni: 'a.test.com',
            remoteAddr: '10.0.0.0/8',
            upstream: upstream('u3', [node(b3.port)]),
          },
          ...routes,
        ],
        certificates: [certificateSpec('c', ['a.test.com'], [pki.exact])],
      });
      const raw = net.connect({ host: LOOPBACK, port });
      raw.on('error', () => undefined);
      await new Promise((resolve) => raw.once('connect', resolve));
      raw.write(proxyV2Header(0x11, ipv4Block('10.7.7.7', '10.0.0.1', 7000, 443)));
      const client = tls.connect({
        socket: raw,
        servername: 'a.test.com',
        rejectUnauthorized: false,
      });
      let received = '';
      client.setEncoding('utf8');
      client.on('data', (chunk: string) => (received += chunk));
      client.on('error', () => undefined);
      client.on('end', () => client.end());
      await withDeadline(
        new Promise((resolve) => client.once('secureConnect', resolve)),
        3000,
        'secure',
      );
      client.end('tls');
      await withDeadline(new Promise((resolve) => client.once('close', resolve)), 3000, 'close');
      assert.equal(received, 'B3\ntls');
      const summary = await closed.nth(1);
      assert.equal(summary.remoteAddr, '10.7.7.7');
      assert.equal(summary.sni, 'a.test.com');
      assert.equal(summary.tls?.certificateId, 'c');
      assert.equal(summary.proxyProtocol?.destinationAddr, '10.0.0.1');
    },
  );
});
