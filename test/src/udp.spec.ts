// UDP through the running service (spec 3.8, scenario 48): a session per client address and
// port, every reply datagram returns, the first datagram picks the node, remote_addr filters
// apply, and a session ends after the upstream's idle timeout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminOk, closeAllConnections } from './support/admin-client';
import { freeUdpPort } from './support/ports';
import { StraitProcess } from './support/strait-process';
import { startUdpBackend, startUdpClient, type UdpBackend, type UdpClient } from './support/udp';
import { delay, waitFor } from './support/wait';

interface Session {
  id: number;
  protocol: string;
  remotePort: number;
  routeId?: string;
  node?: string;
}

describe('UDP sessions', () => {
  let strait: StraitProcess;
  let dns: UdpBackend;
  let s1: UdpBackend;
  let s2: UdpBackend;
  const clients: UdpClient[] = [];
  const port = { forward: 0, sticky: 0, filter: 0, idle: 0, v6: 0 };

  before(async () => {
    dns = await startUdpBackend('dns', 3);
    s1 = await startUdpBackend('s1');
    s2 = await startUdpBackend('s2');
    port.forward = await freeUdpPort();
    port.sticky = await freeUdpPort();
    port.filter = await freeUdpPort();
    port.idle = await freeUdpPort();
    port.v6 = await freeUdpPort('::1');
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  udp:',
        `    - "127.0.0.1:${port.forward}"`,
        `    - "127.0.0.1:${port.sticky}"`,
        `    - "127.0.0.1:${port.filter}"`,
        `    - "127.0.0.1:${port.idle}"`,
        `    - "[::1]:${port.v6}"`,
      ].join('\n'),
    });
  });

  after(async () => {
    if (strait?.running) await closeAllConnections(strait.adminUrl);
    await strait?.stop();
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([dns, s1, s2].map((backend) => backend?.close()));
  });

  const client = async (host = '127.0.0.1') => {
    const started = await startUdpClient(host);
    clients.push(started);
    return started;
  };
  const sessions = async () =>
    (await adminOk(strait.adminUrl, 'GET', '/strait/v1/connections')).json.list.filter(
      (row: Session) => row.protocol === 'udp',
    ) as Session[];

  it('scenario 48: a datagram is forwarded and every reply datagram comes back', async () => {
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/48', {
      server_port: port.forward,
      upstream: { nodes: { [`127.0.0.1:${dns.port}`]: 1 }, type: 'roundrobin' },
    });
    const c = await client();
    c.send(port.forward, 'query-1');
    assert.deepEqual((await c.waitForCount(3)).sort(), [
      'dns:0:query-1',
      'dns:1:query-1',
      'dns:2:query-1',
    ]);
    c.send(port.forward, 'query-2');
    assert.deepEqual((await c.waitForCount(6)).slice(3).sort(), [
      'dns:0:query-2',
      'dns:1:query-2',
      'dns:2:query-2',
    ]);
    // One session: both datagrams reached the node from the same upstream socket.
    assert.equal(new Set(dns.peers).size, 1);
    const [session] = (await sessions()).filter((row) => row.remotePort === c.port);
    assert.equal(session.routeId, '48');
    assert.equal(session.node, `127.0.0.1:${dns.port}`);
  });

  it('the same source port keeps its node; another source port is a new session', async () => {
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/sticky', {
      server_port: port.sticky,
      upstream: {
        nodes: { [`127.0.0.1:${s1.port}`]: 1, [`127.0.0.1:${s2.port}`]: 1 },
        type: 'roundrobin',
      },
    });
    const first = await client();
    const second = await client();
    for (let index = 0; index < 5; index += 1) {
      first.send(port.sticky, `a${index}`);
      await first.waitForCount(index + 1);
      second.send(port.sticky, `b${index}`);
      await second.waitForCount(index + 1);
    }
    const nodeOf = (received: string[]) => new Set(received.map((reply) => reply.split(':')[0]));
    assert.equal(nodeOf(first.received).size, 1, JSON.stringify(first.received));
    assert.equal(nodeOf(second.received).size, 1, JSON.stringify(second.received));
    // Roundrobin over two nodes: the two sessions got one node each.
    assert.notDeepEqual([...nodeOf(first.received)], [...nodeOf(second.received)]);
    assert.deepEqual(
      first.received.map((reply) => reply.split(':').slice(1).join(':')),
      ['0:a0', '0:a1', '0:a2', '0:a3', '0:a4'],
    );
  });

  it('remote_addr filters a UDP session: only 127.0.0.2 is answered', async () => {
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/filter', {
      server_port: port.filter,
      remote_addr: '127.0.0.2',
      upstream: { nodes: { [`127.0.0.1:${s1.port}`]: 1 }, type: 'roundrobin' },
    });
    const allowed = await client('127.0.0.2');
    const other = await client('127.0.0.1');
    const seenBefore = s1.peers.length;
    other.send(port.filter, 'x', '127.0.0.1');
    allowed.send(port.filter, 'y', '127.0.0.1');
    assert.deepEqual(await allowed.waitForCount(1), ['s1:0:y']);
    // The unmatched client gets nothing: give it the same time again to be sure.
    await delay(200);
    assert.deepEqual(other.received, []);
    assert.equal(s1.peers.length, seenBefore + 1, 'only the allowed datagram reached the node');
  });

  it('an [::1] UDP listener: a v6 client filtered by remote_addr reaches an IPv4 node', async () => {
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/v6', {
      server_port: port.v6,
      remote_addr: '::1/128',
      upstream: { nodes: { [`127.0.0.1:${dns.port}`]: 1 }, type: 'roundrobin' },
    });
    const c = await client('::1');
    c.send(port.v6, 'aaaa', '::1');
    assert.deepEqual((await c.waitForCount(3)).sort(), ['dns:0:aaaa', 'dns:1:aaaa', 'dns:2:aaaa']);
    const [session] = (await sessions()).filter((row) => row.remotePort === c.port);
    assert.equal(session.routeId, 'v6');
  });

  it('a session expires after max(send, read) of silence; the next datagram opens a new one', async (t) => {
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/idle', {
      server_port: port.idle,
      upstream: {
        nodes: { [`127.0.0.1:${s2.port}`]: 1 },
        type: 'roundrobin',
        timeout: { connect: 1, send: 0.3, read: 0.3 },
      },
    });
    const c = await client();
    c.send(port.idle, 'first');
    await c.waitForCount(1);
    const lastActivity = Date.now();
    const upstreamSocket = s2.peers[s2.peers.length - 1];
    assert.equal((await sessions()).filter((row) => row.remotePort === c.port).length, 1);
    await waitFor(
      async () => (await sessions()).every((row) => row.remotePort !== c.port),
      3000,
      'the idle UDP session to expire',
      20,
    );
    const expiredAfter = Date.now() - lastActivity;
    t.diagnostic(`UDP session idle timeout 0.3 s: gone after ${expiredAfter} ms`);
    assert.ok(expiredAfter >= 250 && expiredAfter < 1500, `expired after ${expiredAfter} ms`);

    c.send(port.idle, 'second');
    assert.deepEqual(await c.waitForCount(2), ['s2:0:first', 's2:0:second']);
    assert.notEqual(s2.peers[s2.peers.length - 1], upstreamSocket, 'a new upstream socket');
  });
});
