// The seed document's examples through the built service: its listener forms (bare port,
// "ip:port", UDP) plus "[::1]:port" and an "a-b" range, and its curl bodies as written (ports
// substituted), with real sockets on loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { admin, adminOk, closeAllConnections } from './support/admin-client';
import { curlAdmin } from './support/curl';
import { freeTcpPort, freeTcpPortRange, freeUdpPort } from './support/ports';
import { exchange, startReplyServer, type EchoServer } from './support/sockets';
import { StraitProcess } from './support/strait-process';
import { startUdpBackend, startUdpClient, type UdpBackend } from './support/udp';

describe('seed document examples', () => {
  let strait: StraitProcess;
  let hello: EchoServer; // APISIX's test upstream on 1995
  let other: EchoServer;
  let dns: UdpBackend;
  const port = { p9100: 0, p9101: 0, v6: 0, range: 0, u9200: 0, u9211: 0 };

  before(async () => {
    hello = await startReplyServer('hello world\n');
    other = await startReplyServer('other\n');
    dns = await startUdpBackend('dns', 2);
    port.p9100 = await freeTcpPort('0.0.0.0');
    port.p9101 = await freeTcpPort();
    port.v6 = await freeTcpPort('::1');
    port.range = await freeTcpPortRange(3, '0.0.0.0');
    port.u9200 = await freeUdpPort('0.0.0.0');
    port.u9211 = await freeUdpPort();
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy: # TCP/UDP proxy',
        '  tcp: # TCP proxy address list',
        `    - ${port.p9100}`,
        `    - "127.0.0.1:${port.p9101}"`,
        `    - "[::1]:${port.v6}"`,
        `    - "${port.range}-${port.range + 2}"`,
        '  udp: # UDP proxy address list',
        `    - ${port.u9200}`,
        `    - "127.0.0.1:${port.u9211}"`,
      ].join('\n'),
    });
  });

  after(async () => {
    if (strait?.running) await closeAllConnections(strait.adminUrl);
    await strait?.stop();
    await hello?.close();
    await other?.close();
    await dns?.close();
  });

  it('opens every listener of the config, each form, as /strait/v1/status reports', async () => {
    const status = await adminOk(strait.adminUrl, 'GET', '/strait/v1/status');
    const listeners = status.json.listeners as {
      id: string;
      up: boolean;
      configKey: string;
    }[];
    const expected = [
      [`tcp://0.0.0.0:${port.p9100}`, 'apisix.stream_proxy.tcp[0]'],
      [`tcp://127.0.0.1:${port.p9101}`, 'apisix.stream_proxy.tcp[1]'],
      [`tcp://[::1]:${port.v6}`, 'apisix.stream_proxy.tcp[2]'],
      [`tcp://0.0.0.0:${port.range}`, 'apisix.stream_proxy.tcp[3]'],
      [`tcp://0.0.0.0:${port.range + 1}`, 'apisix.stream_proxy.tcp[3]'],
      [`tcp://0.0.0.0:${port.range + 2}`, 'apisix.stream_proxy.tcp[3]'],
      [`udp://0.0.0.0:${port.u9200}`, 'apisix.stream_proxy.udp[0]'],
      [`udp://127.0.0.1:${port.u9211}`, 'apisix.stream_proxy.udp[1]'],
    ];
    assert.deepEqual(
      listeners.map((listener) => [listener.id, listener.configKey, listener.up]),
      expected.map(([id, key]) => [id, key, true]),
    );
  });

  it('mini example: remote_addr 127.0.0.1 is proxied to the node, other clients are closed', async () => {
    const created = curlAdmin(
      `${strait.adminUrl}/apisix/admin/stream_routes/1`,
      'PUT',
      `
{
    "remote_addr": "127.0.0.1",
    "upstream": {
        "nodes": {
            "127.0.0.1:${hello.port}": 1
        },
        "type": "roundrobin"
    }
}`,
    );
    assert.equal(created.status, 201);
    assert.equal(created.json.value.remote_addr, '127.0.0.1');

    assert.deepEqual(await exchange(port.p9100, 'mmm'), { data: 'hello world\n', closed: true });
    assert.equal((await exchange(port.p9101, 'mmm')).data, 'hello world\n');
    assert.equal((await exchange(port.range + 1, 'mmm')).data, 'hello world\n');
    // Another client address (the bare port listens on every interface) or family: no route.
    const accepted = hello.accepted;
    assert.equal((await exchange(port.p9100, 'mmm', { localAddress: '127.0.0.2' })).data, '');
    assert.equal((await exchange(port.v6, 'mmm', { host: '::1' })).data, '');
    assert.equal(hello.accepted, accepted, 'the node is never contacted for an unmatched client');
  });

  it('server_addr + server_port example: only that address and port reach the node', async () => {
    const replaced = curlAdmin(
      `${strait.adminUrl}/apisix/admin/stream_routes/1`,
      'PUT',
      `
{
    "server_addr": "127.0.0.1",
    "server_port": ${port.p9101},
    "upstream": {
        "nodes": {
            "127.0.0.1:${hello.port}": 1
        },
        "type": "roundrobin"
    }
}`,
    );
    assert.equal(replaced.status, 200);
    assert.equal(replaced.json.value.server_port, port.p9101);
    assert.equal(replaced.json.value.remote_addr, undefined, 'PUT replaces the whole route');

    assert.equal((await exchange(port.p9101, 'mmm')).data, 'hello world\n');
    assert.equal((await exchange(port.p9100, 'mmm')).data, '', 'another port');
    assert.equal((await exchange(port.range, 'mmm')).data, '', 'another port');
    // The bare-port listener accepts on 127.0.0.2 too, but server_port still differs.
    assert.equal((await exchange(port.p9100, 'mmm', { host: '127.0.0.2' })).data, '');
  });

  it('every TCP listener form proxies, and a range member has its own $server_port', async () => {
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/2', {
      server_port: port.range + 1,
      upstream: { nodes: { [`127.0.0.1:${hello.port}`]: 1 }, type: 'roundrobin' },
    });
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/3', {
      upstream: { nodes: { [`127.0.0.1:${other.port}`]: 1 }, type: 'roundrobin' },
    });
    const seen = {
      bare: (await exchange(port.p9100, 'mmm')).data,
      bareOnAnotherAddress: (await exchange(port.p9100, 'mmm', { host: '127.0.0.2' })).data,
      ipPort: (await exchange(port.p9101, 'mmm')).data,
      ipv6: (await exchange(port.v6, 'mmm', { host: '::1' })).data,
      rangeFirst: (await exchange(port.range, 'mmm')).data,
      rangeSecond: (await exchange(port.range + 1, 'mmm')).data,
      rangeLast: (await exchange(port.range + 2, 'mmm')).data,
    };
    assert.deepEqual(seen, {
      bare: 'other\n',
      bareOnAnotherAddress: 'other\n',
      ipPort: 'hello world\n', // route 1 comes first in store order
      ipv6: 'other\n',
      rangeFirst: 'other\n',
      rangeSecond: 'hello world\n', // route 2: server_port is the port within the range
      rangeLast: 'other\n',
    });
  });

  it('UDP listeners of the seed config forward datagrams and every reply comes back', async () => {
    assert.equal(
      (await admin(strait.adminUrl, 'DELETE', '/apisix/admin/stream_routes/3')).status,
      200,
    );
    for (const [id, listenPort] of [
      ['u9200', port.u9200],
      ['u9211', port.u9211],
    ] as const) {
      await adminOk(strait.adminUrl, 'PUT', `/apisix/admin/stream_routes/${id}`, {
        server_port: listenPort,
        upstream: { nodes: { [`127.0.0.1:${dns.port}`]: 1 }, type: 'roundrobin' },
      });
    }
    const client = await startUdpClient();
    try {
      client.send(port.u9200, 'q1');
      assert.deepEqual((await client.waitForCount(2)).sort(), ['dns:0:q1', 'dns:1:q1']);
      client.send(port.u9211, 'q2');
      assert.deepEqual((await client.waitForCount(4)).slice(2).sort(), ['dns:0:q2', 'dns:1:q2']);
    } finally {
      await client.close();
    }
  });
});
