// Faults on the upstream side, measured through the running service: a backend process
// SIGKILLed in the middle of transfers, and nodes that refuse or never answer (blackholed
// SYNs) with connect timeouts, retries and retry_timeout. The client must never wait past the
// configured bounds, and nothing else may be disturbed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBlackhole } from '@strait/fastpath/testing';
import { adminOk } from './support/admin-client';
import { startStreamingBackendProcess } from './support/backend-process';
import { countingClient } from './support/byte-clients';
import { freeTcpPort } from './support/ports';
import { ms, percentile, recordReliability } from './support/reliability-report';
import {
  exchange,
  openClient,
  startReplyServer,
  startTaggedEchoServer,
  type EchoServer,
  type TaggedEchoServer,
} from './support/sockets';
import { StraitProcess } from './support/strait-process';
import { activeConnections } from './support/strait-runtime';
import { withDeadline } from './support/wait';

/** Slack on top of a configured bound for a loaded 2-core machine (timers, scheduling). */
const SLACK_MS = 400;

describe('upstream faults', { timeout: 90_000 }, () => {
  let strait: StraitProcess;
  let live: EchoServer;
  let steady: TaggedEchoServer;
  let refusedPort: number;
  const port = { killed: 0, steady: 0, retry: 0 };

  before(async () => {
    live = await startReplyServer('live\n');
    steady = await startTaggedEchoServer('steady');
    refusedPort = await freeTcpPort('0.0.0.0');
    port.killed = await freeTcpPort();
    port.steady = await freeTcpPort();
    port.retry = await freeTcpPort();
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        `    - "127.0.0.1:${port.killed}"`,
        `    - "127.0.0.1:${port.steady}"`,
        `    - "127.0.0.1:${port.retry}"`,
      ].join('\n'),
    });
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/steady', {
      server_port: port.steady,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${steady.port}`]: 1 } },
    });
  });

  after(async () => {
    await strait?.stop();
    await Promise.all([live?.close(), steady?.close()]);
  });

  it('a backend SIGKILLed mid-transfer: its clients see the close promptly, other connections keep flowing, the service stays up', async (t) => {
    const backend = await startStreamingBackendProcess();
    t.after(() => backend.stop());
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/killed', {
      server_port: port.killed,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${backend.port}`]: 1 } },
    });
    // Five clients downloading from the doomed backend, five uploading to it at the same time.
    const downloading = await Promise.all(
      Array.from({ length: 5 }, () => countingClient(port.killed)),
    );
    const uploading = await Promise.all(
      Array.from({ length: 5 }, () => countingClient(port.killed)),
    );
    const upload = Buffer.alloc(64 * 1024, 'u');
    const uploaders = uploading.map((client) => {
      const timer = setInterval(() => {
        if (!client.isClosed && client.socket.writableLength < 1 << 20) client.socket.write(upload);
      }, 5);
      return timer;
    });
    t.after(() => uploaders.forEach((timer) => clearInterval(timer)));
    const others = await Promise.all(Array.from({ length: 5 }, () => openClient(port.steady)));
    for (const [index, other] of others.entries())
      await other.roundTrip(`pre${index}`, `steady:pre${index}`);
    await Promise.all(downloading.map((client) => client.waitForBytes(512 * 1024)));
    await Promise.all(uploading.map((client) => client.waitForBytes(256 * 1024)));

    const killedAt = await backend.kill();
    const outcomes = await withDeadline(
      Promise.all([...downloading, ...uploading].map((client) => client.closed)),
      5000,
      'every client of the killed backend to see its connection close',
    );
    const closeDelays = outcomes.map((outcome) => outcome.closedAt - killedAt);
    uploaders.forEach((timer) => clearInterval(timer));
    const resets = outcomes.filter((outcome) => outcome.errorCode === 'ECONNRESET').length;
    assert.ok(
      Math.max(...closeDelays) < 1000,
      `closed ${closeDelays.join(', ')} ms after the kill`,
    );

    // Everything else is untouched: the other connections still answer, in order.
    for (const [index, other] of others.entries()) {
      assert.equal(other.isClosed, false, `steady connection ${index} was closed`);
      await other.roundTrip(`post${index}`, `steady:post${index}`);
    }
    assert.ok(strait.running, 'the service is still running');
    assert.equal(
      await activeConnections(strait.adminUrl),
      5,
      'only the five steady connections are left',
    );
    // A new connection to the dead node is refused upstream and closed at once (502).
    const started = Date.now();
    assert.equal((await exchange(port.killed, 'again', { timeoutMs: 3000 })).data, '');
    const refusedAfter = Date.now() - started;
    assert.ok(refusedAfter < 1000);
    const fatal = strait.output.filter((line) =>
      /uncaught|unhandled|"level":"(error|fatal)"/i.test(line),
    );
    assert.deepEqual(fatal, [], 'no uncaught errors in the service log');
    for (const other of others) other.socket.end();
    await Promise.all(others.map((other) => other.closed));
    t.diagnostic(`close after kill: ${closeDelays.join(', ')} ms; ${resets} resets`);
    recordReliability({
      section: 'Faults',
      title: 'Upstream process SIGKILLed in the middle of transfers',
      checked:
        'all ten clients of the killed backend (five downloading, five uploading) saw their connection close ' +
        'within 1 s; the five connections on another route kept answering in order; the service stayed up ' +
        'with no error logged; a new connection to the dead node was closed at once.',
      facts: {
        'clients on the killed backend': outcomes.length,
        'bytes received per downloading client before the kill (min)': Math.min(
          ...downloading.map((c) => c.bytes),
        ),
        'close seen after the kill: min / max': `${ms(Math.min(...closeDelays))} / ${ms(Math.max(...closeDelays))}`,
        'closed with a reset / with FIN': `${resets} / ${outcomes.length - resets}`,
        'other connections disturbed': 0,
        'new connection to the dead node closed after': ms(refusedAfter),
      },
    });
  });

  interface Attempt {
    data: string;
    waitedMs: number;
  }

  /** `count` clients at once; each waits for the reply or the close, and reports how long. */
  async function attempts(count: number): Promise<Attempt[]> {
    return Promise.all(
      Array.from({ length: count }, async () => {
        const started = Date.now();
        const { data } = await exchange(port.retry, 'mmm', { timeoutMs: 10_000 });
        return { data, waitedMs: Date.now() - started };
      }),
    );
  }

  it('blackholed and refusing nodes: connect timeout, then retry to the next node, within the configured bounds', async (t) => {
    const holes = await Promise.all([startBlackhole(), startBlackhole(), startBlackhole()]);
    t.after(() => Promise.all(holes.map((hole) => hole.close())));
    const node = (nodePort: number, priority: number) => ({
      host: '127.0.0.1',
      port: nodePort,
      weight: 1,
      priority,
    });
    const route = (upstream: object) =>
      adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/retry', {
        server_port: port.retry,
        upstream: { type: 'roundrobin', ...upstream },
      });
    const facts: Record<string, string | number> = {};
    const summarize = (label: string, results: Attempt[], bound: number) => {
      const waits = results.map((result) => result.waitedMs);
      facts[label] =
        `${results.length} clients; waited p50 ${ms(percentile(waits, 50))}, max ${ms(Math.max(...waits))} ` +
        `(bound ${bound} ms)`;
      t.diagnostic(`${label}: ${facts[label]}`);
      return waits;
    };

    // 1. blackhole (highest priority), then a refusing node, then a live one: 0.4 s + ~0 + reply.
    await route({
      timeout: { connect: 0.4, send: 5, read: 5 },
      nodes: [node(holes[0].port, 2), node(refusedPort, 1), node(live.port, 0)],
    });
    let results = await attempts(20);
    let waits = summarize(
      'blackhole → refused → live (connect 0.4 s, default retries)',
      results,
      400 + SLACK_MS,
    );
    assert.ok(
      results.every((result) => result.data === 'live\n'),
      JSON.stringify(results),
    );
    assert.ok(
      Math.min(...waits) >= 350,
      `min ${Math.min(...waits)} ms: the blackhole was tried first`,
    );
    assert.ok(Math.max(...waits) < 400 + SLACK_MS, `max ${Math.max(...waits)} ms`);

    // 2. Nothing answers: three timeouts of 0.3 s, then the client is closed without a byte.
    await route({
      timeout: { connect: 0.3, send: 5, read: 5 },
      nodes: [node(holes[0].port, 3), node(holes[1].port, 2), node(holes[2].port, 1)],
    });
    results = await attempts(10);
    waits = summarize(
      'three blackholes (connect 0.3 s, default retries = 2)',
      results,
      900 + SLACK_MS,
    );
    assert.ok(results.every((result) => result.data === ''));
    assert.ok(Math.min(...waits) >= 850, `min ${Math.min(...waits)} ms: all three were tried`);
    assert.ok(Math.max(...waits) < 900 + SLACK_MS, `max ${Math.max(...waits)} ms`);

    // 3. retries: 1 stops after two attempts even though a live node is next.
    await route({
      retries: 1,
      timeout: { connect: 0.3, send: 5, read: 5 },
      nodes: [node(holes[0].port, 3), node(holes[1].port, 2), node(live.port, 1)],
    });
    results = await attempts(10);
    waits = summarize('retries: 1 over blackhole, blackhole, live', results, 600 + SLACK_MS);
    assert.ok(
      results.every((result) => result.data === ''),
      'the live node is never reached',
    );
    assert.ok(Math.min(...waits) >= 550 && Math.max(...waits) < 600 + SLACK_MS);

    // 4. retry_timeout 0.5 s cuts the retries short: attempt 1 ends at 0.4 s, attempt 2 starts
    //    within the deadline and ends at 0.8 s, the third would start past it and is not made.
    await route({
      retries: 3,
      retry_timeout: 0.5,
      timeout: { connect: 0.4, send: 5, read: 5 },
      nodes: [
        node(holes[0].port, 3),
        node(holes[1].port, 2),
        node(holes[2].port, 1),
        node(live.port, 0),
      ],
    });
    results = await attempts(10);
    waits = summarize('retry_timeout 0.5 s, connect 0.4 s, retries 3', results, 800 + SLACK_MS);
    assert.ok(
      results.every((result) => result.data === ''),
      'gave up before the live node',
    );
    assert.ok(Math.min(...waits) >= 750 && Math.max(...waits) < 800 + SLACK_MS);

    // 5. retries: 0 and a refusing node: closed at once, no second attempt.
    await route({ retries: 0, nodes: [node(refusedPort, 1), node(live.port, 0)] });
    results = await attempts(10);
    waits = summarize('retries: 0, refusing node first', results, SLACK_MS);
    assert.ok(results.every((result) => result.data === ''));
    assert.ok(Math.max(...waits) < SLACK_MS);

    assert.ok(strait.running);
    recordReliability({
      section: 'Faults',
      title: 'Blackholed and refusing nodes: connect timeout, retries, retry_timeout',
      checked:
        'blackholed nodes (SYNs dropped) time out at timeout.connect and the next node is tried; a refusing ' +
        'node is skipped at once; retries and retry_timeout cap the attempts; every client, measured from its ' +
        'connect to its reply or close, waited at least the expected attempts and never past the bound.',
      facts,
    });
  });
});
