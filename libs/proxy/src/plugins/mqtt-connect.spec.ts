import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseMqttConnect } from './mqtt-connect';
import { mqttConnect } from './testing/sessions';

const SCENARIO_46 = Buffer.from('100f00044d5154540402003c0003666f6f', 'hex');

describe('parseMqttConnect', () => {
  it('parses the scenario 46 packet (v3.1.1, client id foo)', () => {
    assert.deepEqual(mqttConnect('foo'), SCENARIO_46);
    assert.deepEqual(parseMqttConnect(SCENARIO_46, 65536), {
      kind: 'ok',
      protocolName: 'MQTT',
      protocolLevel: 4,
      clientId: 'foo',
    });
  });

  it('asks for more bytes for every proper prefix, never misparses one', () => {
    for (let length = 0; length < SCENARIO_46.length; length++) {
      const result = parseMqttConnect(SCENARIO_46.subarray(0, length), 65536);
      assert.equal(result.kind, 'need', `prefix of ${length}`);
      if (result.kind === 'need') assert.ok(result.bytes > length);
    }
  });

  it('skips v5 properties, with a multi-byte properties length', () => {
    const properties = Buffer.alloc(200, 0x26); // user properties, content irrelevant
    const packet = mqttConnect('client-5', { level: 5, properties });
    assert.deepEqual(parseMqttConnect(packet, 65536), {
      kind: 'ok',
      protocolName: 'MQTT',
      protocolLevel: 5,
      clientId: 'client-5',
    });
  });

  it('reports an empty client id as empty', () => {
    const result = parseMqttConnect(mqttConnect(''), 65536);
    assert.equal(result.kind === 'ok' && result.clientId, '');
  });

  it('refuses other packet types, malformed lengths and fields beyond the packet', () => {
    assert.equal(parseMqttConnect(Buffer.from('GET / HTTP/1.1\r\n'), 65536).kind, 'bad');
    assert.equal(parseMqttConnect(Buffer.from([0x30, 0x02, 0, 0]), 65536).kind, 'bad');
    assert.equal(parseMqttConnect(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff]), 65536).kind, 'bad');
    // Remaining length 3 cannot hold the protocol name it announces.
    assert.equal(parseMqttConnect(Buffer.from([0x10, 0x03, 0x00, 0x04, 0x4d]), 65536).kind, 'bad');
  });

  it('refuses a prefix longer than the peek budget', () => {
    const packet = mqttConnect('x'.repeat(5000));
    assert.equal(parseMqttConnect(packet.subarray(0, 100), 1024).kind, 'bad');
  });
});
