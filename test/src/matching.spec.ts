// Stream route matching through the running service (spec 3.4): server_port, server_addr and
// remote_addr (IP and CIDR, v4 and v6) filters, store order among equals, and no match closes
// the connection without a byte.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { admin, adminOk } from './support/admin-client';
import { freeTcpPort } from './support/ports';
import { exchange, startReplyServer, type EchoServer } from './support/sockets';
import { StraitProcess } from './support/strait-process';

function upstream(server: EchoServer) {
  return { nodes: { [`127.0.0.1:${server.port}`]: 1 }, type: 'roundrobin' };
}

describe('stream route matching', () => {
  let strait: StraitProcess;
  let b1: EchoServer;
  let b2: EchoServer;
  let b3: EchoServer;
  const port = { a: 0, b: 0, wildcard: 0, cidr: 0, v6: 0, none: 0, order: 0 };

  before(async () => {
    b1 = await startReplyServer('b1\n');
    b2 = await startReplyServer('b2\n');
    b3 = await startReplyServer('b3\n');
    port.a = await freeTcpPort();
    port.b = await freeTcpPort();
    port.wildcard = await freeTcpPort('0.0.0.0');
    port.cidr = await freeTcpPort();
    port.v6 = await freeTcpPort('::1');
    port.none = await freeTcpPort();
    port.order = await freeTcpPort();
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        `    - "127.0.0.1:${port.a}"`,
        `    - "127.0.0.1:${port.b}"`,
        `    - ${port.wildcard}`,
        `    - "127.0.0.1:${port.cidr}"`,
        `    - "[::1]:${port.v6}"`,
        `    - "127.0.0.1:${port.none}"`,
        `    - "127.0.0.1:${port.order}"`,
      ].join('\n'),
    });
  });

  after(async () => {
    await strait?.stop();
    await Promise.all([b1, b2, b3].map((server) => server?.close()));
  });

  const put = (id: string, body: unknown) =>
    adminOk(strait.adminUrl, 'PUT', `/apisix/admin/stream_routes/${id}`, body);

  it('scenario 36: server_port sends each listener to its own route', async () => {
    await put('A', { server_port: port.a, upstream: upstream(b1) });
    await put('B', { server_port: port.b, upstream: upstream(b2) });
    for (let round = 0; round < 3; round += 1) {
      assert.equal((await exchange(port.a, 'mmm')).data, 'b1\n');
      assert.equal((await exchange(port.b, 'mmm')).data, 'b2\n');
    }
  });

  it('scenario 36: server_addr 127.0.0.10 only matches connections to that local address', async () => {
    await put('addr', {
      server_addr: '127.0.0.10',
      server_port: port.wildcard,
      upstream: upstream(b3),
    });
    assert.equal((await exchange(port.wildcard, 'mmm', { host: '127.0.0.10' })).data, 'b3\n');
    const accepted = b3.accepted;
    assert.equal((await exchange(port.wildcard, 'mmm', { host: '127.0.0.1' })).data, '');
    assert.equal((await exchange(port.wildcard, 'mmm', { host: '127.0.0.11' })).data, '');
    assert.equal(b3.accepted, accepted);
  });

  it('remote_addr as a CIDR, from clients bound to other loopback addresses', async () => {
    await put('cidr', {
      remote_addr: '127.0.0.2/31',
      server_port: port.cidr,
      upstream: upstream(b1),
    });
    const from = async (localAddress: string) =>
      (await exchange(port.cidr, 'mmm', { localAddress })).data;
    assert.deepEqual(
      {
        '127.0.0.1': await from('127.0.0.1'),
        '127.0.0.2': await from('127.0.0.2'),
        '127.0.0.3': await from('127.0.0.3'),
        '127.0.0.4': await from('127.0.0.4'),
      },
      { '127.0.0.1': '', '127.0.0.2': 'b1\n', '127.0.0.3': 'b1\n', '127.0.0.4': '' },
    );
    // A single address is a /32: only that client.
    await put('cidr', { remote_addr: '127.0.0.4', server_port: port.cidr, upstream: upstream(b1) });
    assert.equal(await from('127.0.0.4'), 'b1\n');
    assert.equal(await from('127.0.0.2'), '');
  });

  it('remote_addr and server_addr in IPv6 on an [::1] listener', async () => {
    await put('v6', { remote_addr: '::1/128', server_addr: '::1', upstream: upstream(b2) });
    assert.equal((await exchange(port.v6, 'mmm', { host: '::1' })).data, 'b2\n');
    await put('v6', { remote_addr: '2001:db8::/32', server_addr: '::1', upstream: upstream(b2) });
    assert.equal((await exchange(port.v6, 'mmm', { host: '::1' })).data, '');
    await admin(strait.adminUrl, 'DELETE', '/apisix/admin/stream_routes/v6');
  });

  it('no matching route: the connection is closed promptly without a byte', async () => {
    const accepted = [b1.accepted, b2.accepted, b3.accepted];
    const started = Date.now();
    const outcome = await exchange(port.none, 'some request bytes', { timeoutMs: 2000 });
    assert.deepEqual(outcome, { data: '', closed: true });
    assert.ok(Date.now() - started < 1000, `closed after ${Date.now() - started} ms`);
    assert.deepEqual([b1.accepted, b2.accepted, b3.accepted], accepted);
  });

  it('among equally matching routes the first in store order wins; an update keeps its slot', async () => {
    await put('o1', { server_port: port.order, upstream: upstream(b1) });
    await put('o2', { server_port: port.order, upstream: upstream(b2) });
    assert.equal((await exchange(port.order, 'mmm')).data, 'b1\n');
    await put('o1', { server_port: port.order, upstream: upstream(b3), desc: 'updated' });
    assert.equal((await exchange(port.order, 'mmm')).data, 'b3\n', 'an update keeps its slot');
    await adminOk(strait.adminUrl, 'DELETE', '/apisix/admin/stream_routes/o1');
    assert.equal((await exchange(port.order, 'mmm')).data, 'b2\n');
    await put('o1', { server_port: port.order, upstream: upstream(b1) });
    assert.equal((await exchange(port.order, 'mmm')).data, 'b2\n', 'a re-created key is appended');
  });
});
