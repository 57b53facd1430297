// The seed document's "real world example": MySQL behind a stream route filtered by server_addr
// and server_port, with the real `mysql` client and a real MariaDB server, through the built service.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { admin } from './support/admin-client';
import { MariaDbServer } from './support/mariadb';
import { freeTcpPort } from './support/ports';
import { ADMIN_KEY, StraitProcess } from './support/strait-process';

describe('seed example: MySQL through a server_addr + server_port route', () => {
  let mariadb: MariaDbServer;
  let strait: StraitProcess;
  let plainPort: number;
  let filteredPort: number;

  before(async () => {
    mariadb = await MariaDbServer.start();
    plainPort = await freeTcpPort();
    filteredPort = await freeTcpPort('127.0.0.10');
    strait = await StraitProcess.start({
      apisixYaml: [
        'stream_proxy:',
        '  tcp:',
        `    - ${plainPort}`,
        `    - "127.0.0.10:${filteredPort}"`,
      ].join('\n'),
    });
  });

  after(async () => {
    await strait?.stop();
    await mariadb?.stop();
  });

  it('creates the route with the seed curl command, verbatim apart from ports', () => {
    // The seed's own curl invocation: -X PUT -d with the body as a literal string.
    const body = `
{
    "server_addr": "127.0.0.10",
    "server_port": ${filteredPort},
    "upstream": {
        "nodes": {
            "127.0.0.1:${mariadb.port}": 1
        },
        "type": "roundrobin"
    }
}`;
    const curl = spawnSync(
      'curl',
      [
        '-s',
        '-w',
        '\n%{http_code}',
        `${strait.adminUrl}/apisix/admin/stream_routes/1`,
        '-H',
        `X-API-KEY: ${ADMIN_KEY}`,
        '-X',
        'PUT',
        '-d',
        body,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(curl.status, 0, curl.stderr);
    // APISIX ends JSON bodies with a newline; curl's -w then adds the status on its own line.
    const lines = curl.stdout.trim().split('\n');
    const status = lines.pop();
    const json = lines.join('\n');
    assert.equal(status, '201');
    assert.equal(JSON.parse(json).value.server_addr, '127.0.0.10');
  });

  it('connects the mysql client through 127.0.0.10 and runs queries', () => {
    const result = mariadb.sql('SELECT 6 * 7; SELECT @@port;', {
      host: '127.0.0.10',
      port: filteredPort,
    });
    assert.equal(result.status, 0, result.stderr);
    const [answer, backendPort] = result.stdout.trim().split('\n');
    assert.equal(answer, '42');
    assert.equal(Number(backendPort), mariadb.port);
  });

  it('refuses the other listener: the filter does not match, the client loses the connection', () => {
    const result = mariadb.sql('SELECT 1', { host: '127.0.0.1', port: plainPort });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /ERROR 2013|Lost connection|ERROR 2002|ERROR 2026/);
  });

  it('keeps working after the route is replaced and serves many sequential clients', async () => {
    const replaced = await admin(strait.adminUrl, 'PUT', '/apisix/admin/stream_routes/1', {
      server_addr: '127.0.0.10',
      server_port: filteredPort,
      desc: 'mysql',
      upstream: { nodes: { [`127.0.0.1:${mariadb.port}`]: 1 }, type: 'roundrobin' },
    });
    assert.equal(replaced.status, 200);
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const result = mariadb.sql(`SELECT ${attempt}`, { host: '127.0.0.10', port: filteredPort });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.trim(), String(attempt));
    }
  });
});
