import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { HealthChangedEvent } from './health-types';
import {
  config,
  exchange,
  LOOPBACK,
  node,
  refusedPort,
  serve,
  startEngine,
  startTcpServer,
  startTaggedEchoServer,
  upstream,
  waitFor,
  withDeadline,
} from '../engine/testing/loopback';
import type { ProxyEngine } from '../engine/proxy-engine';
import { tcpChecks } from './testing';

/** The first line each of `count` sequential connections reads (the backend's tag). */
async function tags(port: number, count: number): Promise<string[]> {
  const seen: string[] = [];
  for (let index = 0; index < count; index++) {
    seen.push((await exchange(port, '')).data.toString().split('\n')[0]);
  }
  return seen;
}

function nextChange(
  engine: ProxyEngine,
  matches: (event: HealthChangedEvent) => boolean,
  ms: number,
  what: string,
): Promise<HealthChangedEvent> {
  return withDeadline(
    new Promise((resolve) => {
      const listener = (event: HealthChangedEvent) => {
        if (!matches(event)) return;
        engine.off('health:changed', listener);
        resolve(event);
      };
      engine.on('health:changed', listener);
    }),
    ms,
    what,
  );
}

function healthyOf(engine: ProxyEngine, key: string, port: number): boolean | undefined {
  return engine.health(key)?.nodes.find((entry) => entry.node === `${LOOPBACK}:${port}`)?.healthy;
}

describe('health checks through the engine', { concurrency: true }, () => {
  it('a killed node leaves after tcp_failures probes and returns after successes probes', async (t) => {
    const a = await serve(t, startTaggedEchoServer('A'));
    const b = await startTaggedEchoServer('B');
    const { engine, bound } = await startEngine(t);
    const port = bound[0].port;
    const checks = tcpChecks({
      healthyInterval: 1,
      unhealthyInterval: 1,
      unhealthyTcpFailures: 2,
      healthySuccesses: 2,
    });
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u', [node(a.port), node(b.port)], { retries: 0, checks }),
      }),
    );
    assert.deepEqual(
      engine.health().map((entry) => entry.upstreamKey),
      ['u'],
      'the checker starts at apply, before any traffic',
    );

    const killedAt = Date.now();
    const down = nextChange(engine, (event) => !event.healthy, 2600, 'B unhealthy');
    await b.close();
    const event = await down;
    const downAfter = Date.now() - killedAt;
    assert.equal(event.node, `${LOOPBACK}:${b.port}`);
    assert.equal(event.source, 'active');
    assert.match(event.reason, /^active check: 2 probe failures in a row \(.*ECONNREFUSED/);
    // Probes at 1 s and 2 s after apply: the second failure ejects.
    assert.ok(downAfter >= 1800 && downAfter <= 2500, `ejected after ${downAfter} ms`);
    assert.deepEqual(await tags(port, 4), ['A', 'A', 'A', 'A']);

    const revivedAt = Date.now();
    const up = nextChange(engine, (change) => change.healthy, 2600, 'B healthy again');
    const revived = await serve(
      t,
      startTcpServer((socket) => socket.end('B\n'), LOOPBACK, b.port),
    );
    assert.equal(revived.port, b.port);
    await up;
    const upAfter = Date.now() - revivedAt;
    assert.ok(upAfter <= 2500, `back after ${upAfter} ms`);
    const seen = await tags(port, 4);
    assert.ok(seen.includes('A') && seen.includes('B'), seen.join());
  });

  it('scenario 43: the dead priority-1 node fails once, then every connection goes to the live one', async (t) => {
    const live = await serve(t, startTaggedEchoServer('live'));
    const dead = await refusedPort();
    const { engine, bound, closed } = await startEngine(t);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('u43', [node(dead, LOOPBACK, 1), node(live.port, LOOPBACK, 0)], {
          retries: 0,
          checks: tcpChecks({ unhealthyTcpFailures: 1, unhealthyInterval: 1, healthyInterval: 1 }),
        }),
      }),
    );
    const first = await exchange(bound[0].port, 'x');
    assert.equal(first.data.length, 0);
    assert.equal((await closed.nth(1)).status, 502);
    await waitFor(() => healthyOf(engine, 'u43', dead) === false, 1600, 'dead node unhealthy');
    assert.deepEqual(await tags(bound[0].port, 5), ['live', 'live', 'live', 'live', 'live']);
  });

  it('passive connect failures eject a node before any active probe', async (t) => {
    const a = await serve(t, startTaggedEchoServer('A'));
    const dead = await refusedPort();
    const { engine, bound, closed } = await startEngine(t);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('up', [node(a.port), node(dead)], {
          checks: tcpChecks(
            { healthyInterval: 60, unhealthyInterval: 60 },
            { healthySuccesses: 5, unhealthyTcpFailures: 2, unhealthyTimeouts: 7 },
          ),
        }),
      }),
    );
    const ejected = nextChange(engine, () => true, 2000, 'passive ejection');
    for (let index = 0; index < 10 && healthyOf(engine, 'up', dead) !== false; index++) {
      // Retries (nodes - 1) hide the dead node from the client.
      assert.equal((await exchange(bound[0].port, '')).data.toString(), 'A\n');
    }
    const event = await ejected;
    assert.equal(event.source, 'passive');
    assert.equal(event.node, `${LOOPBACK}:${dead}`);
    const state = engine.health('up')?.nodes.find((entry) => entry.node === event.node);
    assert.equal(state?.lastCheckAt, null, 'no active probe has run');
    const before = closed.events.length;
    assert.deepEqual(await tags(bound[0].port, 4), ['A', 'A', 'A', 'A']);
    await closed.nth(before + 4);
    assert.ok(
      closed.events.slice(before).every((summary) => summary.attempts === 1),
      'the ejected node is no longer tried',
    );
  });

  it('when every node is unhealthy, all of them are used', async (t) => {
    const a = await serve(t, startTaggedEchoServer('A'));
    const b = await serve(t, startTaggedEchoServer('B'));
    const probePort = await refusedPort();
    const { engine, bound } = await startEngine(t);
    engine.apply(
      config({
        id: '1',
        upstream: upstream('all', [node(a.port), node(b.port)], {
          // checks.active.port: the probes go to a dead port, the traffic to the live nodes.
          checks: tcpChecks({ port: probePort, unhealthyTcpFailures: 1 }),
        }),
      }),
    );
    await waitFor(
      () => engine.health('all')?.nodes.every((entry) => !entry.healthy) === true,
      1600,
      'both nodes unhealthy',
    );
    const seen = await tags(bound[0].port, 4);
    assert.ok(seen.includes('A') && seen.includes('B'), seen.join());
  });

  it('after close() no timer or socket keeps the process alive', async () => {
    const index = join(__dirname, '..', 'index.js');
    const script = `
      const { createProxyEngine } = require(${JSON.stringify(index)});
      const net = require('node:net');
      (async () => {
        const backend = net.createServer((socket) => socket.end());
        await new Promise((resolve) => backend.listen(0, '127.0.0.1', resolve));
        const engine = createProxyEngine();
        await engine.listen([{ protocol: 'tcp', host: '127.0.0.1', port: 0 }]);
        const checks = { active: { type: 'tcp', timeout: 1, healthyInterval: 0.05,
          healthySuccesses: 1, unhealthyInterval: 0.05, unhealthyTcpFailures: 1, unhealthyTimeouts: 1 } };
        engine.apply({ certificates: [], routes: [{ id: '1', upstream: { key: 'u', version: '1',
          type: 'roundrobin', hashOn: 'vars', scheme: 'tcp', checks,
          nodes: [{ host: '127.0.0.1', port: backend.address().port, weight: 1, priority: 0 }] } }] });
        while (engine.health('u').nodes[0].lastCheckAt === null) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await engine.close();
        backend.close();
        process.stdout.write(JSON.stringify(engine.health()));
      })();
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await withDeadline(
      new Promise<number | null>((resolve) => child.on('exit', resolve)),
      5000,
      'the child process exits by itself',
    ).finally(() => child.kill());
    assert.equal(code, 0);
    assert.equal(output, '[]');
  });
});
