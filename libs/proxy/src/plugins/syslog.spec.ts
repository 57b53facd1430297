import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  config,
  exchange,
  LOOPBACK,
  node,
  refusedPort,
  serve,
  startEngine,
  startTaggedEchoServer,
  startUdpClient,
  startUdpServer,
  upstream,
  waitFor,
  withDeadline,
} from '../engine/testing/loopback';
import { createPluginPipeline } from './pipeline';
import {
  parseSyslogLine,
  startTcpReceiver,
  startUdpReceiver,
  type SyslogReceiver,
} from './testing/receivers';

const silentLogger = { warn: () => undefined, error: () => undefined };

function syslogRoute(backendPort: number, syslog: Record<string, unknown>, extra = {}) {
  return {
    id: 'logged',
    upstream: upstream('u1', [node(backendPort)]),
    plugins: { syslog: { host: LOOPBACK, ...syslog }, ...extra },
  };
}

async function entries(receiver: SyslogReceiver, count: number) {
  await waitFor(() => receiver.messages.length >= count, 3000, `${count} syslog entries`);
  return receiver.messages.map(parseSyslogLine);
}

describe('syslog', () => {
  it('sends one RFC 5424 entry per session to a UDP receiver', async (t) => {
    const backend = await serve(t, startTaggedEchoServer('B1'));
    const receiver = await serve(t, startUdpReceiver());
    const { engine, bound } = await startEngine(t);
    engine.apply(
      config(
        syslogRoute(backend.port, { port: receiver.port, sock_type: 'udp', batch_max_size: 1 }),
      ),
    );
    await exchange(bound[0].port, 'abc');
    const [entry] = await entries(receiver, 1);
    assert.equal(entry.route_id, 'logged');
    assert.equal(entry.protocol, 'TCP');
    assert.equal(entry.client_ip, LOOPBACK);
    assert.equal(entry.status, 200);
    assert.equal(entry.bytes_received, 3);
    assert.equal(entry.bytes_sent, 6);
    assert.equal(entry.upstream, `${LOOPBACK}:${backend.port}`);
    assert.equal(typeof entry.session_time, 'number');
  });

  it('batches newline-framed lines over TCP with the plugin_metadata log_format', async (t) => {
    const backend = await serve(t, startTaggedEchoServer('B1'));
    const receiver = await serve(t, startTcpReceiver());
    const { engine, bound } = await startEngine(t);
    engine.apply({
      ...config(syslogRoute(backend.port, { port: receiver.port, batch_max_size: 3 })),
      pluginMetadata: {
        syslog: {
          log_format: {
            client: '$remote_addr',
            sent: '$bytes_sent',
            status: '$status',
            node: '$upstream_addr',
            literal: 'stream',
            missing: '$no_such_var',
          },
        },
      },
    });
    for (let index = 0; index < 3; index++) await exchange(bound[0].port, 'abc');
    const logged = await entries(receiver, 3);
    assert.equal(receiver.reads, 1, 'the batch of 3 arrives in one write');
    assert.deepEqual(logged[0], {
      client: LOOPBACK,
      sent: '6',
      status: '200',
      node: `${LOOPBACK}:${backend.port}`,
      literal: 'stream',
      route_id: 'logged',
    });

    // The route's own log_format wins over the metadata.
    engine.apply({
      ...config(
        syslogRoute(backend.port, {
          port: receiver.port,
          batch_max_size: 1,
          log_format: { port: '$server_port' },
        }),
      ),
      pluginMetadata: { syslog: { log_format: { client: '$remote_addr' } } },
    });
    await exchange(bound[0].port, 'abc');
    const [, , , own] = await entries(receiver, 4);
    assert.deepEqual(own, { port: String(bound[0].port), route_id: 'logged' });
  });

  it('logs refused sessions and UDP sessions too', async (t) => {
    const receiver = await serve(t, startUdpReceiver());
    const udpBackend = await serve(t, startUdpServer('U'));
    const { engine, bound } = await startEngine(t, [
      { protocol: 'tcp', host: LOOPBACK, port: 0 },
      { protocol: 'udp', host: LOOPBACK, port: 0 },
    ]);
    const syslog = { host: LOOPBACK, port: receiver.port, sock_type: 'udp', batch_max_size: 1 };
    engine.apply(
      config(
        {
          id: 'denied',
          serverPort: bound[0].port,
          upstream: upstream('u1', [node(1)]),
          plugins: { 'ip-restriction': { blacklist: ['127.0.0.1'] }, syslog },
        },
        {
          id: 'udp',
          serverPort: bound[1].port,
          upstream: upstream('uu', [node(udpBackend.port)], {
            timeout: { connect: 1, send: 0.1, read: 0.1 },
          }),
          plugins: { syslog },
        },
      ),
    );
    await exchange(bound[0].port, 'x');
    const client = await serve(t, startUdpClient());
    client.send(bound[1].port, 'ping');
    const logged = await entries(receiver, 2);
    const denied = logged.find((entry) => entry.route_id === 'denied');
    const udp = logged.find((entry) => entry.route_id === 'udp');
    assert.equal(denied?.status, 403);
    assert.equal(udp?.protocol, 'UDP');
    assert.equal(udp?.bytes_received, 4);
  });

  it('counts drops while a TCP receiver is down, never blocks, and recovers', async (t) => {
    const backend = await serve(t, startTaggedEchoServer('B1'));
    const port = await refusedPort();
    const plugins = createPluginPipeline({ logger: silentLogger });
    const { engine, bound } = await startEngine(t, undefined, { prereadPipeline: plugins });
    engine.apply(
      config(
        syslogRoute(backend.port, {
          port,
          batch_max_size: 1,
          max_retry_count: 1,
          retry_delay: 0,
          timeout: 500,
        }),
      ),
    );
    for (let index = 0; index < 3; index++) {
      const served = await withDeadline(exchange(bound[0].port, 'abc'), 2000, 'served');
      assert.equal(served.data.toString(), 'B1\nabc');
    }
    await waitFor(() => plugins.stats().syslog[0]?.dropped === 3, 3000, '3 entries dropped');
    const [stats] = plugins.stats().syslog;
    assert.equal(stats.failedBatches, 6, 'each batch tried twice');
    assert.equal(stats.sent, 0);
    assert.equal(stats.pending, 0);

    const receiver = await serve(t, startTcpReceiver(port));
    await exchange(bound[0].port, 'abc');
    await entries(receiver, 1);
    assert.equal(plugins.stats().syslog[0].sent, 1);
  });

  it('survives a UDP receiver that is down', async (t) => {
    const backend = await serve(t, startTaggedEchoServer('B1'));
    const receiver = await startUdpReceiver();
    await receiver.close();
    const plugins = createPluginPipeline({ logger: silentLogger });
    const { engine, bound } = await startEngine(t, undefined, { prereadPipeline: plugins });
    engine.apply(
      config(
        syslogRoute(backend.port, { port: receiver.port, sock_type: 'udp', batch_max_size: 1 }),
      ),
    );
    for (let index = 0; index < 4; index++) {
      const served = await withDeadline(exchange(bound[0].port, 'abc'), 2000, 'served');
      assert.equal(served.data.toString(), 'B1\nabc');
    }
    // Each datagram draws an ICMP port unreachable, which the connected socket reports.
    await waitFor(() => plugins.stats().syslog[0].dropped === 4, 2000, '4 entries counted lost');
    assert.equal(plugins.stats().syslog[0].sent, 0);
  });

  it('flushes buffered entries when the engine closes', async (t) => {
    const backend = await serve(t, startTaggedEchoServer('B1'));
    const receiver = await serve(t, startTcpReceiver());
    const { engine, bound } = await startEngine(t);
    // Defaults: batch_max_size 1000, inactive_timeout 5 s: nothing would be sent for 5 s.
    engine.apply(config(syslogRoute(backend.port, { port: receiver.port })));
    await exchange(bound[0].port, 'abc');
    await withDeadline(engine.close(), 3000, 'engine close');
    const [entry] = await entries(receiver, 1);
    assert.equal(entry.route_id, 'logged');
  });
});
