import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  config,
  exchange,
  LOOPBACK,
  node,
  serve,
  startEngine,
  startTcpServer,
  startUdpClient,
  startUdpServer,
  upstream,
  waitFor,
  withDeadline,
} from '../engine/testing/loopback';

/** The APISIX test backend: answers `hello world` and closes. */
function helloServer(host = LOOPBACK) {
  return startTcpServer((socket) => socket.end('hello world'), host);
}

describe('ip-restriction (scenario 44)', () => {
  it('closes a blacklisted client without a byte and serves the rest', async (t) => {
    const backend = await serve(t, helloServer());
    const { engine, bound, closed } = await startEngine(t);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u1', [node(backend.port)]),
        plugins: { 'ip-restriction': { blacklist: ['127.0.0.0/24'] } },
      }),
    );
    const blocked = await withDeadline(exchange(bound[0].port, 'x'), 2000, 'blacklisted');
    assert.equal(blocked.data.length, 0);
    const event = await closed.nth(1);
    assert.equal(event.status, 403);
    assert.equal(event.reason, 'ERR_PREREAD_REJECTED');
    assert.equal(backend.accepted.length, 0);

    const other = await withDeadline(
      exchange(bound[0].port, 'x', { localAddress: '127.0.1.5' }),
      2000,
      'outside the blacklist',
    );
    assert.equal(other.data.toString(), 'hello world');
  });

  it('serves whitelisted clients only, telling 127.0.0.1 from 127.0.0.2', async (t) => {
    const backend = await serve(t, helloServer());
    const { engine, bound, closed } = await startEngine(t);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u1', [node(backend.port)]),
        plugins: { 'ip-restriction': { whitelist: ['127.0.0.0/24'] } },
      }),
    );
    const allowed = await withDeadline(exchange(bound[0].port, 'x'), 2000, 'whitelisted');
    assert.equal(allowed.data.toString(), 'hello world');

    engine.apply(
      config({
        id: '1',
        upstream: upstream('u1', [node(backend.port)]),
        plugins: {
          'ip-restriction': { whitelist: ['127.0.0.1', '10.0.0.0/8'], response_code: 404 },
        },
      }),
    );
    const from1 = await exchange(bound[0].port, 'x', { localAddress: '127.0.0.1' });
    const from2 = await exchange(bound[0].port, 'x', { localAddress: '127.0.0.2' });
    assert.equal(from1.data.toString(), 'hello world');
    assert.equal(from2.data.length, 0);
    await closed.nth(3);
    const refused = closed.events.find((event) => event.remoteAddr === '127.0.0.2');
    assert.equal(refused?.status, 404);
  });

  it('matches IPv6 clients (::1) against v6 rules only', async (t) => {
    const backend = await serve(t, helloServer('::1'));
    const { engine, bound } = await startEngine(t, [{ protocol: 'tcp', host: '::1', port: 0 }]);
    const route = (rules: Record<string, unknown>) =>
      config({
        id: 'v6',
        upstream: upstream('u6', [node(backend.port, '::1')]),
        plugins: { 'ip-restriction': rules },
      });
    engine.apply(route({ blacklist: ['::1/128'] }));
    const blocked = await exchange(bound[0].port, 'x', { host: '::1' });
    assert.equal(blocked.data.length, 0);
    // An IPv4 rule never matches an IPv6 client (lua-resty-ipmatcher).
    engine.apply(route({ blacklist: ['0.0.0.0/0'] }));
    const served = await exchange(bound[0].port, 'x', { host: '::1' });
    assert.equal(served.data.toString(), 'hello world');
    engine.apply(route({ whitelist: ['fe80::/10', '::1'] }));
    const whitelisted = await exchange(bound[0].port, 'x', { host: '::1' });
    assert.equal(whitelisted.data.toString(), 'hello world');
  });

  it('applies to UDP sessions on their first datagram', async (t) => {
    const backend = await serve(t, startUdpServer('U'));
    const { engine, bound, closed } = await startEngine(t, [
      { protocol: 'udp', host: LOOPBACK, port: 0 },
    ]);
    engine.apply(
      config({
        id: 'udp',
        upstream: upstream('uu', [node(backend.port)]),
        plugins: { 'ip-restriction': { whitelist: ['127.0.0.2'] } },
      }),
    );
    const denied = await serve(t, startUdpClient());
    denied.send(bound[0].port, 'ping');
    const event = await closed.nth(1);
    assert.equal(event.status, 403);
    assert.equal(backend.peers.length, 0);

    const allowed = await serve(t, startUdpClient('127.0.0.2'));
    allowed.send(bound[0].port, 'ping', LOOPBACK);
    await waitFor(() => allowed.received.length === 1, 2000, 'reply to the whitelisted client');
    assert.equal(allowed.received[0], 'U:0:ping');
  });

  it('lets everyone through when the conf has `_meta.disable: true`', async (t) => {
    const backend = await serve(t, helloServer());
    const { engine, bound } = await startEngine(t);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u1', [node(backend.port)]),
        plugins: { 'ip-restriction': { blacklist: ['127.0.0.1'], _meta: { disable: true } } },
      }),
    );
    const served = await withDeadline(exchange(bound[0].port, 'x'), 2000, 'disabled plugin');
    assert.equal(served.data.toString(), 'hello world');
  });
});
