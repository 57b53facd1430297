// PROXY protocol listeners through the running service: the header's client address is
// remote_addr for matching only when the TCP peer is trusted (nginx_config.stream.real_ip_from,
// nginx's set_real_ip_from); every other peer must still send a header but keeps its own address;
// strait.handshake_timeout bounds how long a peer may take to send it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminOk } from './support/admin-client';
import { freeTcpPort } from './support/ports';
import { exchange, startReplyServer, type EchoServer } from './support/sockets';
import { StraitProcess } from './support/strait-process';

const HEADER = 'PROXY TCP4 10.1.2.3 192.0.2.1 5555 443\r\n';

describe('PROXY protocol listeners', () => {
  let strait: StraitProcess;
  let fromTen: EchoServer;
  let others: EchoServer;
  let port = 0;

  before(async () => {
    fromTen = await startReplyServer('ten\n');
    others = await startReplyServer('others\n');
    port = await freeTcpPort();
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        `    - { addr: "127.0.0.1:${port}", proxy_protocol: true }`,
      ].join('\n'),
      straitYaml: '  handshake_timeout: 1',
      // Only 127.0.0.2 is a trusted load balancer.
      extraYaml: ['nginx_config:', '  stream:', '    real_ip_from: [127.0.0.2]'].join('\n'),
    });
    const upstream = (server: EchoServer) => ({
      type: 'roundrobin',
      nodes: { [`127.0.0.1:${server.port}`]: 1 },
    });
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/ten', {
      remote_addr: '10.0.0.0/8',
      upstream: upstream(fromTen),
    });
    await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/rest', {
      server_port: port,
      upstream: upstream(others),
    });
  });

  after(async () => {
    await strait?.stop();
    await Promise.all([fromTen?.close(), others?.close()]);
  });

  it("a trusted peer's header sets remote_addr: the 10.0.0.0/8 route matches", async () => {
    const result = await exchange(port, `${HEADER}hi`, { localAddress: '127.0.0.2' });
    assert.equal(result.data, 'ten\n');
  });

  it('an untrusted peer keeps its own address: the header cannot steer it to the 10/8 route', async () => {
    const result = await exchange(port, `${HEADER}hi`, { localAddress: '127.0.0.1' });
    assert.equal(result.data, 'others\n');
  });

  it('strait.handshake_timeout: a peer that never sends its header is cut after 1 s', async () => {
    const started = Date.now();
    const result = await exchange(port, '', { localAddress: '127.0.0.2', timeoutMs: 5000 });
    const elapsed = Date.now() - started;
    assert.equal(result.data, '');
    assert.ok(elapsed >= 900 && elapsed < 2500, `cut after ${elapsed} ms`);
  });

  it('a connection without a header is refused without a byte, trusted or not', async () => {
    for (const localAddress of ['127.0.0.1', '127.0.0.2']) {
      const result = await exchange(port, 'no header here\r\n', { localAddress });
      assert.equal(result.data, '');
    }
  });
});
