import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  config,
  exchange,
  LOOPBACK,
  node,
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

async function connectMany(port: number, count: number, localAddress?: string): Promise<string[]> {
  const tags: string[] = [];
  for (let done = 0; done < count; done += 30) {
    const batch = Array.from({ length: Math.min(30, count - done) }, () =>
      exchange(port, '', { localAddress }),
    );
    for (const result of await withDeadline(Promise.all(batch), 5000, 'batch of clients')) {
      tags.push(result.data.toString().trim());
    }
  }
  return tags;
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

describe('traffic-split', () => {
  it('splits 300 connections by weight exactly (smooth WRR), route upstream included', async (t) => {
    const b0 = await serve(t, startTaggedEchoServer('B0'));
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const b2 = await serve(t, startTaggedEchoServer('B2'));
    const { engine, bound } = await startEngine(t);
    engine.apply(
      config({
        id: 'canary',
        upstream: upstream('route', [node(b0.port)]),
        plugins: {
          'traffic-split': {
            rules: [
              {
                weighted_upstreams: [
                  { upstream: upstream('/apisix/upstreams/1', [node(b1.port)]), weight: 1 },
                  { upstream: upstream('/apisix/upstreams/2', [node(b2.port)]), weight: 2 },
                  { weight: 3 },
                  { upstream: upstream('/apisix/upstreams/3', [node(b2.port)]), weight: 0 },
                ],
              },
            ],
          },
        },
      }),
    );
    const tags = await connectMany(bound[0].port, 300);
    assert.deepEqual(countBy(tags), { B0: 150, B1: 50, B2: 100 });
    // Smooth: one at a time, every window of 6 picks has the exact split, interleaved.
    const sequence: string[] = [];
    for (let index = 0; index < 12; index++)
      sequence.push(...(await connectMany(bound[0].port, 1)));
    for (let start = 0; start < 12; start += 6) {
      assert.deepEqual(countBy(sequence.slice(start, start + 6)), { B0: 3, B1: 1, B2: 2 });
    }
    assert.ok(!sequence.join(',').includes('B0,B0,B0'), sequence.join(','));
  });

  it('keeps the round-robin position across apply() while the rule is unchanged', async (t) => {
    const b0 = await serve(t, startTaggedEchoServer('B0'));
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const { engine, bound } = await startEngine(t);
    const apply = () =>
      engine.apply(
        config({
          id: 'canary',
          upstream: upstream('route', [node(b0.port)]),
          plugins: {
            'traffic-split': {
              rules: [
                {
                  weighted_upstreams: [
                    { upstream: upstream('/apisix/upstreams/1', [node(b1.port)]) },
                    { weight: 1 },
                  ],
                },
              ],
            },
          },
        }),
      );
    const sequence: string[] = [];
    for (let index = 0; index < 4; index++) {
      apply(); // an unrelated change re-applies the same conf each time
      sequence.push(...(await connectMany(bound[0].port, 1)));
    }
    assert.deepEqual(sequence, ['B1', 'B0', 'B1', 'B0']);
  });

  it('picks the first rule whose match passes, on stream variables', async (t) => {
    const b0 = await serve(t, startTaggedEchoServer('B0'));
    const b1 = await serve(t, startTaggedEchoServer('B1'));
    const b2 = await serve(t, startTaggedEchoServer('B2'));
    const { engine, bound } = await startEngine(t);
    engine.apply(
      config({
        id: 'split',
        upstream: upstream('route', [node(b0.port)]),
        plugins: {
          'traffic-split': {
            rules: [
              {
                match: [
                  { vars: [['remote_addr', '==', '127.0.0.2']] },
                  { vars: [['remote_addr', 'ipmatch', ['127.0.3.0/24']]] },
                ],
                weighted_upstreams: [{ upstream: upstream('u1', [node(b1.port)]) }],
              },
              {
                match: [
                  {
                    vars: [
                      ['server_port', '>', 0],
                      ['remote_addr', '~~', '^127\\.0\\.0\\.4$'],
                    ],
                  },
                ],
                weighted_upstreams: [{ upstream: upstream('u2', [node(b2.port)]) }],
              },
            ],
          },
        },
      }),
    );
    const from = async (localAddress: string) =>
      (await exchange(bound[0].port, '', { localAddress })).data.toString().trim();
    assert.equal(await from('127.0.0.2'), 'B1');
    assert.equal(await from('127.0.3.9'), 'B1');
    assert.equal(await from('127.0.0.4'), 'B2');
    assert.equal(await from('127.0.0.1'), 'B0'); // no rule matched: the route's upstream
  });

  it('closes with 500 when a rule names an upstream_id that does not exist', async (t) => {
    const b0 = await serve(t, startTaggedEchoServer('B0'));
    const logged: string[] = [];
    const plugins = createPluginPipeline({
      logger: { warn: () => undefined, error: (message) => logged.push(message) },
    });
    const { engine, bound, closed } = await startEngine(t, undefined, { prereadPipeline: plugins });
    engine.apply(
      config({
        id: 'dangling',
        upstream: upstream('route', [node(b0.port)]),
        plugins: {
          'traffic-split': {
            rules: [{ weighted_upstreams: [{ upstream_id: 'gone', weight: 1 }] }],
          },
        },
      }),
    );
    const result = await withDeadline(exchange(bound[0].port, 'x'), 2000, 'dangling upstream_id');
    assert.equal(result.data.length, 0);
    assert.equal((await closed.nth(1)).status, 500);
    assert.deepEqual(logged, ['traffic-split: failed to fetch upstream info by upstream id']);
  });

  it('splits UDP sessions on their first datagram', async (t) => {
    const u0 = await serve(t, startUdpServer('U0'));
    const u1 = await serve(t, startUdpServer('U1'));
    const { engine, bound } = await startEngine(t, [{ protocol: 'udp', host: LOOPBACK, port: 0 }]);
    engine.apply(
      config({
        id: 'udp',
        upstream: upstream('route', [node(u0.port)]),
        plugins: {
          'traffic-split': {
            rules: [
              {
                weighted_upstreams: [
                  { upstream: upstream('u1', [node(u1.port)]), weight: 1 },
                  { weight: 1 },
                ],
              },
            ],
          },
        },
      }),
    );
    const clients = [await serve(t, startUdpClient()), await serve(t, startUdpClient())];
    for (const client of clients) client.send(bound[0].port, 'hi');
    await waitFor(() => clients.every((client) => client.received.length === 1), 2000, 'replies');
    assert.deepEqual(clients.map((client) => client.received[0]).sort(), ['U0:0:hi', 'U1:0:hi']);
    // Later datagrams of a session stay on the upstream its first one picked.
    for (const client of clients) client.send(bound[0].port, 'again');
    await waitFor(() => clients.every((client) => client.received.length === 2), 2000, 'replies');
    for (const client of clients) {
      assert.equal(client.received[1].slice(0, 3), client.received[0].slice(0, 3));
    }
  });
});
