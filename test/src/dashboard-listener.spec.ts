// The dashboard listener serves the same admin API under /apisix/admin and /strait/v1: keys are
// required there too, and allow_admin applies to both listeners.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { admin, adminOk } from './support/admin-client';
import { httpCall } from './support/http';
import { freeTcpPort } from './support/ports';
import { exchange, startReplyServer, type EchoServer } from './support/sockets';
import { ADMIN_KEY, StraitProcess, VIEWER_KEY } from './support/strait-process';

describe('the admin API on the dashboard listener', () => {
  let strait: StraitProcess;
  let backend: EchoServer;
  let proxyPort: number;

  before(async () => {
    backend = await startReplyServer('via dashboard\n');
    proxyPort = await freeTcpPort();
    strait = await StraitProcess.start({
      apisixYaml: ['stream_proxy:', '  tcp:', `    - "127.0.0.1:${proxyPort}"`].join('\n'),
      adminYaml: ['allow_admin:', '  - 127.0.0.1/32'].join('\n'),
    });
    await strait.waitForOutput('dashboard listening');
  });

  after(async () => {
    await strait?.stop();
    await backend?.close();
  });

  it('a route written on the dashboard listener is the same object on the admin listener and proxies', async () => {
    const created = await admin(strait.dashboardUrl, 'PUT', '/apisix/admin/stream_routes/d1', {
      server_port: proxyPort,
      upstream: { type: 'roundrobin', nodes: { [`127.0.0.1:${backend.port}`]: 1 } },
    });
    assert.equal(created.status, 201, created.text);
    const onAdmin = await adminOk(strait.adminUrl, 'GET', '/apisix/admin/stream_routes/d1');
    const onDashboard = await adminOk(strait.dashboardUrl, 'GET', '/apisix/admin/stream_routes/d1');
    assert.deepEqual(onDashboard.json, onAdmin.json);
    assert.equal((await exchange(proxyPort, 'mmm')).data, 'via dashboard\n');
    const status = await adminOk(strait.dashboardUrl, 'GET', '/strait/v1/status');
    assert.equal(status.json.counts.stream_routes, 1);
  });

  it('keys are required on the dashboard listener, and the viewer role is read-only there too', async () => {
    const anonymous = await admin(
      strait.dashboardUrl,
      'GET',
      '/apisix/admin/stream_routes',
      undefined,
      {
        key: null,
      },
    );
    assert.equal(anonymous.status, 401);
    assert.deepEqual(anonymous.json, {
      error_msg: 'failed to check token',
      description: 'missing apikey',
    });
    const wrong = await admin(strait.dashboardUrl, 'GET', '/strait/v1/status', undefined, {
      key: 'nope',
    });
    assert.equal(wrong.status, 401);
    const viewerRead = await admin(
      strait.dashboardUrl,
      'GET',
      '/apisix/admin/stream_routes',
      undefined,
      {
        key: VIEWER_KEY,
      },
    );
    assert.equal(viewerRead.status, 200);
    const viewerWrite = await admin(
      strait.dashboardUrl,
      'DELETE',
      '/apisix/admin/stream_routes/d1',
      undefined,
      {
        key: VIEWER_KEY,
      },
    );
    assert.equal(viewerWrite.status, 401);
  });

  it('allow_admin applies to both listeners: 127.0.0.2 gets 403, 127.0.0.1 is served', async () => {
    for (const base of [strait.dashboardUrl, strait.adminUrl]) {
      for (const path of ['/apisix/admin/stream_routes', '/strait/v1/status']) {
        const headers = { 'X-API-KEY': ADMIN_KEY };
        const denied = await httpCall(`${base}${path}`, { headers, localAddress: '127.0.0.2' });
        assert.equal(denied.status, 403, `${base}${path} from 127.0.0.2`);
        assert.match(denied.text, /403 Forbidden/);
        const served = await httpCall(`${base}${path}`, { headers, localAddress: '127.0.0.1' });
        assert.equal(served.status, 200, `${base}${path} from 127.0.0.1`);
      }
    }
  });
});
