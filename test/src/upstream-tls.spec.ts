// Upstream TLS through the running service (spec 3.7): scheme "tls" sends the client's SNI or
// `apisix_backend`, upstream mTLS with tls.client_cert/client_key or an SSL object of type client
// (client_cert_id), and Strait's tls.verify checking the upstream certificate.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { admin } from './support/admin-client';
import { TestPki, type Credential } from './support/openssl';
import { freeTcpPort } from './support/ports';
import { exchange } from './support/sockets';
import { StraitProcess } from './support/strait-process';

/** A TLS backend that requires a client certificate and answers `hello <sni> <client CN>`. */
async function startMutualTlsBackend(
  server: Credential,
  clientCa: Credential,
): Promise<{ port: number; close(): Promise<void> }> {
  const backend: Server = createServer(
    {
      cert: server.cert,
      key: server.key,
      ca: clientCa.cert,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket: TLSSocket) => {
      socket.on('error', () => undefined);
      const servername = (socket as TLSSocket & { servername?: string | false }).servername || '-';
      const peer = socket.getPeerCertificate();
      socket.once('data', () => socket.end(`hello ${servername} ${peer.subject?.CN ?? '-'}\n`));
    },
  );
  backend.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  return {
    port: (backend.address() as { port: number }).port,
    close: () => new Promise((resolve) => backend.close(() => resolve())),
  };
}

describe('upstream TLS through the service', () => {
  const pki = new TestPki();
  const ca = pki.createCa('Strait Upstream CA');
  const otherCa = pki.createCa('Unknown CA');
  const serverCert = pki.issue(ca, 'apisix_backend', { dnsNames: ['apisix_backend', 'db.test'] });
  const clientCert = pki.issue(ca, 'strait-client', { client: true });
  let backend: { port: number; close(): Promise<void> };
  let strait: StraitProcess;
  let proxyPort: number;

  before(async () => {
    backend = await startMutualTlsBackend(serverCert, ca);
    proxyPort = await freeTcpPort();
    const caFile = join(pki.dir, 'trusted-ca.pem');
    writeFileSync(caFile, ca.cert);
    strait = await StraitProcess.start({
      apisixYaml: ['stream_proxy:', '  tcp:', `    - "127.0.0.1:${proxyPort}"`].join('\n'),
      // The "system roots" for tls.verify: the test CA, added the way an operator would.
      env: { NODE_EXTRA_CA_CERTS: caFile },
    });
  });

  after(async () => {
    await strait?.stop();
    await backend?.close();
  });

  async function route(upstreamTls: Record<string, unknown>): Promise<void> {
    const answer = await admin(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/1', {
      upstream: {
        scheme: 'tls',
        type: 'roundrobin',
        nodes: { [`127.0.0.1:${backend.port}`]: 1 },
        ...(Object.keys(upstreamTls).length > 0 ? { tls: upstreamTls } : {}),
      },
    });
    assert.ok(answer.status === 200 || answer.status === 201, answer.text);
  }

  it('presents tls.client_cert/client_key and sends apisix_backend as SNI for a plain client', async () => {
    await route({ client_cert: clientCert.cert, client_key: clientCert.key });
    const { data } = await exchange(proxyPort, 'x');
    assert.equal(data, 'hello apisix_backend strait-client\n');
  });

  it('presents the certificate of an SSL object of type client (tls.client_cert_id)', async () => {
    const ssl = await admin(strait.adminUrl, 'PUT', '/apisix/admin/ssls/client-1', {
      type: 'client',
      cert: clientCert.cert,
      key: clientCert.key,
    });
    assert.equal(ssl.status, 201, ssl.text);
    await route({ client_cert_id: 'client-1' });
    const { data } = await exchange(proxyPort, 'x');
    assert.equal(data, 'hello apisix_backend strait-client\n');
  });

  it('is refused by the backend without a client certificate: the client is closed, not hung', async () => {
    await route({});
    const { data } = await exchange(proxyPort, 'x', { timeoutMs: 5000 });
    assert.equal(data, '');
  });

  it('tls.verify accepts an upstream certificate from a trusted CA for the SNI it sent', async () => {
    await route({ client_cert_id: 'client-1', verify: true });
    const { data } = await exchange(proxyPort, 'x');
    assert.equal(data, 'hello apisix_backend strait-client\n');
  });

  it('tls.verify refuses an upstream whose certificate no trusted CA signed', async () => {
    const untrusted = pki.issue(otherCa, 'apisix_backend', { dnsNames: ['apisix_backend'] });
    const impostor = await startMutualTlsBackend(untrusted, ca);
    try {
      const answer = await admin(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/1', {
        upstream: {
          scheme: 'tls',
          type: 'roundrobin',
          nodes: { [`127.0.0.1:${impostor.port}`]: 1 },
          tls: { client_cert_id: 'client-1', verify: true },
        },
      });
      assert.equal(answer.status, 200, answer.text);
      const { data } = await exchange(proxyPort, 'x', { timeoutMs: 5000 });
      assert.equal(data, '');
    } finally {
      await impostor.close();
    }
  });
});
