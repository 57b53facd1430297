import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyConfig, StreamRouteSpec } from '../config';
import {
  config,
  exchange,
  LOOPBACK,
  node,
  serve,
  startEngine,
  startTcpServer,
  upstream,
  withDeadline,
} from '../engine/testing/loopback';
import { createPluginPipeline } from './pipeline';

interface Logged {
  message: string;
  fields?: Record<string, unknown>;
}

function capturingLogger() {
  const errors: Logged[] = [];
  return {
    errors,
    logger: {
      warn: () => undefined,
      error: (message: string, fields?: Record<string, unknown>) =>
        errors.push({ message, fields }),
    },
  };
}

const ROUTE_UPSTREAM = upstream('u', [node(1)]);

function stepsOf(plugins: Record<string, unknown>, options = {}): string[] {
  const pipeline = createPluginPipeline({ logger: capturingLogger().logger, ...options });
  const route: StreamRouteSpec = { id: 'r', upstream: ROUTE_UPSTREAM, plugins };
  const proxyConfig: ProxyConfig = { routes: [route], certificates: [] };
  return pipeline(route, proxyConfig).map((step) => step.name);
}

const ALL = {
  syslog: { host: LOOPBACK, port: 514 },
  prometheus: {},
  'traffic-split': { rules: [{ weighted_upstreams: [{ weight: 1 }] }] },
  'mqtt-proxy': { protocol_level: 4 },
  'limit-conn': { conn: 1, burst: 0, default_conn_delay: 1, key: 'remote_addr' },
  'ip-restriction': { whitelist: ['127.0.0.1'] },
};

describe('plugin pipeline', () => {
  it('orders steps by APISIX priority; prometheus is a marker without a step', () => {
    assert.deepEqual(stepsOf(ALL), [
      'ip-restriction',
      'limit-conn',
      'mqtt-proxy',
      'traffic-split',
      'syslog',
    ]);
    assert.deepEqual(stepsOf({ prometheus: { prefer_name: true } }), []);
  });

  it('skips `_meta.disable: true` and honours `_meta.priority`', () => {
    assert.deepEqual(
      stepsOf({
        ...ALL,
        'ip-restriction': { whitelist: ['127.0.0.1'], _meta: { disable: true } },
        syslog: { host: LOOPBACK, port: 514, _meta: { priority: 5000 } },
        'mqtt-proxy': { protocol_level: 4, _meta: { disable: false } },
      }),
      ['syslog', 'limit-conn', 'mqtt-proxy', 'traffic-split'],
    );
  });

  it('closes connections of a route with an unknown plugin or an unusable conf (500), logging once', async (t) => {
    const backend = await serve(
      t,
      startTcpServer((socket) => socket.end('hello world')),
    );
    const { logger, errors } = capturingLogger();
    const plugins = createPluginPipeline({ logger });
    const { engine, bound, closed } = await startEngine(t, undefined, { prereadPipeline: plugins });
    const route = (extra: Record<string, unknown>) =>
      config({ id: 'x', upstream: upstream('u', [node(backend.port)]), plugins: extra });
    engine.apply(route({ 'no-such-plugin': {} }));
    engine.apply(route({ 'no-such-plugin': {} }));
    const unknown = await withDeadline(exchange(bound[0].port, 'x'), 2000, 'unknown plugin');
    assert.equal(unknown.data.length, 0);
    assert.equal((await closed.nth(1)).status, 500);
    assert.deepEqual(errors, [
      {
        message: 'unknown stream plugin: connections of the route are closed',
        fields: { route: 'x', plugin: 'no-such-plugin' },
      },
    ]);

    engine.apply(route({ 'ip-restriction': { blacklist: ['not-an-ip'] } }));
    const unusable = await withDeadline(exchange(bound[0].port, 'x'), 2000, 'bad conf');
    assert.equal(unusable.data.length, 0);
    assert.equal((await closed.nth(2)).status, 500);
    const second: Logged | undefined = (errors as Logged[])[1];
    assert.match(String(second?.fields?.error), /invalid ip address: not-an-ip/);
    assert.equal(backend.accepted.length, 0);
  });

  it('runs a plugin only for connections matching `_meta.filter`', async (t) => {
    const backend = await serve(
      t,
      startTcpServer((socket) => socket.end('hello world')),
    );
    const { engine, bound } = await startEngine(t);
    engine.apply(
      config({
        id: 'f',
        upstream: upstream('u', [node(backend.port)]),
        plugins: {
          'ip-restriction': {
            blacklist: ['0.0.0.0/0'],
            _meta: { filter: [['remote_addr', '==', '127.0.0.2']] },
          },
        },
      }),
    );
    const unfiltered = await exchange(bound[0].port, 'x', { localAddress: '127.0.0.1' });
    const filtered = await exchange(bound[0].port, 'x', { localAddress: '127.0.0.2' });
    assert.equal(unfiltered.data.toString(), 'hello world');
    assert.equal(filtered.data.length, 0);
  });
});
