import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HealthCheckSpec, UpstreamSpec } from '../config';
import {
  node,
  refusedPort,
  serve,
  startTaggedEchoServer,
  upstream,
  waitFor,
} from '../engine/testing/loopback';
import { upstreamsOf } from './config-upstreams';
import { HealthMonitor } from './health-monitor';
import type { HealthChangedEvent, UpstreamHealth } from './health-types';
import { closedUdpPort, RecordingProber, startUdpPeer, tcpChecks } from './testing';

function nodeState(health: UpstreamHealth | undefined, port: number) {
  const found = health?.nodes.find((entry) => entry.node === `127.0.0.1:${port}`);
  assert.ok(found, `node ${port} in ${JSON.stringify(health)}`);
  return found;
}

function checked(
  key: string,
  ports: number[],
  checks: HealthCheckSpec,
  version = '1',
): UpstreamSpec {
  return upstream(
    key,
    ports.map((port) => node(port)),
    { checks, version },
  );
}

describe('health monitor', { concurrency: true }, () => {
  it('a monitor that does not probe follows the flips another one shares', async (t) => {
    const live = await serve(t, startTaggedEchoServer('A'));
    const dead = await refusedPort();
    const checks = tcpChecks({
      healthyInterval: 0.05,
      unhealthyInterval: 0.05,
      unhealthyTcpFailures: 1,
    });
    const proberOfFollower = new RecordingProber();
    const leader = new HealthMonitor();
    const follower = new HealthMonitor({ prober: proberOfFollower, probing: false });
    t.after(() => leader.close());
    t.after(() => follower.close());
    leader.on('health:changed', (event) => follower.applyShared(event));
    leader.apply([checked('u', [live.port, dead], checks)]);
    follower.apply([checked('u', [live.port, dead], checks)]);
    await waitFor(() => !follower.isHealthy('u', node(dead)), 2000, 'dead node shared');
    assert.equal(follower.isHealthy('u', node(live.port)), true);
    const shared = nodeState(follower.upstream('u'), dead);
    assert.equal(shared.healthy, false);
    assert.match(shared.lastError ?? '', /active check: 1 probe failure/);
    assert.equal(shared.lastCheckAt, null, 'the follower never probed');
    assert.equal(proberOfFollower.probes.length, 0);
    // A flip back is taken over as well, and a flip for an unknown upstream is ignored.
    follower.applyShared({
      upstreamKey: 'u',
      node: `127.0.0.1:${dead}`,
      healthy: true,
      source: 'active',
      reason: 'r',
      at: 1,
    });
    assert.equal(follower.isHealthy('u', node(dead)), true);
    follower.applyShared({
      upstreamKey: 'other',
      node: `127.0.0.1:${dead}`,
      healthy: false,
      source: 'active',
      reason: 'r',
      at: 1,
    });
    assert.equal(follower.isHealthy('u', node(dead)), true);
  });

  it('UDP probes: a peer that answers stays healthy, a silent and a closed one leave', async (t) => {
    const echo = await serve(t, startUdpPeer('pong'));
    const silent = await serve(t, startUdpPeer());
    const closed = await closedUdpPort();
    const monitor = new HealthMonitor();
    t.after(() => monitor.close());
    const events: HealthChangedEvent[] = [];
    monitor.on('health:changed', (event) => events.push(event));
    const checks: HealthCheckSpec = {
      active: {
        type: 'udp',
        timeout: 0.2,
        healthyInterval: 0.05,
        healthySuccesses: 1,
        unhealthyInterval: 0.05,
        unhealthyTcpFailures: 1,
        unhealthyTimeouts: 1,
        udpSend: Buffer.from('ping'),
        udpExpect: Buffer.from('pong'),
      },
    };
    monitor.apply([checked('u', [echo.port, silent.port, closed], checks)]);
    await waitFor(() => events.length === 2, 2000, 'silent and closed peers unhealthy');
    const health = monitor.upstream('u');
    assert.equal(health?.type, 'udp');
    assert.equal(nodeState(health, echo.port).healthy, true);
    assert.equal(nodeState(health, echo.port).lastResult, 'success');
    assert.ok(echo.received.every((datagram) => datagram.toString() === 'ping'));
    assert.equal(nodeState(health, silent.port).healthy, false);
    assert.equal(nodeState(health, silent.port).lastResult, 'timeout');
    assert.equal(nodeState(health, closed).healthy, false);
    assert.equal(nodeState(health, closed).lastResult, 'failure');
    assert.match(nodeState(health, closed).lastError ?? '', /ICMP port unreachable/);
    assert.ok(events.every((event) => event.source === 'active' && !event.healthy));
    assert.deepEqual(
      monitor.snapshot().map((entry) => entry.upstreamKey),
      ['u'],
    );
  });

  it('state survives an apply with unchanged checks and resets when the checks change', async (t) => {
    const live = await serve(t, startTaggedEchoServer('A'));
    const dead = await refusedPort();
    const prober = new RecordingProber();
    const monitor = new HealthMonitor({ prober });
    t.after(() => monitor.close());
    const checks = () =>
      tcpChecks({ healthyInterval: 0.05, unhealthyInterval: 0.05, unhealthyTcpFailures: 1 });
    monitor.apply([checked('u', [live.port, dead], checks())]);
    await waitFor(
      () => monitor.upstream('u')?.nodes.some((entry) => !entry.healthy) === true,
      2000,
      'dead node unhealthy',
    );
    const before = monitor.upstream('u')!;

    // A route edit: new spec objects, new version, one more node, equal checks.
    const third = await serve(t, startTaggedEchoServer('C'));
    monitor.apply([checked('u', [live.port, dead, third.port], checks(), '2')]);
    const kept = monitor.upstream('u')!;
    assert.equal(kept.startedAt, before.startedAt);
    assert.equal(nodeState(kept, dead).healthy, false);
    assert.equal(nodeState(kept, third.port).healthy, true);
    assert.equal(nodeState(kept, third.port).lastCheckAt, null);
    assert.equal(monitor.isHealthy('u', node(dead)), false);
    assert.equal(monitor.isHealthy('u', node(live.port)), true);

    // Other checks: a fresh checker, every node healthy until probed.
    monitor.apply([
      checked('u', [live.port, dead], { ...checks(), active: { ...checks().active!, timeout: 2 } }),
    ]);
    const reset = monitor.upstream('u')!;
    assert.ok(reset.nodes.every((entry) => entry.healthy && entry.lastCheckAt === null));
    assert.equal(monitor.isHealthy('u', node(dead)), true);

    // The upstream is gone: its checker stops probing.
    monitor.apply([upstream('other', [node(live.port)])]);
    assert.deepEqual(monitor.snapshot(), []);
    const probes = prober.probes.length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(prober.probes.length, probes);
    assert.equal(monitor.isHealthy('u', node(dead)), true);
  });

  it('honours concurrency, and close() cancels probes in flight and stops every timer', async (t) => {
    const prober = new RecordingProber(true);
    const monitor = new HealthMonitor({ prober });
    t.after(() => monitor.close());
    const ports = [1001, 1002, 1003, 1004, 1005];
    monitor.apply([
      checked(
        'u',
        ports,
        tcpChecks({ healthyInterval: 0.05, unhealthyInterval: 0.05, concurrency: 2 }),
      ),
    ]);
    await waitFor(() => prober.probes.length === 2, 1000, 'two probes started');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(prober.probes.length, 2, 'no third probe while two are held');
    prober.release();
    await waitFor(() => prober.probes.length === 4, 1000, 'the queued nodes are probed next');
    assert.equal(prober.maxInFlight, 2);
    const held = [...prober.held];
    monitor.close();
    assert.ok(held.length > 0 && held.every((probe) => probe.cancelled));
    const count = prober.probes.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(prober.probes.length, count, 'no probe after close()');
    assert.deepEqual(monitor.snapshot(), []);
  });

  it('passive reports: thresholds per source, 0 disables, a success resets the failures', () => {
    const monitor = new HealthMonitor({ prober: new RecordingProber(true) });
    try {
      const events: HealthChangedEvent[] = [];
      monitor.on('health:changed', (event) => events.push(event));
      const spec = checked(
        'u',
        [2001, 2002],
        tcpChecks(
          { healthyInterval: 60, unhealthyInterval: 60 },
          { healthySuccesses: 1, unhealthyTcpFailures: 2, unhealthyTimeouts: 0 },
        ),
      );
      monitor.apply([spec]);
      const checker = monitor.checkerFor(spec)!;
      const [first] = spec.nodes;
      checker.reportPassive(first, 'failure', 'connect refused');
      checker.reportPassive(first, 'success');
      checker.reportPassive(first, 'failure', 'connect refused');
      assert.equal(monitor.isHealthy('u', first), true, 'the success reset the failure count');
      for (let index = 0; index < 5; index++) checker.reportPassive(first, 'timeout');
      assert.equal(monitor.isHealthy('u', first), true, 'passive timeouts are disabled (0)');
      assert.equal(events.length, 0);
      // The ignored timeouts did not reset the failure count either: one more failure is enough.
      checker.reportPassive(first, 'failure', 'connect refused');
      assert.equal(monitor.isHealthy('u', first), false);
      assert.deepEqual(
        { ...events[0], at: 0 },
        {
          upstreamKey: 'u',
          node: '127.0.0.1:2001',
          healthy: false,
          source: 'passive',
          reason: 'passive check: 2 connect failures in a row (connect refused)',
          at: 0,
        },
      );
      checker.reportPassive(first, 'success');
      assert.equal(monitor.isHealthy('u', first), true);
      assert.equal(events[1].reason, 'passive check: 1 success in a row');
      const health = nodeState(monitor.upstream('u'), 2001);
      assert.equal(health.lastCheckAt, null, 'no active probe ran');
    } finally {
      monitor.close();
    }
  });

  it('checks the upstreams of routes and of traffic-split rules', () => {
    const own = upstream('/apisix/stream_routes/1#upstream', [node(1)]);
    const split = upstream('/apisix/upstreams/2', [node(2)]);
    const routes = [
      {
        id: '1',
        upstream: own,
        plugins: {
          'traffic-split': {
            rules: [{ weighted_upstreams: [{ upstream: split, weight: 1 }, { weight: 1 }] }],
          },
        },
      },
      { id: '2', upstreamError: 'upstream 9 not found' },
    ];
    assert.deepEqual(upstreamsOf({ routes, certificates: [] }), [own, split]);
  });

  it('without checks.passive, lua-resty-healthcheck defaults apply (2 failures, 7 timeouts)', () => {
    const monitor = new HealthMonitor({ prober: new RecordingProber(true) });
    try {
      const spec = checked('u', [3001], tcpChecks({ healthyInterval: 60 }));
      monitor.apply([spec]);
      const checker = monitor.checkerFor(spec)!;
      assert.equal(checker.passive, true);
      for (let index = 0; index < 6; index++) checker.reportPassive(spec.nodes[0], 'timeout');
      assert.equal(monitor.isHealthy('u', spec.nodes[0]), true);
      checker.reportPassive(spec.nodes[0], 'timeout');
      assert.equal(monitor.isHealthy('u', spec.nodes[0]), false);
      // Upstreams without checks have no checker and are never filtered.
      assert.equal(monitor.checkerFor(upstream('plain', [node(1)])), undefined);
      assert.equal(monitor.isHealthy('plain', node(1)), true);
    } finally {
      monitor.close();
    }
  });
});
