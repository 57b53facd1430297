import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  LOOPBACK,
  refusedPort,
  serve,
  startBlackhole,
  startTaggedEchoServer,
} from '../engine/testing/loopback';
import { probeTcp, probeUdp } from './probes';
import { closedUdpPort, startUdpPeer } from './testing';

describe('health probes', { concurrency: true }, () => {
  it('tcp: a connect is a success, a refusal a failure, an unanswered SYN a timeout', async (t) => {
    const live = await serve(t, startTaggedEchoServer('A'));
    const hole = await serve(t, startBlackhole());
    const dead = await refusedPort();
    const [ok, refused, silent] = await Promise.all([
      probeTcp({ host: LOOPBACK, port: live.port, timeoutMs: 500 }).result,
      probeTcp({ host: LOOPBACK, port: dead, timeoutMs: 500 }).result,
      probeTcp({ host: LOOPBACK, port: hole.port, timeoutMs: 200 }).result,
    ]);
    assert.deepEqual(ok, { outcome: 'success' });
    assert.equal(refused.outcome, 'failure');
    assert.match(refused.error ?? '', /ECONNREFUSED/);
    assert.equal(silent.outcome, 'timeout');
  });

  it('udp: expected reply, wrong reply, silence, ICMP port unreachable', async (t) => {
    const echo = await serve(t, startUdpPeer('pong from echo'));
    const wrong = await serve(t, startUdpPeer('go away'));
    const silent = await serve(t, startUdpPeer());
    const closed = await closedUdpPort();
    const target = (port: number) => ({
      host: LOOPBACK,
      port,
      timeoutMs: 300,
      send: Buffer.from('ping'),
      expect: Buffer.from('pong'),
    });
    const [answered, mismatched, quiet, unreachable] = await Promise.all(
      [echo.port, wrong.port, silent.port, closed].map((port) => probeUdp(target(port)).result),
    );
    assert.deepEqual(answered, { outcome: 'success' });
    assert.equal(echo.received[0].toString(), 'ping');
    assert.equal(mismatched.outcome, 'failure');
    assert.equal(quiet.outcome, 'timeout');
    assert.equal(unreachable.outcome, 'failure');
    assert.match(unreachable.error ?? '', /ICMP port unreachable/);
  });

  it('udp without an expected reply: silence is healthy, ICMP unreachable is not', async (t) => {
    const silent = await serve(t, startUdpPeer());
    const closed = await closedUdpPort();
    const [quiet, unreachable] = await Promise.all([
      probeUdp({ host: LOOPBACK, port: silent.port, timeoutMs: 200 }).result,
      probeUdp({ host: LOOPBACK, port: closed, timeoutMs: 200 }).result,
    ]);
    assert.equal(quiet.outcome, 'success');
    // An empty datagram is sent when no payload is configured.
    assert.equal(silent.received[0].length, 0);
    assert.equal(unreachable.outcome, 'failure');
  });

  it('cancel() settles at once and releases the socket', async () => {
    const hole = await startBlackhole();
    try {
      const probe = probeTcp({ host: LOOPBACK, port: hole.port, timeoutMs: 10_000 });
      probe.cancel();
      assert.deepEqual(await probe.result, { outcome: 'failure', error: 'cancelled' });
    } finally {
      await hole.close();
    }
  });
});
