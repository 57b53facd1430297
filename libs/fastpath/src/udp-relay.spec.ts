import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { loadFastpath, UdpRelayEvent, type UdpRelay } from './index';
import { LOOPBACK, waitFor } from './testing';

const binding = loadFastpath();
const skip = binding === undefined && 'the native fast path is not available';

interface RelayEvent {
  type: number;
  sessionId: number;
  a: unknown;
  b: unknown;
  c: unknown;
}

/** A relay whose events are recorded and, optionally, answered by `react`. */
function startRelay(
  t: TestContext,
  react: (relay: UdpRelay, event: RelayEvent) => void = () => undefined,
): { relay: UdpRelay; events: RelayEvent[] } {
  const events: RelayEvent[] = [];
  const relay: UdpRelay = binding!.createUdpRelay((type, sessionId, a, b, c) => {
    const event = { type, sessionId, a, b, c };
    events.push(event);
    react(relay, event);
  });
  t.after(() => relay.shutdown());
  return { relay, events };
}

async function bound(
  t: TestContext,
  onMessage?: (socket: dgram.Socket, message: Buffer, port: number) => void,
): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  if (onMessage) socket.on('message', (message, remote) => onMessage(socket, message, remote.port));
  await new Promise<void>((resolve) => socket.bind({ address: LOOPBACK, port: 0 }, resolve));
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket;
}

const echo = (socket: dgram.Socket, message: Buffer, port: number): void =>
  socket.send(message, port, LOOPBACK);

describe('native UDP relay', { skip }, () => {
  it('announces a new client, relays both ways once connected, and counts bytes', async (t) => {
    const upstream = await bound(t, echo);
    const { relay, events } = startRelay(t, (relay, event) => {
      if (event.type === UdpRelayEvent.NewSession) {
        assert.equal(
          relay.connect(event.sessionId, LOOPBACK, upstream.address().port, 5000),
          undefined,
        );
      }
    });
    const [listenerId, port, address] = relay.listen(LOOPBACK, 0, false, false);
    assert.equal(address, LOOPBACK);
    const received: string[] = [];
    const client = await bound(t, (_socket, message) => received.push(message.toString()));
    for (const text of ['a', 'bb', 'ccc']) client.send(text, port, LOOPBACK);
    await waitFor(() => received.length === 3, 2000, 'three echoes');
    assert.deepEqual(received.sort(), ['a', 'bb', 'ccc']);
    const newSession = events.filter((event) => event.type === UdpRelayEvent.NewSession);
    assert.equal(newSession.length, 1, 'one session per client address');
    assert.deepEqual(
      [newSession[0].a, newSession[0].b, newSession[0].c],
      [listenerId, LOOPBACK, client.address().port],
    );
    assert.equal(events.filter((event) => event.type === UdpRelayEvent.FirstReply).length, 1);
    assert.deepEqual(relay.close(newSession[0].sessionId), [6, 6, 0]);
    assert.equal(relay.close(newSession[0].sessionId), undefined, 'closed sessions are unknown');
  });

  it('keeps datagrams until connected and replays them on the next node after a refusal', async (t) => {
    // A port nobody listens on: datagrams to it draw an ICMP port unreachable.
    const dead = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => dead.bind({ address: LOOPBACK, port: 0 }, resolve));
    const deadPort = dead.address().port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const live = await bound(t, echo);
    let sessionId = 0;
    const { relay, events } = startRelay(t, (relay, event) => {
      if (event.type === UdpRelayEvent.UpstreamError) {
        assert.equal(event.a, 'ECONNREFUSED');
        assert.equal(event.b, true, 'nothing answered yet: retryable');
        relay.connect(event.sessionId, LOOPBACK, live.address().port, 5000);
      }
    });
    const [, port] = relay.listen(LOOPBACK, 0, false, false);
    const received: string[] = [];
    const client = await bound(t, (_socket, message) => received.push(message.toString()));
    client.send('1', port, LOOPBACK);
    client.send('2', port, LOOPBACK);
    await waitFor(() => events.length >= 1, 2000, 'the new session');
    sessionId = events[0].sessionId;
    await waitFor(() => relay.counters(sessionId)?.[0] === 2, 2000, 'both datagrams kept');
    assert.deepEqual(relay.counters(sessionId), [2, 0, 2], 'kept, not sent: no node yet');
    relay.connect(sessionId, LOOPBACK, deadPort, 5000);
    await waitFor(() => received.length === 2, 2000, 'both datagrams replayed to the live node');
    assert.deepEqual(received.sort(), ['1', '2']);
  });

  it('reports a session idle after its timeout of silence', async (t) => {
    const upstream = await bound(t, echo);
    const idleAt: number[] = [];
    let connectedAt = 0;
    const { relay } = startRelay(t, (relay, event) => {
      if (event.type === UdpRelayEvent.NewSession) {
        connectedAt = Date.now();
        relay.connect(event.sessionId, LOOPBACK, upstream.address().port, 200);
      }
      if (event.type === UdpRelayEvent.Idle) {
        idleAt.push(Date.now());
        relay.close(event.sessionId);
      }
    });
    const [, port] = relay.listen(LOOPBACK, 0, false, false);
    const client = await bound(t);
    client.send('x', port, LOOPBACK);
    await waitFor(() => idleAt.length === 1, 2000, 'idle');
    const elapsed = idleAt[0] - connectedAt;
    assert.ok(elapsed >= 190 && elapsed < 400, `idle after ${elapsed} ms`);
  });

  it('throws bind errors shaped like Node system errors', async (t) => {
    const taken = await bound(t);
    const { relay } = startRelay(t);
    assert.throws(() => relay.listen(LOOPBACK, taken.address().port, false, false), {
      code: 'EADDRINUSE',
      syscall: 'bind',
    });
    assert.throws(() => relay.listen('not-an-ip', 0, false, false), { code: 'EINVAL' });
  });

  it('cannot be used after shutdown', (t) => {
    const { relay } = startRelay(t);
    relay.shutdown();
    assert.throws(() => relay.listen(LOOPBACK, 0, false, false), {
      code: 'ERR_FASTPATH_CLOSED',
    });
  });
});
