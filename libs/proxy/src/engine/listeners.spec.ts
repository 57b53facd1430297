import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { ListenerSpec } from '../config';
import { createProxyEngine } from './proxy-engine';
import { exchange, LOOPBACK, startEngine, startTcpServer, withDeadline } from './testing/loopback';

/** A port that was free a moment ago, on both the v4 and v6 wildcards. */
async function freePort(): Promise<number> {
  const server = await startTcpServer(() => undefined, '::');
  await server.close();
  return server.port;
}

describe('listeners', () => {
  it('binds TCP and UDP on IPv4 and IPv6 with port 0 and reports the bound ports', async (t) => {
    const specs: ListenerSpec[] = [
      { protocol: 'tcp', host: '127.0.0.1', port: 0 },
      { protocol: 'tcp', host: '::1', port: 0 },
      { protocol: 'udp', host: '127.0.0.1', port: 0 },
      { protocol: 'udp', host: '::1', port: 0 },
    ];
    const { engine, bound } = await startEngine(t, specs);
    assert.equal(bound.length, 4);
    for (const [index, listener] of bound.entries()) {
      assert.equal(listener.protocol, specs[index].protocol);
      assert.equal(listener.host, specs[index].host);
      assert.ok(listener.port > 0);
    }
    assert.equal(bound[0].id, `tcp://127.0.0.1:${bound[0].port}`);
    assert.equal(bound[1].id, `tcp://[::1]:${bound[1].port}`);
    assert.equal(bound[3].id, `udp://[::1]:${bound[3].port}`);
    assert.deepEqual(engine.listeners(), bound);

    // The sockets are really there: a TCP client connects (and, without routes, is closed).
    const result = await withDeadline(
      exchange(bound[1].port, 'x', { host: '::1' }),
      2000,
      'v6 exchange',
    );
    assert.equal(result.data.length, 0);
  });

  it('rejects with ERR_BIND naming the address and closes what it had opened', async (t) => {
    const occupied = await startTcpServer(() => undefined);
    t.after(() => occupied.close());
    const port = await freePort();
    const engine = createProxyEngine();
    t.after(() => engine.close({ force: true }));

    await assert.rejects(
      engine.listen([
        { protocol: 'tcp', host: LOOPBACK, port },
        { protocol: 'tcp', host: LOOPBACK, port: occupied.port },
      ]),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_BIND');
        assert.ok(error.message.includes(`${LOOPBACK}:${occupied.port}`), error.message);
        return true;
      },
    );
    assert.deepEqual(engine.listeners(), []);
    // The listener that did bind was closed again: the port can be bound once more.
    const again = await startTcpServer(() => undefined, LOOPBACK, port);
    await again.close();
  });

  it('rejects a UDP port in use with ERR_BIND', async (t) => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind({ address: LOOPBACK, port: 0 }, resolve));
    t.after(() => holder.close());
    const engine = createProxyEngine();
    t.after(() => engine.close({ force: true }));
    await assert.rejects(
      engine.listen([{ protocol: 'udp', host: LOOPBACK, port: holder.address().port }]),
      {
        code: 'ERR_BIND',
      },
    );
  });

  it('binds 0.0.0.0:P and [::]:P side by side (IPv6 listeners are ipv6Only)', async (t) => {
    const port = await freePort();
    const { bound } = await startEngine(t, [
      { protocol: 'tcp', host: '0.0.0.0', port },
      { protocol: 'tcp', host: '::', port },
      { protocol: 'udp', host: '0.0.0.0', port },
      { protocol: 'udp', host: '::', port },
    ]);
    assert.deepEqual(
      bound.map((listener) => listener.id),
      [
        `tcp://0.0.0.0:${port}`,
        `tcp://[::]:${port}`,
        `udp://0.0.0.0:${port}`,
        `udp://[::]:${port}`,
      ],
    );
  });

  it('refuses tls and proxy_protocol on UDP instead of serving them as plain UDP', async (t) => {
    const engine = createProxyEngine();
    t.after(() => engine.close({ force: true }));
    for (const extra of [{ tls: true }, { proxyProtocol: true }]) {
      await assert.rejects(
        engine.listen([{ protocol: 'udp', host: LOOPBACK, port: 0, ...extra }]),
        { code: 'ERR_UNSUPPORTED_LISTENER' },
      );
    }
    // TCP listeners with both are served (tls-listener.spec.ts, proxy-protocol-listener.spec.ts).
    const [bound] = await engine.listen([
      { protocol: 'tcp', host: LOOPBACK, port: 0, tls: true, proxyProtocol: true },
    ]);
    assert.equal(bound.tls, true);
    assert.equal(bound.proxyProtocol, true);
  });

  it('adds and removes listeners at run time', async (t) => {
    const { engine, bound } = await startEngine(t);
    const [added] = await engine.listen([{ protocol: 'tcp', host: LOOPBACK, port: 0 }]);
    assert.equal(engine.listeners().length, 2);
    assert.equal(await engine.closeListener(added.id), true);
    assert.deepEqual(engine.listeners(), bound);
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = net.connect(added.port, LOOPBACK);
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
      socket.on('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
    });
    assert.equal(refused, 'ECONNREFUSED');
  });
});
