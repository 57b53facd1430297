/** Fixtures for the plugin specs. Not exported from the package. */
import type { StreamRouteSpec, UpstreamSpec } from '../../config';
import type { ConnectionSummary } from '../../engine/connection-events';
import type { PrereadSession } from '../../engine/preread';
import type { ConnectionContext } from '../../routing/types';

export function fakeSession(
  context: Partial<ConnectionContext> = {},
  routeId = 'r1',
): PrereadSession {
  return {
    id: 7,
    context: {
      protocol: 'tcp',
      remoteAddr: '127.0.0.1',
      remotePort: 40000,
      serverAddr: '127.0.0.1',
      serverPort: 9100,
      ...context,
    },
    route: { id: routeId } as StreamRouteSpec,
    upstream: { key: 'route' } as UpstreamSpec,
  };
}

export function fakeSummary(overrides: Partial<ConnectionSummary> = {}): ConnectionSummary {
  return {
    id: 7,
    protocol: 'tcp',
    listenerId: 'tcp://127.0.0.1:9100',
    remoteAddr: '127.0.0.1',
    remotePort: 40000,
    serverAddr: '127.0.0.1',
    serverPort: 9100,
    routeId: 'r1',
    startedAt: 1_700_000_000_000,
    node: '127.0.0.1:1995',
    status: 200,
    bytesFromClient: 3,
    bytesToClient: 14,
    durationMs: 12.5,
    connectMs: 0.4,
    attempts: 1,
    ...overrides,
  };
}

/** `10 0f 00 04 'MQTT' 04 02 00 3c 00 03 'foo'`-style CONNECT packets. */
export function mqttConnect(
  clientId: string,
  options: { level?: number; name?: string; properties?: Buffer; type?: number } = {},
): Buffer {
  const name = Buffer.from(options.name ?? 'MQTT');
  const id = Buffer.from(clientId);
  const level = options.level ?? 4;
  const variable = Buffer.concat([
    Buffer.from([name.length >> 8, name.length & 0xff]),
    name,
    Buffer.from([level, 0x02, 0x00, 0x3c]),
    level === 5
      ? encodeVariableByteInteger((options.properties ?? Buffer.alloc(0)).length)
      : Buffer.alloc(0),
    level === 5 ? (options.properties ?? Buffer.alloc(0)) : Buffer.alloc(0),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([
    Buffer.from([options.type ?? 0x10]),
    encodeVariableByteInteger(variable.length),
    variable,
  ]);
}

export function encodeVariableByteInteger(value: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return Buffer.from(bytes);
}
