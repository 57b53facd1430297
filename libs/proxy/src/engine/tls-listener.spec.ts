import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { CertificateSpec, ProxyConfig, StreamRouteSpec } from '../config';
import { certificateSpec, opensslAvailable, testPki } from '../tls/testing/test-pki';
import { openTlsClient, rawExchange, tlsExchange } from '../tls/testing/tls-clients';
import type { HandshakeErrorEvent } from './connection-events';
import type { CreateProxyEngineOptions } from './proxy-engine';
import {
  exchange,
  LOOPBACK,
  node,
  serve,
  startEngine,
  startTaggedEchoServer,
  startTcpServer,
  upstream,
  waitFor,
  withDeadline,
  type TestServer,
} from './testing/loopback';

const skip = opensslAvailable() ? false : 'the openssl CLI is not installed';

/** An engine with a plain listener P and a TLS listener T, three tagged echo backends. */
async function tlsSetup(t: TestContext, options: CreateProxyEngineOptions = {}) {
  const { engine, bound, closed } = await startEngine(
    t,
    [
      { protocol: 'tcp', host: LOOPBACK, port: 0 },
      { protocol: 'tcp', host: LOOPBACK, port: 0, tls: true },
    ],
    options,
  );
  const backends = {
    b1: await serve(t, startTaggedEchoServer('B1')),
    b2: await serve(t, startTaggedEchoServer('B2')),
    b3: await serve(t, startTaggedEchoServer('B3')),
  };
  const handshakeErrors: HandshakeErrorEvent[] = [];
  engine.on('handshake:error', (event) => handshakeErrors.push(event));
  return {
    engine,
    closed,
    plainPort: bound[0].port,
    tlsPort: bound[1].port,
    backends,
    handshakeErrors,
  };
}

function route(
  id: string,
  backend: TestServer,
  extra: Partial<StreamRouteSpec> = {},
): StreamRouteSpec {
  return { id, upstream: upstream(`u-${id}`, [node(backend.port)]), ...extra };
}

function tlsConfig(
  certificates: CertificateSpec[],
  routes: StreamRouteSpec[],
  fallbackSni?: string,
): ProxyConfig {
  return { routes, certificates, fallbackSni };
}

/** The tag line of the backend reached, or the client error when the handshake failed. */
async function reach(port: number, options: tls.ConnectionOptions): Promise<string> {
  const result = await tlsExchange(port, { ...options, payload: 'ping' });
  if (!result.secure) return `! ${result.errorCode}`;
  return result.data.split('\n')[0];
}

describe('TLS listeners', { skip }, () => {
  it('scenario 37: SNI routes on the TLS listener, falling back to wildcard and plain routes', async (t) => {
    const pki = testPki();
    const { engine, plainPort, tlsPort, backends } = await tlsSetup(t);
    const certificates = [certificateSpec('1', ['*.test.com'], [pki.wildcardTest])];
    const route1 = route('1', backends.b1, { sni: 'a.test.com' });
    const route2 = route('2', backends.b2, { sni: '*.test.com' });
    const route3 = route('3', backends.b3);
    engine.apply(tlsConfig(certificates, [route1, route2, route3]));

    assert.equal(await reach(tlsPort, { servername: 'a.test.com' }), 'B1');
    assert.equal(await reach(tlsPort, { servername: 'b.test.com' }), 'B2');
    assert.equal((await exchange(plainPort, 'ping')).data.toString().split('\n')[0], 'B3');

    engine.apply(tlsConfig(certificates, [{ ...route1, remoteAddr: '127.0.0.3' }, route2, route3]));
    assert.equal(await reach(tlsPort, { servername: 'a.test.com' }), 'B2');
    engine.apply(tlsConfig(certificates, [{ ...route1, remoteAddr: '127.0.0.3' }, route3]));
    assert.equal(await reach(tlsPort, { servername: 'b.test.com' }), 'B3');
  });

  it('scenario 38: unknown SNI and missing SNI fail the handshake; fallback_sni routes a client without SNI', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends, handshakeErrors, closed } = await tlsSetup(t);
    const certificates = [certificateSpec('1', ['*.test.com'], [pki.wildcardTest])];
    const routes = [route('1', backends.b1, { sni: 'a.test.com' }), route('3', backends.b3)];
    engine.apply(tlsConfig(certificates, routes));

    assert.equal(
      await reach(tlsPort, { servername: 'xx.com' }),
      '! ERR_SSL_TLSV1_UNRECOGNIZED_NAME',
    );
    // Node sends no SNI when connecting to an IP literal without `servername`.
    assert.equal(await reach(tlsPort, {}), '! ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
    await waitFor(() => handshakeErrors.length === 2, 2000, 'two handshake errors');
    assert.deepEqual(
      handshakeErrors.map((event) => [event.error.code, event.sni, event.remoteAddr]),
      [
        ['ERR_TLS_NO_CERTIFICATE', 'xx.com', LOOPBACK],
        ['ERR_TLS_NO_SNI', undefined, LOOPBACK],
      ],
    );
    assert.match(
      handshakeErrors[0].error.message,
      /failed to match any SSL certificate by SNI: xx.com/,
    );
    assert.equal(backends.b1.accepted.length + backends.b3.accepted.length, 0);
    assert.equal(closed.events.length, 0, 'a refused handshake is not a connection');
    assert.deepEqual(engine.handshakeStats().failed, {
      ERR_TLS_NO_CERTIFICATE: 1,
      ERR_TLS_NO_SNI: 1,
    });

    engine.apply(tlsConfig(certificates, routes, 'a.test.com'));
    assert.equal(await reach(tlsPort, {}), 'B1');
    const summary = await closed.nth(1);
    assert.equal(summary.sni, 'a.test.com');
    assert.equal(summary.tls?.certificateId, '1');
  });

  it('scenario 39: exact over wildcard over *, one label per wildcard, no fallback', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends } = await tlsSetup(t);
    const specific = certificateSpec('specific', ['specific.api7.dev'], [pki.specificApi7]);
    const wildcard = certificateSpec('wild', ['*.api7.dev'], [pki.wildcardApi7]);
    const star = certificateSpec('star', ['*'], [pki.catchAll]);
    const routes = [
      route('exact', backends.b1, { sni: 'specific.api7.dev' }),
      route('wild', backends.b2, { sni: '*.api7.dev' }),
    ];
    engine.apply(tlsConfig([star, wildcard, specific], routes));

    const exact = await tlsExchange(tlsPort, { servername: 'specific.api7.dev', payload: 'x' });
    assert.equal(exact.served, pki.specificApi7.fingerprint256);
    assert.equal(exact.data.split('\n')[0], 'B1');
    const wild = await tlsExchange(tlsPort, { servername: 'x.api7.dev', payload: 'x' });
    assert.equal(wild.served, pki.wildcardApi7.fingerprint256);
    assert.equal(wild.data.split('\n')[0], 'B2');
    const other = await tlsExchange(tlsPort, { servername: 'example.org' });
    assert.equal(other.served, pki.catchAll.fingerprint256);
    assert.equal(
      await reach(tlsPort, { servername: 'a.b.api7.dev' }),
      '! ERR_SSL_TLSV1_UNRECOGNIZED_NAME',
    );

    engine.apply(tlsConfig([star, specific], routes));
    const deep = await tlsExchange(tlsPort, { servername: 'a.b.api7.dev', payload: 'x' });
    assert.equal(deep.served, pki.catchAll.fingerprint256);
    assert.equal(deep.data.split('\n')[0], 'B2', 'the stream route wildcard matches deeper names');
  });

  it('scenario 40: mTLS rejects a missing or foreign client certificate without contacting the upstream', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends, handshakeErrors, closed } = await tlsSetup(t);
    const mutual = certificateSpec('m', ['localhost'], [pki.localhost], {
      clientCa: pki.ca.cert,
      clientDepth: 2,
    });
    engine.apply(tlsConfig([mutual], [route('1', backends.b1)]));

    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const none = await tlsExchange(tlsPort, {
        servername: 'localhost',
        maxVersion,
        payload: 'x',
      });
      assert.equal(none.data, '', `${maxVersion} without a certificate`);
      const foreign = await tlsExchange(tlsPort, {
        servername: 'localhost',
        maxVersion,
        cert: pki.clientOfOtherCa.cert,
        key: pki.clientOfOtherCa.key,
        payload: 'x',
      });
      assert.equal(foreign.data, '', `${maxVersion} with another CA's certificate`);
    }
    await waitFor(() => handshakeErrors.length === 4, 2000, 'four handshake errors');
    assert.deepEqual(
      handshakeErrors.map((event) => event.error.code),
      [
        'ERR_TLS_CLIENT_CERT_MISSING',
        'ERR_TLS_CLIENT_CERT_REJECTED',
        'ERR_TLS_CLIENT_CERT_MISSING',
        'ERR_TLS_CLIENT_CERT_REJECTED',
      ],
    );
    assert.match(handshakeErrors[1].error.message, /verification is not passed/);
    assert.equal(backends.b1.accepted.length, 0, 'the upstream was never contacted');
    assert.equal(closed.events.length, 0);

    const good = await tlsExchange(tlsPort, {
      servername: 'localhost',
      cert: pki.client.cert,
      key: pki.client.key,
      payload: 'ping',
    });
    assert.equal(good.data, 'B1\nping');
    assert.equal(backends.b1.accepted.length, 1);
  });

  it('mTLS enforces client.depth like OpenSSL verify depth', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends, handshakeErrors } = await tlsSetup(t);
    const chain = pki.clientViaIntermediate.cert + pki.intermediate.cert;
    const client = { servername: 'localhost', cert: chain, key: pki.clientViaIntermediate.key };
    const apply = (clientDepth: number): void =>
      engine.apply(
        tlsConfig(
          [
            certificateSpec('m', ['localhost'], [pki.localhost], {
              clientCa: pki.ca.cert,
              clientDepth,
            }),
          ],
          [route('1', backends.b1)],
        ),
      );

    apply(0); // no intermediate allowed
    assert.equal((await tlsExchange(tlsPort, { ...client, payload: 'x' })).data, '');
    await waitFor(() => handshakeErrors.length === 1, 2000, 'depth rejection');
    assert.equal(handshakeErrors[0].error.code, 'ERR_TLS_CLIENT_CERT_REJECTED');
    assert.match(handshakeErrors[0].error.message, /depth 0/);
    assert.equal(backends.b1.accepted.length, 0);

    apply(1); // one intermediate
    assert.equal((await tlsExchange(tlsPort, { ...client, payload: 'x' })).data, 'B1\nx');
    // A leaf issued by the root itself passes depth 0.
    apply(0);
    const direct = await tlsExchange(tlsPort, {
      servername: 'localhost',
      cert: pki.client.cert,
      key: pki.client.key,
      payload: 'y',
    });
    assert.equal(direct.data, 'B1\ny');
  });

  it('scenario 41: a scheme tls upstream receives the client SNI, or apisix_backend', async (t) => {
    const pki = testPki();
    const upstreamTls = tls.createServer({ ...pki.localhost, allowHalfOpen: true }, (socket) => {
      socket.on('error', () => undefined);
      socket.end(`hello ${socket.servername || ''}\n`);
    });
    await new Promise<void>((resolve) => upstreamTls.listen(0, LOOPBACK, resolve));
    t.after(() => new Promise<void>((resolve) => upstreamTls.close(() => resolve())));
    const port = (upstreamTls.address() as net.AddressInfo).port;
    const { engine, plainPort, tlsPort } = await tlsSetup(t);
    engine.apply(
      tlsConfig(
        [certificateSpec('1', ['test.com'], [pki.localhost])],
        [{ id: '1', upstream: upstream('ut', [node(port)], { scheme: 'tls' }) }],
      ),
    );
    const plain = await exchange(plainPort);
    assert.equal(plain.data.toString(), 'hello apisix_backend\n');
    const secure = await tlsExchange(tlsPort, { servername: 'Test.Com' });
    assert.equal(secure.data, 'hello test.com\n');
  });

  it('offers every cert/key pair of an object (RSA and ECDSA for the same name)', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends } = await tlsSetup(t);
    engine.apply(
      tlsConfig(
        [certificateSpec('dual', ['dual.test'], [pki.dualRsa, pki.dualEcdsa])],
        [route('1', backends.b1)],
      ),
    );
    const clients: [string, tls.ConnectionOptions, string][] = [
      ['ECDSA-only TLS 1.3', { sigalgs: 'ecdsa_secp256r1_sha256' }, 'ec'],
      ['RSA-only TLS 1.3', { sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' }, 'rsa'],
      [
        'ECDSA-only TLS 1.2',
        {
          maxVersion: 'TLSv1.2',
          ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
          sigalgs: 'ecdsa_secp256r1_sha256',
        },
        'ec',
      ],
      [
        'RSA-only TLS 1.2',
        {
          maxVersion: 'TLSv1.2',
          ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
          sigalgs: 'rsa_pkcs1_sha256',
        },
        'rsa',
      ],
    ];
    for (const [label, options, keyType] of clients) {
      const result = await tlsExchange(tlsPort, {
        servername: 'dual.test',
        payload: 'x',
        ...options,
      });
      assert.equal(result.keyType, keyType, label);
      assert.equal(result.data, 'B1\nx', label);
    }
  });

  it('restricts protocol versions per object', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends, handshakeErrors } = await tlsSetup(t);
    engine.apply(
      tlsConfig(
        [
          certificateSpec('old', ['old.test'], [pki.localhost], { protocols: ['TLSv1.2'] }),
          certificateSpec('new', ['new.test'], [pki.localhost], { protocols: ['TLSv1.3'] }),
          certificateSpec('any', ['any.test'], [pki.localhost]),
        ],
        [route('1', backends.b1)],
      ),
    );
    const tls13Only = { minVersion: 'TLSv1.3' as const };
    const tls12Only = { maxVersion: 'TLSv1.2' as const };
    assert.equal(
      await reach(tlsPort, { servername: 'old.test', ...tls13Only }),
      '! ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    );
    assert.equal(
      (await tlsExchange(tlsPort, { servername: 'old.test', ...tls12Only })).protocol,
      'TLSv1.2',
    );
    assert.equal(
      await reach(tlsPort, { servername: 'new.test', ...tls12Only }),
      '! ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    );
    assert.equal((await tlsExchange(tlsPort, { servername: 'any.test' })).protocol, 'TLSv1.3');
    // TLS 1.1 is never on by default.
    const tls11 = {
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    } as const;
    assert.equal(
      await reach(tlsPort, { servername: 'any.test', ...tls11 }),
      '! ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    );
    await waitFor(() => handshakeErrors.length === 3, 2000, 'three handshake errors');
    assert.ok(handshakeErrors.every((event) => event.error.code === 'ERR_TLS_HANDSHAKE'));
    assert.equal(handshakeErrors[0].certificateId, 'old');
  });

  it('TLS 1.1 when listed: refused by OpenSSL 3 security level 1, served with tlsCiphers @SECLEVEL=0', async (t) => {
    const pki = testPki();
    const tls11 = {
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    } as const;
    const certificates = [
      certificateSpec('legacy', ['legacy.test'], [pki.dualRsa], {
        protocols: ['TLSv1.1', 'TLSv1.2'],
      }),
    ];
    const strict = await tlsSetup(t);
    strict.engine.apply(tlsConfig(certificates, [route('1', strict.backends.b1)]));
    assert.equal(
      await reach(strict.tlsPort, { servername: 'legacy.test', ...tls11 }),
      '! ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR',
    );
    const lenient = await tlsSetup(t, { tlsCiphers: 'DEFAULT:@SECLEVEL=0' });
    lenient.engine.apply(tlsConfig(certificates, [route('1', lenient.backends.b1)]));
    const result = await tlsExchange(lenient.tlsPort, {
      servername: 'legacy.test',
      payload: 'x',
      ...tls11,
    });
    assert.equal(result.protocol, 'TLSv1.1');
    assert.equal(result.data, 'B1\nx');
  });

  it('replacing a certificate serves new handshakes with the new one while open connections keep flowing', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends } = await tlsSetup(t);
    const routes = [route('1', backends.b1)];
    engine.apply(tlsConfig([certificateSpec('1', ['a.test.com'], [pki.exact])], routes));
    const open = await openTlsClient(tlsPort, { servername: 'a.test.com' });
    t.after(() => open.socket.destroy());
    assert.equal(open.socket.getPeerX509Certificate()?.fingerprint256, pki.exact.fingerprint256);
    open.socket.write('one');
    await waitFor(() => open.received() === 'B1\none', 2000, 'first echo');

    engine.apply(tlsConfig([certificateSpec('1', ['a.test.com'], [pki.wildcardTest])], routes));
    const fresh = await tlsExchange(tlsPort, { servername: 'a.test.com' });
    assert.equal(fresh.served, pki.wildcardTest.fingerprint256);
    open.socket.write('two');
    await waitFor(() => open.received() === 'B1\nonetwo', 2000, 'echo after replace');

    // Deleted (or disabled: the control plane leaves status 0 objects out): new handshakes fail,
    // the open connection still flows.
    engine.apply(tlsConfig([], routes));
    assert.equal(
      await reach(tlsPort, { servername: 'a.test.com' }),
      '! ERR_SSL_TLSV1_UNRECOGNIZED_NAME',
    );
    open.socket.write('three');
    await waitFor(() => open.received() === 'B1\nonetwothree', 2000, 'echo after delete');
    open.socket.end();
    await withDeadline(open.closed, 2000, 'client close');
  });

  it('resumes sessions from tickets, also after an apply() with identical certificate content', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends, closed } = await tlsSetup(t);
    const config = (): ProxyConfig =>
      tlsConfig([certificateSpec('1', ['a.test.com'], [pki.exact])], [route('1', backends.b1)]);
    engine.apply(config());
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const first = await tlsExchange(tlsPort, {
        servername: 'a.test.com',
        maxVersion,
        payload: 'x',
      });
      assert.equal(first.resumed, false);
      assert.ok(first.session, 'a ticket was issued');
      engine.apply(config()); // fresh objects, same content: the context is reused
      const second = await tlsExchange(tlsPort, {
        servername: 'a.test.com',
        maxVersion,
        session: first.session,
        payload: 'y',
      });
      assert.equal(second.resumed, true, `${maxVersion} resumed`);
      assert.equal(second.data, 'B1\ny');
    }
    assert.equal(engine.handshakeStats().resumed, 2);
    await waitFor(() => closed.events.length === 4, 2000, 'four closed events');
    assert.deepEqual(
      closed.events.map((event) => event.tls?.resumed),
      [false, true, false, true],
    );
  });

  it('never resumes a ticket of one object on another (no skipping its client-certificate check)', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends, handshakeErrors } = await tlsSetup(t);
    engine.apply(
      tlsConfig(
        [
          certificateSpec('open', ['a.test.com'], [pki.exact]),
          certificateSpec('mutual', ['m.test.com'], [pki.exact], { clientCa: pki.ca.cert }),
        ],
        [route('1', backends.b1)],
      ),
    );
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const first = await tlsExchange(tlsPort, {
        servername: 'a.test.com',
        maxVersion,
        payload: 'x',
      });
      assert.ok(first.session);
      const crossed = await tlsExchange(tlsPort, {
        servername: 'm.test.com',
        maxVersion,
        session: first.session,
        payload: 'y',
      });
      assert.equal(crossed.data, '', `${maxVersion}: refused without a client certificate`);
      assert.notEqual(crossed.resumed, true);
    }
    await waitFor(() => handshakeErrors.length === 2, 2000, 'two refusals');
    assert.ok(handshakeErrors.every((event) => event.error.code === 'ERR_TLS_CLIENT_CERT_MISSING'));
    assert.equal(backends.b1.accepted.length, 2, 'only the two open-object connections');
  });

  it('cuts a client that stalls before or during the handshake', async (t) => {
    const { engine, tlsPort, handshakeErrors } = await tlsSetup(t, { handshakeTimeout: 0.2 });
    engine.apply(tlsConfig([certificateSpec('1', ['a.test.com'], [testPki().exact])], []));
    const silent = await rawExchange(tlsPort, Buffer.alloc(0));
    assert.ok(
      silent.closedAfterMs >= 150 && silent.closedAfterMs < 1500,
      `${silent.closedAfterMs} ms`,
    );
    // Half a ClientHello record header, then nothing.
    const partial = await rawExchange(tlsPort, Buffer.from([22, 3, 1]));
    assert.ok(partial.closedAfterMs >= 150, `${partial.closedAfterMs} ms`);
    await waitFor(() => handshakeErrors.length === 2, 2000, 'two timeouts');
    assert.deepEqual(
      handshakeErrors.map((event) => event.error.code),
      ['ERR_HANDSHAKE_TIMEOUT', 'ERR_HANDSHAKE_TIMEOUT'],
    );
    assert.match(handshakeErrors[1].error.message, /TLS ClientHello not completed within 200 ms/);
  });

  it('completes the handshake before closing a client that matches no route', async (t) => {
    const { engine, tlsPort, closed } = await tlsSetup(t);
    engine.apply(tlsConfig([certificateSpec('1', ['a.test.com'], [testPki().exact])], []));
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const result = await tlsExchange(tlsPort, { servername: 'a.test.com', maxVersion });
      assert.equal(result.secure, true, `${maxVersion}: handshake completed (${result.errorCode})`);
      assert.equal(result.data, '');
    }
    const summary = await closed.nth(2);
    assert.equal(summary.reason, 'ERR_NO_ROUTE');
  });

  it('forgets a client that leaves mid-handshake at once, not at the deadline', async (t) => {
    const { engine, tlsPort, handshakeErrors } = await tlsSetup(t, { handshakeTimeout: 30 });
    engine.apply(tlsConfig([certificateSpec('1', ['a.test.com'], [testPki().exact])], []));
    // FIN after half a record header (the listener sockets are half-open: this is 'end' only).
    const socket = net.connect(tlsPort, LOOPBACK);
    socket.on('error', () => undefined);
    socket.end(Buffer.from([22, 3, 1]));
    // A TLS client that vanishes as soon as its side of the handshake is done.
    await new Promise<void>((resolve) => {
      const client = tls.connect({
        host: LOOPBACK,
        port: tlsPort,
        servername: 'a.test.com',
        rejectUnauthorized: false,
      });
      client.on('error', () => resolve());
      client.on('secureConnect', () => {
        client.destroy();
        resolve();
      });
    });
    await waitFor(() => engine.handshakeStats().pending === 0, 2000, 'no handshake left pending');
    assert.ok(handshakeErrors.length >= 1);
    assert.ok(handshakeErrors.every((event) => event.error.code === 'ERR_HANDSHAKE_ABORTED'));
    socket.destroy();
  });

  it('closes a client sending garbage at once without disturbing the others', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends, handshakeErrors } = await tlsSetup(t);
    engine.apply(
      tlsConfig([certificateSpec('1', ['a.test.com'], [pki.exact])], [route('1', backends.b1)]),
    );
    const open = await openTlsClient(tlsPort, { servername: 'a.test.com' });
    t.after(() => open.socket.destroy());
    const garbage = await Promise.all([
      rawExchange(tlsPort, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      rawExchange(tlsPort, Buffer.from([22, 3, 1, 0, 5, 2, 0, 0, 1, 0])),
      rawExchange(tlsPort, Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01])),
    ]);
    for (const result of garbage) {
      assert.equal(result.data.length, 0);
      assert.ok(result.closedAfterMs < 1000);
    }
    await waitFor(() => handshakeErrors.length === 3, 2000, 'three rejections');
    assert.ok(handshakeErrors.every((event) => event.error.code === 'ERR_TLS_NOT_CLIENT_HELLO'));
    open.socket.write('still here');
    await waitFor(() => open.received() === 'B1\nstill here', 2000, 'other client unaffected');
    assert.equal(await reach(tlsPort, { servername: 'a.test.com' }), 'B1');
  });

  it('ends the session when the client breaks the TLS stream after the handshake', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends, closed } = await tlsSetup(t);
    engine.apply(
      tlsConfig([certificateSpec('1', ['a.test.com'], [pki.exact])], [route('1', backends.b1)]),
    );
    const raw = net.connect(tlsPort, LOOPBACK);
    raw.on('error', () => undefined);
    const client = tls.connect({
      socket: raw,
      servername: 'a.test.com',
      rejectUnauthorized: false,
    });
    client.on('error', () => undefined);
    await withDeadline(
      new Promise((resolve) => client.once('secureConnect', resolve)),
      2000,
      'secure',
    );
    client.write('hi');
    await waitFor(() => backends.b1.accepted.length === 1, 2000, 'relaying');
    // An application-data record with a body that cannot decrypt: a fatal TLS error.
    raw.write(Buffer.concat([Buffer.from([23, 3, 3, 0, 32]), Buffer.alloc(32, 7)]));
    const summary = await closed.nth(1);
    assert.equal(summary.routeId, '1');
    await waitFor(() => backends.b1.accepted[0].destroyed, 2000, 'upstream closed');
    client.destroy();
  });

  it('reports an SSL object that cannot be loaded and fails only its own handshakes', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends, handshakeErrors } = await tlsSetup(t);
    const certificateErrors: string[] = [];
    engine.on('certificate:error', (event) =>
      certificateErrors.push(
        `${event.certificateId}:${(event.error as Error & { code?: string }).code}`,
      ),
    );
    engine.apply(
      tlsConfig(
        [
          certificateSpec(
            'broken',
            ['a.test.com'],
            [{ cert: pki.exact.cert, key: pki.wildcardTest.key, fingerprint256: '' }],
          ),
          certificateSpec('wild', ['*.test.com'], [pki.wildcardTest]),
        ],
        [route('1', backends.b1)],
      ),
    );
    assert.deepEqual(certificateErrors, ['broken:ERR_TLS_CERTIFICATE_INVALID']);
    // No fallback to the wildcard: the object that owns the name is broken.
    assert.equal(
      await reach(tlsPort, { servername: 'a.test.com' }),
      '! ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR',
    );
    assert.equal(await reach(tlsPort, { servername: 'b.test.com' }), 'B1');
    await waitFor(() => handshakeErrors.length === 1, 2000, 'handshake error');
    assert.equal(handshakeErrors[0].error.code, 'ERR_TLS_CERTIFICATE_INVALID');
    assert.equal(handshakeErrors[0].certificateId, 'broken');
  });

  it('force close cuts handshakes in flight', async (t) => {
    const { engine, tlsPort } = await tlsSetup(t);
    const pending = rawExchange(tlsPort, Buffer.from([22, 3, 1]), 3000);
    await waitFor(() => engine.handshakeStats().pending === 1, 2000, 'handshake in flight');
    await withDeadline(engine.close({ force: true }), 1000, 'engine close');
    const result = await pending;
    assert.ok(result.closedAfterMs < 1000);
    assert.deepEqual(engine.handshakeStats(), {
      completed: 0,
      resumed: 0,
      failed: { ERR_HANDSHAKE_ABORTED: 1 },
      pending: 0,
    });
  });

  it('openssl s_client verifies the served chain and fails for an unknown name', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends } = await tlsSetup(t);
    engine.apply(
      tlsConfig([certificateSpec('1', ['a.test.com'], [pki.exact])], [route('1', backends.b1)]),
    );
    const directory = mkdtempSync(join(tmpdir(), 'strait-s-client-'));
    t.after(() => rmSync(directory, { recursive: true, force: true }));
    const caFile = join(directory, 'ca.pem');
    writeFileSync(caFile, pki.ca.cert);
    const sClient = (servername: string) =>
      new Promise<{ code: number; output: string }>((resolve) => {
        const child = execFile(
          'openssl',
          [
            's_client',
            '-connect',
            `${LOOPBACK}:${tlsPort}`,
            '-servername',
            servername,
            '-CAfile',
            caFile,
            '-verify_return_error',
          ],
          { timeout: 5000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
        );
        child.stdin?.end(); // EOF on stdin: s_client closes after the handshake
      });
    const good = await sClient('a.test.com');
    assert.equal(good.code, 0, good.output);
    assert.match(good.output, /Verify return code: 0 \(ok\)/);
    assert.match(good.output, /subject=CN ?= ?a\.test\.com/);
    const bad = await sClient('unknown.example');
    assert.notEqual(bad.code, 0, bad.output);
    assert.match(bad.output, /unrecognized name/);
  });

  it('reports certificate, protocol and SNI of TLS connections in connection events', async (t) => {
    const pki = testPki();
    const { engine, tlsPort, backends, closed } = await tlsSetup(t);
    engine.apply(
      tlsConfig(
        [certificateSpec('c1', ['*.test.com'], [pki.wildcardTest])],
        [route('r1', backends.b1)],
      ),
    );
    await reach(tlsPort, { servername: 'Upper.Test.Com.' });
    const summary = await closed.nth(1);
    assert.equal(summary.sni, 'upper.test.com');
    assert.deepEqual(summary.tls, { certificateId: 'c1', protocol: 'TLSv1.3', resumed: false });
    assert.equal(summary.status, 200);
    assert.equal(summary.bytesFromClient, 4);
    assert.equal(engine.handshakeStats().completed, 1);
  });
});

describe('TLS listener without routes or certificates', { skip }, () => {
  it('refuses handshakes until certificates are applied', async (t) => {
    const upstreamProbe = await serve(
      t,
      startTcpServer(() => undefined),
    );
    const { tlsPort } = await tlsSetup(t);
    assert.equal(
      await reach(tlsPort, { servername: 'a.test.com' }),
      '! ERR_SSL_TLSV1_UNRECOGNIZED_NAME',
    );
    assert.equal(upstreamProbe.accepted.length, 0);
  });
});
