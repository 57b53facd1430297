/**
 * Incremental parser of an MQTT CONNECT packet prefix (v3.1, v3.1.1 and v5), up to and including
 * the client identifier: exactly what mqtt-proxy needs, without waiting for will, user name or
 * password.
 */
export type MqttConnectParse =
  /** Not enough bytes yet: call again once `bytes` bytes in total are available. */
  | { kind: 'need'; bytes: number }
  | { kind: 'bad'; reason: string }
  | {
      kind: 'ok';
      protocolName: string;
      protocolLevel: number;
      /** '' when the client sent a zero-length identifier. */
      clientId: string;
    };

/** Reads an MQTT variable byte integer at `offset`: [value, length], 'need' or 'bad'. */
function readVariableByteInteger(
  data: Buffer,
  offset: number,
): { value: number; length: number } | 'need' | 'bad' {
  let value = 0;
  let multiplier = 1;
  for (let length = 1; length <= 4; length++) {
    if (offset + length > data.length) return 'need';
    const byte = data[offset + length - 1];
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { value, length };
    multiplier *= 128;
  }
  return 'bad';
}

/**
 * Parses what `data` holds. `maxBytes` bounds the prefix the caller is willing to buffer: a
 * CONNECT whose client id ends further away is refused rather than waited for.
 */
export function parseMqttConnect(data: Buffer, maxBytes: number): MqttConnectParse {
  const need = (bytes: number): MqttConnectParse =>
    bytes > maxBytes
      ? { kind: 'bad', reason: `CONNECT prefix longer than ${maxBytes} bytes` }
      : { kind: 'need', bytes };
  if (data.length < 1) return need(2);
  const packetType = data[0];
  // APISIX mqtt-proxy: a first byte outside 16..32 is not a CONNECT.
  if (packetType < 0x10 || packetType > 0x20) {
    return { kind: 'bad', reason: `packet type ${packetType} is not CONNECT` };
  }
  const remaining = readVariableByteInteger(data, 1);
  if (remaining === 'need') return need(data.length + 1);
  if (remaining === 'bad') return { kind: 'bad', reason: 'malformed remaining length' };
  const packetEnd = 1 + remaining.length + remaining.value;
  let position = 1 + remaining.length;
  // Every field must lie inside the packet; one that does not is a malformed packet, never a wait.
  const require = (end: number): MqttConnectParse | undefined => {
    if (end > packetEnd) return { kind: 'bad', reason: 'CONNECT shorter than its fields' };
    if (end > data.length) return need(end);
    return undefined;
  };

  let missing = require(position + 2);
  if (missing) return missing;
  const nameLength = data.readUInt16BE(position);
  position += 2;
  missing = require(position + nameLength + 1 + 3);
  if (missing) return missing;
  const protocolName = data.toString('utf8', position, position + nameLength);
  position += nameLength;
  const protocolLevel = data[position];
  // Level, connect flags, keep alive.
  position += 1 + 3;

  if (protocolLevel === 5) {
    const properties = readVariableByteInteger(data, position);
    // One more byte of the length (or the finding that the packet ends first).
    if (properties === 'need') return require(data.length + 1) ?? need(data.length + 1);
    if (properties === 'bad') return { kind: 'bad', reason: 'malformed properties length' };
    position += properties.length + properties.value;
  }

  missing = require(position + 2);
  if (missing) return missing;
  const clientIdLength = data.readUInt16BE(position);
  position += 2;
  missing = require(position + clientIdLength);
  if (missing) return missing;
  const clientId = data.toString('utf8', position, position + clientIdLength);
  return { kind: 'ok', protocolName, protocolLevel, clientId };
}
