import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { StreamRouteSpec } from '../config';
import {
  config,
  exchange,
  LOOPBACK,
  node,
  openClient,
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
import { mqttConnect } from './testing/sessions';

const SCENARIO_46 = Buffer.from('100f00044d5154540402003c0003666f6f', 'hex');

function mqttRoute(ports: number[], level = 4): StreamRouteSpec {
  return {
    id: 'mqtt',
    upstream: upstream(
      'mqtt-nodes',
      ports.map((port) => node(port)),
      { type: 'chash', hashOn: 'vars', hashKey: 'mqtt_client_id' },
    ),
    plugins: { 'mqtt-proxy': { protocol_name: 'MQTT', protocol_level: level } },
  };
}

/** Sends `packet`, returns the backend tag and the bytes the backend received (echoed). */
async function send(port: number, packet: Buffer): Promise<{ tag: string; echoed: Buffer }> {
  const result = await withDeadline(exchange(port, packet), 3000, 'mqtt exchange');
  const newline = result.data.indexOf(0x0a);
  return {
    tag: result.data.subarray(0, Math.max(0, newline)).toString(),
    echoed: result.data.subarray(newline + 1),
  };
}

describe('mqtt-proxy (scenario 46)', () => {
  it('proxies CONNECT unchanged and keeps each client id on one node (chash)', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const b2 = await serve(t, startTaggedEchoServer('B2'));
    const { engine, bound } = await startEngine(t);
    engine.apply(config(mqttRoute([b1.port, b2.port])));

    const first = await send(bound[0].port, SCENARIO_46);
    assert.deepEqual(first.echoed, SCENARIO_46);
    for (let index = 0; index < 5; index++) {
      assert.equal((await send(bound[0].port, SCENARIO_46)).tag, first.tag);
    }
    const nodeOf = new Map<string, string>();
    for (let index = 0; index < 16; index++) {
      const id = `client-${index}`;
      const packet = Buffer.concat([mqttConnect(id), Buffer.from([0xc0, 0x00])]); // + PINGREQ
      const reply = await send(bound[0].port, packet);
      assert.deepEqual(reply.echoed, packet);
      assert.equal((await send(bound[0].port, packet)).tag, reply.tag, `${id} is sticky`);
      nodeOf.set(id, reply.tag);
    }
    assert.deepEqual(new Set(nodeOf.values()), new Set(['B1', 'B2']));
  });

  it('closes a connection whose first byte is not CONNECT, or of another protocol level', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const { engine, bound, closed } = await startEngine(t);
    engine.apply(config(mqttRoute([b1.port])));
    const http = await withDeadline(
      exchange(bound[0].port, 'GET / HTTP/1.1\r\n\r\n'),
      2000,
      'http',
    );
    assert.equal(http.data.length, 0);
    assert.equal((await closed.nth(1)).status, 503);
    const v5 = await withDeadline(
      exchange(bound[0].port, mqttConnect('a', { level: 5 })),
      2000,
      'v5',
    );
    assert.equal(v5.data.length, 0);
    const other = await exchange(bound[0].port, mqttConnect('a', { name: 'MQIsdp', level: 4 }));
    assert.equal(other.data.length, 0);
    await closed.nth(3);
    assert.equal(b1.accepted.length, 0);
  });

  it('reads v5 properties, CONNECTs split across writes, and empty client ids', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const b2 = await serve(t, startTaggedEchoServer('B2'));
    const { engine, bound } = await startEngine(t);
    engine.apply(config(mqttRoute([b1.port, b2.port], 5)));
    const properties = Buffer.from([0x11, 0, 0, 0, 10, 0x21, 0, 20]); // session expiry, receive max
    const packet = mqttConnect('v5-client', { level: 5, properties });
    assert.deepEqual((await send(bound[0].port, packet)).echoed, packet);

    const client = await openClient(bound[0].port);
    client.socket.write(packet.subarray(0, 6));
    await new Promise((resolve) => setTimeout(resolve, 30));
    client.socket.write(packet.subarray(6));
    await waitFor(
      () => client.received().endsWith(packet.toString()),
      2000,
      'split CONNECT relayed',
    );
    client.socket.end();
    await withDeadline(client.result, 2000, 'split client closed');

    // No client id: mqtt_client_id stays unset and chash falls back to the client address.
    const anonymous = mqttConnect('', { level: 5 });
    assert.deepEqual((await send(bound[0].port, anonymous)).echoed, anonymous);
  });

  it('closes a truncated CONNECT after the peek timeout, or at once when the client ends', async (t) => {
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const plugins = createPluginPipeline({ mqttPeekTimeoutMs: 300 });
    const { engine, bound, closed } = await startEngine(t, undefined, { prereadPipeline: plugins });
    engine.apply(config(mqttRoute([b1.port])));
    const started = performance.now();
    const client = await openClient(bound[0].port);
    client.socket.on('end', () => client.socket.end());
    client.socket.write(SCENARIO_46.subarray(0, 9));
    const result = await withDeadline(client.result, 2000, 'truncated CONNECT closed');
    assert.equal(result.data.length, 0);
    assert.ok(performance.now() - started >= 250, 'waited for the timeout');
    assert.equal((await closed.nth(1)).status, 503);

    const ended = await withDeadline(
      exchange(bound[0].port, SCENARIO_46.subarray(0, 9)),
      250,
      'truncated CONNECT then FIN',
    );
    assert.equal(ended.data.length, 0);
    assert.equal(b1.accepted.length, 0);
  });

  it('does nothing on UDP sessions', async (t) => {
    const u1 = await serve(t, startUdpServer('U1'));
    const { engine, bound } = await startEngine(t, [{ protocol: 'udp', host: LOOPBACK, port: 0 }]);
    engine.apply(config({ ...mqttRoute([u1.port]), id: 'udp-mqtt' }));
    const client = await serve(t, startUdpClient());
    client.send(bound[0].port, 'datagram');
    await waitFor(() => client.received.length === 1, 2000, 'UDP reply');
    assert.equal(client.received[0], 'U1:0:datagram');
  });
});
