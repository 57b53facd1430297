import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeHealth, UpstreamHealth } from '@strait/proxy';
import type { ListenerEntry } from '../config/strait-config';
import type { RouteCountersReport } from '../observability/engine-observer';
import {
  mergeHandshakeStats,
  mergeHealth,
  mergeMetrics,
  mergePluginStats,
  mergeTraffic,
} from './merge';
import { connectionIdsFor, workerOfConnection } from './worker-protocol';
import { assignListeners } from './worker-pool';

function node(name: string, extra: Partial<NodeHealth> = {}): NodeHealth {
  return {
    node: name,
    healthy: true,
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
    consecutiveTimeouts: 0,
    lastCheckAt: null,
    lastResult: null,
    lastError: null,
    changedAt: null,
    ...extra,
  };
}

function upstream(key: string, nodes: NodeHealth[], startedAt = 1000): UpstreamHealth {
  return { upstreamKey: key, type: 'tcp', passive: true, startedAt, nodes };
}

function route(routeId: string, extra: Partial<RouteCountersReport> = {}): RouteCountersReport {
  return {
    routeId,
    connectionsTotal: 1,
    active: 1,
    bytesFromClient: 10,
    bytesToClient: 20,
    statusTotals: [[200, 1]],
    connectBuckets: [1, 0, 0],
    connectCount: 1,
    connectSumSeconds: 0.001,
    ...extra,
  };
}

describe('merging worker reports', () => {
  it('reports a node healthy only when every worker has it in its pool, with the latest probe', () => {
    const merged = mergeHealth([
      [
        upstream('/apisix/upstreams/1', [
          node('a:1', { lastCheckAt: 10, consecutiveSuccesses: 3 }),
          node('b:1', { lastCheckAt: 10, changedAt: 5 }),
        ]),
      ],
      [
        upstream(
          '/apisix/upstreams/1',
          [
            node('a:1', { lastCheckAt: 12, consecutiveSuccesses: 4 }),
            node('b:1', {
              healthy: false,
              lastCheckAt: 9,
              consecutiveFailures: 2,
              lastError: 'refused',
              changedAt: 8,
            }),
          ],
          900,
        ),
        upstream('/apisix/upstreams/2', [node('c:1')]),
      ],
    ]);
    assert.deepEqual(
      merged.map((entry) => entry.upstreamKey),
      ['/apisix/upstreams/1', '/apisix/upstreams/2'],
    );
    const [first] = merged;
    assert.equal(first.startedAt, 900);
    assert.deepEqual(first.nodes[0], node('a:1', { lastCheckAt: 12, consecutiveSuccesses: 4 }));
    // b:1: worker 0 probed last (healthy there), worker 1 took it out: not healthy overall.
    assert.equal(first.nodes[1].healthy, false);
    assert.equal(first.nodes[1].lastCheckAt, 10);
    assert.equal(first.nodes[1].changedAt, 8);
  });

  it('sums route counters, statuses, histograms and per-second samples', () => {
    const merged = mergeTraffic([
      {
        routes: [route('1'), route('2')],
        series: { '1': [{ time: 100, connections: 1, bytesFromClient: 1, bytesToClient: 2 }] },
      },
      {
        routes: [route('1', { statusTotals: [[502, 2]], connectBuckets: [0, 1, 0] })],
        series: {
          '1': [
            { time: 99, connections: 3, bytesFromClient: 0, bytesToClient: 0 },
            { time: 100, connections: 1, bytesFromClient: 1, bytesToClient: 2 },
          ],
          constructor: [{ time: 100, connections: 1, bytesFromClient: 0, bytesToClient: 0 }],
        },
      },
    ]);
    const one = merged.routes.find((entry) => entry.routeId === '1');
    assert.deepEqual(one, {
      routeId: '1',
      connectionsTotal: 2,
      active: 2,
      bytesFromClient: 20,
      bytesToClient: 40,
      statusTotals: [
        [200, 1],
        [502, 2],
      ],
      connectBuckets: [1, 1, 0],
      connectCount: 2,
      connectSumSeconds: 0.002,
    });
    assert.deepEqual(merged.series['1'], [
      { time: 99, connections: 3, bytesFromClient: 0, bytesToClient: 0 },
      { time: 100, connections: 2, bytesFromClient: 2, bytesToClient: 4 },
    ]);
    assert.ok(Object.hasOwn(merged.series, 'constructor'));
  });

  it('sums listener gauges and dropped access-log records', () => {
    const merged = mergeMetrics([
      {
        routes: [route('1')],
        listeners: [{ id: 'tcp://127.0.0.1:1', activeConnections: 2, udpSessions: 0 }],
        accessLogDropped: 1,
      },
      {
        routes: [],
        listeners: [
          { id: 'tcp://127.0.0.1:1', activeConnections: 3, udpSessions: 0 },
          { id: 'udp://127.0.0.1:2', activeConnections: 1, udpSessions: 1 },
        ],
        accessLogDropped: 2,
      },
    ]);
    assert.deepEqual(merged.listeners, [
      { id: 'tcp://127.0.0.1:1', activeConnections: 5, udpSessions: 0 },
      { id: 'udp://127.0.0.1:2', activeConnections: 1, udpSessions: 1 },
    ]);
    assert.equal(merged.accessLogDropped, 3);
    assert.equal(merged.routes.length, 1);
  });

  it('sums handshake counters by code and plugin counters by key and syslog target', () => {
    assert.deepEqual(
      mergeHandshakeStats([
        { completed: 1, resumed: 0, failed: { ERR_TLS_NO_CERTIFICATE: 1 }, pending: 1 },
        {
          completed: 2,
          resumed: 1,
          failed: { ERR_TLS_NO_CERTIFICATE: 2, ERR_PROXY_PROTOCOL: 1 },
          pending: 0,
        },
      ]),
      {
        completed: 3,
        resumed: 1,
        failed: { ERR_TLS_NO_CERTIFICATE: 3, ERR_PROXY_PROTOCOL: 1 },
        pending: 1,
      },
    );
    const sink = {
      target: 'udp://127.0.0.1:514',
      sent: 1,
      dropped: 0,
      failedBatches: 0,
      pending: 1,
    };
    assert.deepEqual(
      mergePluginStats([
        { limitConn: { connections: 2, keys: { k: 2 } }, syslog: [sink] },
        { limitConn: { connections: 1, keys: { k: 1, j: 0 } }, syslog: [{ ...sink, sent: 4 }] },
      ]),
      {
        limitConn: { connections: 3, keys: { k: 3, j: 0 } },
        syslog: [{ ...sink, sent: 5, pending: 2 }],
      },
    );
  });
});

describe('worker assignment', () => {
  const entry = (protocol: 'tcp' | 'udp', port: number): ListenerEntry => ({
    protocol,
    host: '127.0.0.1',
    port,
    tls: false,
    proxyProtocol: false,
    proxyProtocolToUpstream: false,
    configKey: `apisix.stream_proxy.${protocol}[${port}]`,
  });

  it('binds every TCP listener in every worker and each UDP listener in exactly one', () => {
    const listeners = [entry('tcp', 1), entry('udp', 2), entry('udp', 3), entry('udp', 4)];
    assert.deepEqual(assignListeners(listeners, 2), [
      [0, 1, 3],
      [0, 2],
    ]);
    assert.deepEqual(assignListeners(listeners, 1), [[0, 1, 2, 3]]);
  });

  it('hands out connection ids that name their worker, across restarts', () => {
    const seen = new Set<number>();
    for (const generation of [0, 1, 2]) {
      for (const index of [0, 1, 2]) {
        const { first, stride } = connectionIdsFor(index, 3, generation);
        assert.equal(stride, 3);
        for (let k = 0; k < 3; k++) {
          const id: number = first + k * stride;
          assert.ok(Number.isSafeInteger(id));
          assert.equal(workerOfConnection(id, 3), index);
          assert.ok(!seen.has(id), `id ${id} handed out twice`);
          seen.add(id);
        }
      }
    }
    assert.deepEqual(connectionIdsFor(1, 2, 0), { first: 2, stride: 2 });
  });
});
