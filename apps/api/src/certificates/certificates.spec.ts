import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  createSelfSignedCertificate,
  type TestCertificate,
} from '../apisix-schema/test-certificates';
import { startTestApp, type TestApp } from '../testing/test-app';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TLS client through the service's `tls: true` listener; resolves with what the backend said. */
function tlsExchange(port: number, servername: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, servername, ca, rejectUnauthorized: true },
      () => socket.write('hi'),
    );
    let data = '';
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), 5000);
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

describe('certificates managed live through the admin API', () => {
  let app: TestApp;
  let backend: Server;
  let backendPort: number;
  let tlsPort: number;
  let first: TestCertificate;
  let second: TestCertificate;

  before(async () => {
    backend = createServer((socket) => socket.once('data', () => socket.end('hello tls\n')));
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    backendPort = (backend.address() as { port: number }).port;
    tlsPort = await freePort();
    first = createSelfSignedCertificate('a.test.com');
    second = createSelfSignedCertificate('a.test.com', 'ec');
    app = await startTestApp({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        `    - { addr: "127.0.0.1:${tlsPort}", tls: true }`,
      ].join('\n'),
    });
  });

  after(async () => {
    await app.close();
    await new Promise((resolve) => backend.close(resolve));
  });

  it('serves a certificate uploaded with PUT on the next handshake, and a replacement right after', async () => {
    const ssl = await app.request('PUT', '/apisix/admin/ssls/1', { ...first, sni: 'a.test.com' });
    assert.equal(ssl.status, 201, ssl.text);
    const route = await app.request('PUT', '/apisix/admin/stream_routes/1', {
      sni: 'a.test.com',
      upstream: { nodes: { [`127.0.0.1:${backendPort}`]: 1 }, type: 'roundrobin' },
    });
    assert.equal(route.status, 201, route.text);
    assert.equal(await tlsExchange(tlsPort, 'a.test.com', first.cert), 'hello tls\n');

    const replaced = await app.request('PUT', '/apisix/admin/ssls/1', {
      ...second,
      sni: 'a.test.com',
    });
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal(await tlsExchange(tlsPort, 'a.test.com', second.cert), 'hello tls\n');
    await assert.rejects(
      tlsExchange(tlsPort, 'a.test.com', first.cert),
      /self[- ]signed|certificate/i,
    );
  });

  it('lists certificates with names, issuer, fingerprint and expiry, and route SNIs without one', async () => {
    const uncovered = await app.request('PUT', '/apisix/admin/stream_routes/2', {
      sni: 'b.test.com',
      upstream: { nodes: { [`127.0.0.1:${backendPort}`]: 1 }, type: 'roundrobin' },
    });
    assert.equal(uncovered.status, 201, uncovered.text);
    const inventory = await app.request('GET', '/strait/v1/certificates');
    assert.equal(inventory.status, 200, inventory.text);
    const [entry] = inventory.json.list;
    assert.equal(entry.id, '1');
    assert.deepEqual(entry.snis, ['a.test.com']);
    assert.equal(entry.enabled, true);
    assert.deepEqual(entry.certificates[0].names, ['a.test.com']);
    assert.match(entry.certificates[0].issuer, /CN=a\.test\.com/);
    assert.match(entry.certificates[0].fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(entry.certificates[0].daysLeft >= 0 && entry.certificates[0].daysLeft <= 1);
    assert.equal(JSON.stringify(inventory.json).includes('PRIVATE KEY'), false);
    assert.deepEqual(inventory.json.uncoveredSnis, [
      { routeId: '2', sni: 'b.test.com', reason: 'no_match' },
    ]);
  });

  it('fails the handshake for a name no certificate covers', async () => {
    await assert.rejects(tlsExchange(tlsPort, 'b.test.com', first.cert));
  });
});
