// Startup failures of the built service: a config error names the key and the reason and exits
// non-zero before anything listens; a stream listener that cannot bind names its address.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort, freeUdpPort } from './support/ports';
import { buildConfig, runToExit } from './support/strait-process';

async function runWith(apisixYaml: string, adminYaml?: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'strait-e2e-'));
  const config = await buildConfig(
    { apisixYaml, adminYaml, withoutAdminKeys: adminYaml !== undefined },
    dataDir,
  );
  const result = await runToExit(config.text);
  // Nothing may have been served: no listener, no admin API.
  assert.doesNotMatch(
    result.output,
    /admin API listening|stream listener open|dashboard listening/,
  );
  return result;
}

describe('configuration and startup errors', () => {
  let occupiedTcp: Server;
  let occupiedUdp: UdpSocket;
  let tcpPort: number;
  let udpPort: number;

  before(async () => {
    occupiedTcp = createServer();
    await new Promise<void>((resolve) => occupiedTcp.listen(0, '127.0.0.1', resolve));
    tcpPort = (occupiedTcp.address() as { port: number }).port;
    occupiedUdp = createSocket('udp4');
    await new Promise<void>((resolve) => occupiedUdp.bind(0, '127.0.0.1', resolve));
    udpPort = occupiedUdp.address().port;
  });

  after(async () => {
    await new Promise((resolve) => occupiedTcp?.close(resolve));
    await new Promise<void>((resolve) => occupiedUdp?.close(() => resolve()));
  });

  it('a stream_proxy port out of range (70000) names the entry and the reason', async () => {
    const { code, output } = await runWith(
      ['stream_proxy:', '  tcp:', '    - 9100', '    - 70000'].join('\n'),
    );
    assert.notEqual(code, 0);
    assert.match(output, /apisix\.stream_proxy\.tcp\[1\]/);
    assert.match(output, /port out of range \(1-65535\): 70000/);
  });

  it('an unknown admin role names deployment.admin.admin_key[i].role', async () => {
    const { code, output } = await runWith(
      ['stream_proxy:', '  tcp:', `    - "127.0.0.1:${await freeTcpPort()}"`].join('\n'),
      [
        'admin_key:',
        '  - { name: admin, key: 0123456789abcdef0123456789abcdef, role: admin }',
        '  - { name: ops, key: fedcba9876543210fedcba9876543210, role: superuser }',
      ].join('\n'),
    );
    assert.notEqual(code, 0);
    assert.match(output, /deployment\.admin\.admin_key\[1\]\.role/);
    assert.match(output, /superuser/);
  });

  it('a YAML syntax error names the file and the line', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'strait-e2e-'));
    const config = await buildConfig(
      { apisixYaml: ['stream_proxy:', '  tcp: [9100', '  udp: 9200'].join('\n') },
      dataDir,
    );
    const { code, output } = await runToExit(config.text);
    assert.notEqual(code, 0);
    assert.match(output, /YAML/);
    assert.match(output, /config\.yaml:\d+:\d+/);
    assert.doesNotMatch(output, /listening|listener open/);
  });

  it('a TCP listener whose port is taken stops startup, naming its config key, the address and the reason', async () => {
    const free = await freeTcpPort();
    const { code, output } = await runWith(
      ['stream_proxy:', '  tcp:', `    - "127.0.0.1:${free}"`, `    - "127.0.0.1:${tcpPort}"`].join(
        '\n',
      ),
    );
    assert.notEqual(code, 0);
    assert.match(
      output,
      new RegExp(
        `apisix\\.stream_proxy\\.tcp\\[1\\]: cannot listen on tcp 127\\.0\\.0\\.1:${tcpPort}: address already in use`,
      ),
    );
  });

  it('an admin port that is taken stops startup, naming the address', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'strait-e2e-'));
    const config = await buildConfig(
      {
        apisixYaml: ['stream_proxy:', '  tcp:', `    - "127.0.0.1:${await freeTcpPort()}"`].join(
          '\n',
        ),
      },
      dataDir,
    );
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(config.adminPort, '127.0.0.1', resolve));
    try {
      const { code, output } = await runToExit(config.text);
      assert.notEqual(code, 0);
      assert.match(output, new RegExp(`127\\.0\\.0\\.1:${config.adminPort}`));
      assert.match(output, /EADDRINUSE|address already in use/);
      assert.doesNotMatch(output, /admin API listening/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('a UDP listener whose port is taken stops startup too', async () => {
    const free = await freeUdpPort();
    const { code, output } = await runWith(
      ['stream_proxy:', '  udp:', `    - "127.0.0.1:${free}"`, `    - "127.0.0.1:${udpPort}"`].join(
        '\n',
      ),
    );
    assert.notEqual(code, 0);
    assert.match(
      output,
      new RegExp(
        `apisix\\.stream_proxy\\.udp\\[1\\]: cannot listen on udp 127\\.0\\.0\\.1:${udpPort}: address already in use`,
      ),
    );
  });
});
