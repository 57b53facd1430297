// Strait's runtime endpoints through the running service, checked against real connections:
// /strait/v1/status, the live connection table (list, close one, drain a node), the route-match
// debugger, and the viewer role's read-only access.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { admin, adminOk } from './support/admin-client';
import { freeTcpPort } from './support/ports';
import {
  exchange,
  openClient,
  startReplyServer,
  startTaggedEchoServer,
  type EchoServer,
  type OpenClient,
  type TaggedEchoServer,
} from './support/sockets';
import { StraitProcess, VIEWER_KEY } from './support/strait-process';
import { withDeadline } from './support/wait';

interface LiveRow {
  id: number;
  protocol: string;
  listenerId: string;
  remoteAddr: string;
  remotePort: number;
  serverAddr: string;
  serverPort: number;
  routeId?: string;
  node?: string;
  phase: string;
  bytesFromClient: number;
  bytesToClient: number;
  ageMs: number;
}

describe('runtime endpoints', () => {
  let strait: StraitProcess;
  let e1: TaggedEchoServer;
  let e2: TaggedEchoServer;
  let b1: EchoServer;
  let b2: EchoServer;
  let b3: EchoServer;
  const port = { conn: 0, other: 0, match: 0, none: 0 };
  const clients: OpenClient[] = [];

  before(async () => {
    e1 = await startTaggedEchoServer('e1');
    e2 = await startTaggedEchoServer('e2');
    b1 = await startReplyServer('b1\n');
    b2 = await startReplyServer('b2\n');
    b3 = await startReplyServer('b3\n');
    port.conn = await freeTcpPort();
    port.other = await freeTcpPort();
    port.match = await freeTcpPort('0.0.0.0');
    port.none = await freeTcpPort();
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        `    - "127.0.0.1:${port.conn}"`,
        `    - "127.0.0.1:${port.other}"`,
        `    - ${port.match}`,
        `    - "127.0.0.1:${port.none}"`,
      ].join('\n'),
    });
    const route = (id: string, body: object) =>
      adminOk(strait.adminUrl, 'PUT', `/apisix/admin/stream_routes/${id}`, body);
    const to = (server: { port: number }) => ({
      type: 'roundrobin',
      nodes: { [`127.0.0.1:${server.port}`]: 1 },
    });
    await route('conn', { server_port: port.conn, upstream: to(e1) });
    await route('other', { server_port: port.other, upstream: to(e2) });
    await route('m-remote', {
      server_port: port.match,
      remote_addr: '127.0.0.2',
      upstream: to(b1),
    });
    await route('m-addr', { server_port: port.match, server_addr: '127.0.0.10', upstream: to(b3) });
    await route('m-port', { server_port: port.match, upstream: to(b2) });
  });

  after(async () => {
    for (const client of clients) client.socket.destroy();
    await strait?.stop();
    await Promise.all([e1, e2, b1, b2, b3].map((server) => server?.close()));
  });

  const open = async (listenPort: number, tag: string) => {
    const client = await openClient(listenPort);
    clients.push(client);
    await client.waitForData(`${tag}\n`);
    return client;
  };
  const list = async (query = '') =>
    (await adminOk(strait.adminUrl, 'GET', `/strait/v1/connections${query}`)).json as {
      list: LiveRow[];
      total: number;
    };
  const rowOf = async (client: OpenClient) =>
    (await list()).list.find((row) => row.remotePort === client.socket.localPort);

  it('GET /strait/v1/status: listeners up, object counts, active connections', async () => {
    const client = await open(port.conn, 'e1');
    const status = (await adminOk(strait.adminUrl, 'GET', '/strait/v1/status')).json;
    assert.equal(status.streamEnabled, true);
    assert.deepEqual(
      status.listeners.map((listener: { id: string; up: boolean }) => [listener.id, listener.up]),
      [
        [`tcp://127.0.0.1:${port.conn}`, true],
        [`tcp://127.0.0.1:${port.other}`, true],
        [`tcp://0.0.0.0:${port.match}`, true],
        [`tcp://127.0.0.1:${port.none}`, true],
      ],
    );
    assert.deepEqual(status.counts, { stream_routes: 5, upstreams: 0, ssls: 0, services: 0 });
    assert.equal(status.activeConnections, 1);
    client.socket.destroy();
    await client.closed;
  });

  it('GET /strait/v1/connections shows an open connection with its route, node and bytes', async () => {
    const client = await open(port.conn, 'e1');
    await client.roundTrip('hello', 'e1:hello');
    const row = await rowOf(client);
    assert.ok(row, 'the connection is listed');
    assert.deepEqual(
      {
        protocol: row.protocol,
        listenerId: row.listenerId,
        remoteAddr: row.remoteAddr,
        serverAddr: row.serverAddr,
        serverPort: row.serverPort,
        routeId: row.routeId,
        node: row.node,
        phase: row.phase,
        bytesFromClient: row.bytesFromClient,
        bytesToClient: row.bytesToClient,
      },
      {
        protocol: 'tcp',
        listenerId: `tcp://127.0.0.1:${port.conn}`,
        remoteAddr: '127.0.0.1',
        serverAddr: '127.0.0.1',
        serverPort: port.conn,
        routeId: 'conn',
        node: `127.0.0.1:${e1.port}`,
        phase: 'relaying',
        bytesFromClient: 'hello'.length,
        bytesToClient: 'e1\ne1:hello'.length,
      },
    );
    assert.equal((await list('?route_id=conn')).total, 1);
    assert.equal((await list(`?node=127.0.0.1:${e1.port}`)).total, 1);
    assert.equal((await list('?route_id=other')).total, 0);
  });

  it('DELETE /strait/v1/connections/:id closes it and the client sees the close', async () => {
    const client = await open(port.conn, 'e1');
    const row = await rowOf(client);
    assert.ok(row);
    const closed = await adminOk(strait.adminUrl, 'DELETE', `/strait/v1/connections/${row.id}`);
    assert.deepEqual(closed.json, { closed: 1 });
    await withDeadline(client.closed, 1000, 'the client to see the close');
    const again = await admin(strait.adminUrl, 'DELETE', `/strait/v1/connections/${row.id}`);
    assert.equal(again.status, 404);
    assert.equal(await rowOf(client), undefined);
  });

  it('DELETE /strait/v1/connections?node=host:port closes every connection to that node only', async () => {
    for (const client of clients) client.socket.destroy();
    const toE1 = [
      await open(port.conn, 'e1'),
      await open(port.conn, 'e1'),
      await open(port.conn, 'e1'),
    ];
    const toE2 = await open(port.other, 'e2');
    const drained = await adminOk(
      strait.adminUrl,
      'DELETE',
      `/strait/v1/connections?node=127.0.0.1:${e1.port}`,
    );
    assert.deepEqual(drained.json, { closed: 3 });
    await withDeadline(Promise.all(toE1.map((client) => client.closed)), 1000, 'e1 clients closed');
    await toE2.roundTrip('still', 'e2:still');
    assert.equal((await admin(strait.adminUrl, 'DELETE', '/strait/v1/connections')).status, 400);
  });

  it('POST /strait/v1/match agrees with real connections, naming what the others failed', async () => {
    const match = async (remote: string, server: string, serverPort: number) =>
      (
        await adminOk(strait.adminUrl, 'POST', '/strait/v1/match', {
          remote_addr: remote,
          server_addr: server,
          server_port: serverPort,
        })
      ).json as { matched: string | null; others: { id: string; failed: string }[] };
    const failures = (answer: { others: { id: string; failed: string }[] }) =>
      Object.fromEntries(answer.others.map((other) => [other.id, other.failed]));

    const plain = await match('127.0.0.1', '127.0.0.1', port.match);
    assert.equal(plain.matched, 'm-port');
    assert.deepEqual(failures(plain), {
      conn: 'server_port',
      other: 'server_port',
      'm-remote': 'remote_addr',
      'm-addr': 'server_addr',
    });
    assert.equal((await exchange(port.match, 'x')).data, 'b2\n');

    const fromTwo = await match('127.0.0.2', '127.0.0.1', port.match);
    assert.equal(fromTwo.matched, 'm-remote');
    assert.equal(failures(fromTwo)['m-port'], 'shadowed');
    assert.equal((await exchange(port.match, 'x', { localAddress: '127.0.0.2' })).data, 'b1\n');

    const toTen = await match('127.0.0.1', '127.0.0.10', port.match);
    assert.equal(toTen.matched, 'm-addr');
    assert.equal(failures(toTen)['m-remote'], 'remote_addr');
    assert.equal((await exchange(port.match, 'x', { host: '127.0.0.10' })).data, 'b3\n');

    const nothing = await match('127.0.0.1', '127.0.0.1', port.none);
    assert.equal(nothing.matched, null);
    assert.equal(nothing.others.length, 5);
    assert.ok(nothing.others.every((other) => other.failed === 'server_port'));
    assert.equal((await exchange(port.none, 'x')).data, '');
  });

  it('the viewer key can read the runtime endpoints (and ask the debugger) but cannot close connections', async () => {
    const client = await open(port.other, 'e2');
    const asViewer = (method: string, path: string, body?: unknown) =>
      admin(strait.adminUrl, method, path, body, { key: VIEWER_KEY });
    assert.equal((await asViewer('GET', '/strait/v1/status')).status, 200);
    const listed = await asViewer('GET', '/strait/v1/connections');
    assert.equal(listed.status, 200);
    const row = (listed.json.list as LiveRow[]).find(
      (candidate) => candidate.remotePort === client.socket.localPort,
    );
    assert.ok(row);
    for (const path of [
      `/strait/v1/connections/${row.id}`,
      `/strait/v1/connections?node=${row.node}`,
    ]) {
      const refused = await asViewer('DELETE', path);
      assert.equal(refused.status, 401, path);
      assert.equal(refused.json.description, 'invalid method for role viewer');
    }
    await client.roundTrip('alive', 'e2:alive');
    // The match debugger only reads, so a viewer may POST to it.
    const explained = await asViewer('POST', '/strait/v1/match', {
      remote_addr: '127.0.0.1',
      server_addr: '127.0.0.1',
      server_port: port.other,
    });
    assert.equal(explained.status, 200, explained.text);
    const anonymous = await admin(strait.adminUrl, 'GET', '/strait/v1/connections', undefined, {
      key: null,
    });
    assert.equal(anonymous.status, 401);
  });
});
