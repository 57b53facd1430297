import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../testing/test-app';

describe('admin routing', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp();
  });

  after(async () => {
    await app.close();
  });

  it('treats resource names case-sensitively, as APISIX does', async () => {
    const answer = await app.request('GET', '/apisix/admin/Upstreams/1');
    assert.equal(answer.status, 404);
    assert.deepEqual(answer.json, { error_msg: 'Unsupported resource type: Upstreams' });
    const lower = await app.request('GET', '/apisix/admin/upstreams/1');
    assert.deepEqual(lower.json, { message: 'Key not found' });
  });
});
