import type * as net from 'node:net';
import type { PrereadOutcome, PrereadSession } from '../engine/preread';
import { parseMqttConnect, type MqttConnectParse } from './mqtt-connect';
import {
  numberField,
  PluginConfError,
  REJECT_503,
  stringField,
  type PluginStep,
  type StreamPlugin,
} from './plugin-types';

export interface MqttPeekOptions {
  /** How long the client may take to send its CONNECT prefix (nginx preread_timeout: 30 s). */
  timeoutMs: number;
  /** The most bytes buffered while looking for the client id. */
  maxBytes: number;
}

type PeekResult = Exclude<MqttConnectParse, { kind: 'need' }>;

/**
 * Reads from the paused client socket until the CONNECT prefix parses (or fails, times out, or the
 * client goes away), then unshifts every byte read, so the relay later sends the packet unchanged.
 * Whatever the outcome, the socket is left paused with no listeners of ours.
 */
export function peekMqttConnect(socket: net.Socket, options: MqttPeekOptions): Promise<PeekResult> {
  return new Promise((resolve) => {
    let data: Buffer = Buffer.alloc(0);
    let needed = 2;
    let settled = false;
    const settle = (result: PeekResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('readable', onReadable);
      socket.removeListener('end', onGone);
      socket.removeListener('close', onGone);
      socket.removeListener('error', onGone);
      if (data.length > 0 && !socket.destroyed) socket.unshift(data);
      socket.pause();
      resolve(result);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      const chunks: Buffer[] = data.length > 0 ? [data] : [];
      while ((chunk = socket.read() as Buffer | null) !== null) chunks.push(chunk);
      if (chunks.length === 0) return;
      data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      if (data.length < needed) return;
      const parsed = parseMqttConnect(data, options.maxBytes);
      if (parsed.kind === 'need') needed = parsed.bytes;
      else settle(parsed);
    };
    const onGone = (): void =>
      settle({ kind: 'bad', reason: 'client closed before a complete CONNECT' });
    const timer = setTimeout(
      () => settle({ kind: 'bad', reason: 'timed out waiting for CONNECT' }),
      options.timeoutMs,
    );
    socket.on('end', onGone);
    socket.on('close', onGone);
    socket.on('error', onGone);
    // Attaching 'readable' starts reading; data already buffered is delivered by the first event.
    socket.on('readable', onReadable);
  });
}

const STATE_KEY = 'mqtt-proxy';

/**
 * mqtt-proxy (1000): peeks at the CONNECT packet, checks protocol name and level, and sets
 * `mqtt_client_id` for chash (`key: mqtt_client_id`); an empty id leaves it unset, so chash falls
 * back to the client address. Anything else closes the connection (503). TCP only: on UDP the
 * step does nothing.
 */
class MqttProxyStep implements PluginStep {
  readonly name = 'mqtt-proxy';
  /** It peeks at the CONNECT packet on the client socket (see PrereadStep.readsClient). */
  readonly readsClient = true;

  constructor(
    private readonly protocolName: string,
    private readonly protocolLevel: number,
    private readonly peek: MqttPeekOptions,
  ) {}

  run(session: PrereadSession): PrereadOutcome | Promise<PrereadOutcome> {
    const socket = session.client;
    if (socket === undefined) return undefined;
    if (socket.destroyed || socket.readableEnded) return REJECT_503;
    return peekMqttConnect(socket, this.peek).then((result) => {
      if (result.kind === 'bad') return rejected(session, result.reason);
      if (result.protocolName !== this.protocolName) {
        return rejected(session, `expect protocol name ${this.protocolName}`);
      }
      if (result.protocolLevel !== this.protocolLevel) {
        return rejected(session, `expect protocol level ${this.protocolLevel}`);
      }
      if (result.clientId !== '') {
        const context = session.context;
        (context.vars ??= {}).mqtt_client_id = result.clientId;
      }
      return undefined;
    });
  }
}

/** Keeps why the packet was refused on the session (for debugging); the status is 503. */
function rejected(session: PrereadSession, reason: string): PrereadOutcome {
  (session.state ??= {})[STATE_KEY] = reason;
  return REJECT_503;
}

export function createMqttProxyPlugin(peek: MqttPeekOptions): StreamPlugin {
  return {
    name: 'mqtt-proxy',
    priority: 1000,
    compile(conf) {
      const level = numberField(conf, 'protocol_level', NaN);
      if (!Number.isInteger(level)) throw new PluginConfError('protocol_level is required');
      return new MqttProxyStep(stringField(conf, 'protocol_name', 'MQTT'), level, peek);
    },
  };
}
