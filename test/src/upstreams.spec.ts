// Upstreams through the running service: upstream_id and service_id (spec 3.6, scenario 47),
// weighted roundrobin and chash, priority fallback and retries (scenario 42), empty nodes
// (scenario 49), a dangling upstream_id, and the connect and idle timeouts of spec 3.9.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBlackhole } from '@strait/fastpath/testing';
import { admin, adminOk } from './support/admin-client';
import { freeTcpPort } from './support/ports';
import {
  exchange,
  openClient,
  startReplyServer,
  startTaggedEchoServer,
  type EchoServer,
  type TaggedEchoServer,
} from './support/sockets';
import { StraitProcess } from './support/strait-process';
import { delay } from './support/wait';

const LISTENERS = [
  'upstreamId',
  'service',
  'wrr',
  'chash',
  'priority',
  'empty',
  'dangling',
  'connectTimeout',
  'idle',
] as const;
type ListenerName = (typeof LISTENERS)[number];

function nodes(...servers: { port: number }[]): Record<string, number> {
  return Object.fromEntries(servers.map((server) => [`127.0.0.1:${server.port}`, 1]));
}

describe('upstreams, services and balancing', () => {
  let strait: StraitProcess;
  let b1: EchoServer;
  let b2: EchoServer;
  let b3: EchoServer;
  let hello: EchoServer;
  let echo: TaggedEchoServer;
  let deadPort: number;
  const port = {} as Record<ListenerName, number>;

  before(async () => {
    b1 = await startReplyServer('b1\n');
    b2 = await startReplyServer('b2\n');
    b3 = await startReplyServer('b3\n');
    hello = await startReplyServer('hello world\n');
    echo = await startTaggedEchoServer('echo');
    // Free on every address: connecting to it on any 127.0.0.x is refused.
    deadPort = await freeTcpPort('0.0.0.0');
    for (const name of LISTENERS) port[name] = await freeTcpPort();
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        ...LISTENERS.map((name) => `    - "127.0.0.1:${port[name]}"`),
      ].join('\n'),
    });
  });

  after(async () => {
    await strait?.stop();
    await Promise.all([b1, b2, b3, hello, echo].map((server) => server?.close()));
  });

  const put = (path: string, body: unknown) =>
    adminOk(strait.adminUrl, 'PUT', `/apisix/admin/${path}`, body);
  const via = async (name: ListenerName, localAddress?: string) =>
    (await exchange(port[name], 'mmm', { localAddress, timeoutMs: 3000 })).data;

  it('upstream_id: the route follows changes of the upstream object', async () => {
    await put('upstreams/u1', { type: 'roundrobin', nodes: nodes(b1) });
    await put('stream_routes/uid', { server_port: port.upstreamId, upstream_id: 'u1' });
    assert.equal(await via('upstreamId'), 'b1\n');
    await put('upstreams/u1', { type: 'roundrobin', nodes: nodes(b2) });
    assert.equal(await via('upstreamId'), 'b2\n');
    const refused = await admin(strait.adminUrl, 'DELETE', '/apisix/admin/upstreams/u1');
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.json, {
      error_msg: 'can not delete this upstream, stream_route [uid] is still using it now',
    });
    assert.equal(await via('upstreamId'), 'b2\n');
  });

  it("scenario 47: service_id, the service's upstream change is picked up, in-use DELETE is 400", async () => {
    await put('services/1', { upstream: { type: 'roundrobin', nodes: nodes(b1) } });
    await put('stream_routes/1', { server_port: port.service, service_id: '1' });
    assert.equal(await via('service'), 'b1\n');
    await put('services/1', { upstream: { type: 'roundrobin', nodes: nodes(b2) } });
    assert.equal(await via('service'), 'b2\n');

    const refused = await admin(strait.adminUrl, 'DELETE', '/apisix/admin/services/1');
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.json, {
      error_msg: 'can not delete this service directly, stream_route [1] is still using it now',
    });
    assert.equal(await via('service'), 'b2\n');

    // spec 3.6: the service's upstream_id works too, and a route's own upstream wins.
    await put('upstreams/u47', { type: 'roundrobin', nodes: nodes(b3) });
    await put('services/1', { upstream_id: 'u47' });
    assert.equal(await via('service'), 'b3\n');
    await put('stream_routes/1', {
      server_port: port.service,
      service_id: '1',
      upstream: { type: 'roundrobin', nodes: nodes(b1) },
    });
    assert.equal(await via('service'), 'b1\n');

    // A service force-deleted under a route that needs it: connections are closed promptly.
    await put('stream_routes/1', { server_port: port.service, service_id: '1' });
    assert.equal(await via('service'), 'b3\n');
    const forced = await admin(strait.adminUrl, 'DELETE', '/apisix/admin/services/1?force=true');
    assert.equal(forced.status, 200, forced.text);
    const started = Date.now();
    assert.equal(await via('service'), '');
    assert.ok(Date.now() - started < 1000, `closed after ${Date.now() - started} ms`);
  });

  it('weighted roundrobin through a service: weights 3:1 give exactly 3:1 in every cycle of 4', async () => {
    await put('services/wrr', {
      upstream: {
        type: 'roundrobin',
        nodes: { [`127.0.0.1:${b1.port}`]: 3, [`127.0.0.1:${b2.port}`]: 1 },
      },
    });
    await put('stream_routes/wrr', { server_port: port.wrr, service_id: 'wrr' });
    const served: string[] = [];
    for (let index = 0; index < 40; index += 1) served.push(await via('wrr'));
    for (let cycle = 0; cycle < 10; cycle += 1) {
      const window = served.slice(cycle * 4, cycle * 4 + 4);
      assert.deepEqual(
        [
          window.filter((name) => name === 'b1\n').length,
          window.filter((name) => name === 'b2\n').length,
        ],
        [3, 1],
        `cycle ${cycle}: ${JSON.stringify(window)}`,
      );
    }
  });

  it('chash on remote_addr: each client address sticks to one node, addresses spread', async () => {
    await put('stream_routes/chash', {
      server_port: port.chash,
      upstream: { type: 'chash', hash_on: 'vars', key: 'remote_addr', nodes: nodes(b1, b2, b3) },
    });
    const byClient = new Map<string, Set<string>>();
    for (let round = 0; round < 3; round += 1) {
      for (let host = 1; host <= 16; host += 1) {
        const client = `127.0.0.${host}`;
        const node = await via('chash', client);
        assert.notEqual(node, '', `${client} round ${round}`);
        byClient.set(client, (byClient.get(client) ?? new Set()).add(node));
      }
    }
    for (const [client, served] of byClient) {
      assert.equal(served.size, 1, `${client} moved between ${[...served].join(', ')}`);
    }
    const used = new Set([...byClient.values()].map((served) => [...served][0]));
    assert.ok(used.size >= 2, `16 client addresses all hashed to ${[...used].join(', ')}`);
  });

  it('scenario 42: priority groups are tried highest first, dead nodes fall through to the next', async () => {
    const dead = (host: string, weight: number, priority: number) => ({
      host,
      port: deadPort,
      weight,
      priority,
    });
    const deadTop = [dead('127.0.0.1', 2, 1), dead('127.0.0.2', 1, 1)];
    const deadMiddle = [dead('127.0.0.3', 2, 0), dead('127.0.0.4', 1, 0)];
    const live = { host: '127.0.0.1', port: hello.port, weight: 2, priority: -1 };
    await put('stream_routes/prio', {
      server_port: port.priority,
      upstream: { type: 'roundrobin', nodes: [...deadTop, ...deadMiddle, live] },
    });
    for (let round = 0; round < 3; round += 1) assert.equal(await via('priority'), 'hello world\n');

    // A live node in the middle group takes every connection: the lowest group is not used.
    await put('stream_routes/prio', {
      server_port: port.priority,
      upstream: {
        type: 'roundrobin',
        nodes: [...deadTop, { host: '127.0.0.1', port: b2.port, weight: 1, priority: 0 }, live],
      },
    });
    for (let round = 0; round < 4; round += 1) assert.equal(await via('priority'), 'b2\n');

    // retries: 0 and a dead top node: the one attempt fails and the client is closed.
    await put('stream_routes/prio', {
      server_port: port.priority,
      upstream: {
        type: 'roundrobin',
        retries: 0,
        nodes: [dead('127.0.0.1', 1, 1), live],
      },
    });
    const started = Date.now();
    assert.equal(await via('priority'), '');
    assert.ok(Date.now() - started < 1000);
  });

  it('scenario 49: an upstream with empty nodes is accepted, its connections are closed at once', async () => {
    const created = await admin(
      strait.adminUrl,
      'PUT',
      '/apisix/admin/upstreams/empty',
      '{"nodes":{}}',
    );
    assert.equal(created.status, 201, created.text);
    await put('stream_routes/empty', { server_port: port.empty, upstream_id: 'empty' });
    const started = Date.now();
    assert.equal(await via('empty'), '');
    assert.ok(Date.now() - started < 1000, `closed after ${Date.now() - started} ms`);
  });

  it('a route whose upstream_id target was force-deleted closes its connections promptly', async () => {
    await put('upstreams/gone', { type: 'roundrobin', nodes: nodes(b1) });
    await put('stream_routes/dangling', { server_port: port.dangling, upstream_id: 'gone' });
    assert.equal(await via('dangling'), 'b1\n');
    assert.equal(
      (await admin(strait.adminUrl, 'DELETE', '/apisix/admin/upstreams/gone')).status,
      400,
    );
    const forced = await admin(
      strait.adminUrl,
      'DELETE',
      '/apisix/admin/upstreams/gone?force=true',
    );
    assert.equal(forced.status, 200, forced.text);
    const accepted = b1.accepted;
    const started = Date.now();
    assert.equal(await via('dangling'), '');
    assert.ok(Date.now() - started < 1000, `closed after ${Date.now() - started} ms`);
    assert.equal(b1.accepted, accepted);
    // Re-creating the upstream heals the route.
    await put('upstreams/gone', { type: 'roundrobin', nodes: nodes(b3) });
    assert.equal(await via('dangling'), 'b3\n');
  });

  it('timeout.connect bounds a connect to a node that drops SYNs', async (t) => {
    const blackhole = await startBlackhole();
    try {
      await put('stream_routes/ct', {
        server_port: port.connectTimeout,
        upstream: {
          type: 'roundrobin',
          nodes: { [`127.0.0.1:${blackhole.port}`]: 1 },
          timeout: { connect: 0.2, send: 5, read: 5 },
        },
      });
      const client = await openClient(port.connectTimeout);
      const opened = Date.now();
      const outcome = await client.closed;
      const elapsed = outcome.closedAt - opened;
      t.diagnostic(`connect timeout 0.2 s: client closed after ${elapsed} ms`);
      assert.equal(outcome.data, '');
      assert.ok(elapsed >= 150 && elapsed < 1000, `closed after ${elapsed} ms`);
    } finally {
      await blackhole.close();
    }
  });

  it('the idle timeout is max(send, read): traffic keeps the connection, 0.5 s of silence ends it', async (t) => {
    await put('stream_routes/idle', {
      server_port: port.idle,
      upstream: {
        type: 'roundrobin',
        nodes: nodes(echo),
        timeout: { connect: 1, send: 0.5, read: 0.2 },
      },
    });
    const client = await openClient(port.idle);
    await client.waitForData('echo\n');
    // Activity every 200 ms for a second: longer than the timeout in total, never idle that long.
    for (let round = 0; round < 5; round += 1) {
      await delay(200);
      await client.roundTrip(`ping${round}`, `echo:ping${round}`);
    }
    const lastActivity = Date.now();
    const outcome = await client.closed;
    const idle = outcome.closedAt - lastActivity;
    t.diagnostic(`idle timeout 0.5 s: closed after ${idle} ms of silence`);
    assert.ok(idle >= 400 && idle < 1500, `closed after ${idle} ms of silence`);
    assert.equal(outcome.data, 'echo\necho:ping0echo:ping1echo:ping2echo:ping3echo:ping4');
  });
});
