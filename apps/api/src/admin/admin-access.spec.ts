/**
 * The admin HTTP pipeline: tokens and roles (scenario 21), common headers, CORS and OPTIONS, HEAD,
 * allow_admin, the body limit, JSON errors, unknown resources, and hostile bodies (prototype keys,
 * deep nesting, huge numbers, long strings) that must be 4xx and never 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertAdminHeaders,
  assertError,
  assertExactJson,
  assertJson,
  assertKeyNotFound,
  listKeys,
  startStreamApp,
  upstream,
  type Reply,
} from '../testing/admin-assertions';
import { startTestApp, TEST_ADMIN_KEY, TEST_VIEWER_KEY, type TestApp } from '../testing/test-app';

const UPSTREAMS = '/apisix/admin/upstreams';

function assertUnauthorized(reply: Reply, description: string): void {
  assertExactJson(reply, 401, { error_msg: 'failed to check token', description });
  assert.equal(reply.headers.get('x-api-version'), null, '401 carries no X-API-VERSION');
}

function assertCorsHeaders(reply: Reply): void {
  assert.equal(reply.headers.get('access-control-allow-origin'), '*');
  assert.equal(reply.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(reply.headers.get('access-control-expose-headers'), '*');
  assert.equal(reply.headers.get('access-control-max-age'), '3600');
}

describe('admin access: tokens, roles, headers, CORS, HEAD (scenario 21)', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('no key, wrong key', async () => {
    assertUnauthorized(
      await test.request('GET', UPSTREAMS, undefined, { key: null }),
      'missing apikey',
    );
    assertUnauthorized(
      await test.request('GET', UPSTREAMS, undefined, { key: 'wrong' }),
      'wrong apikey',
    );
    assertUnauthorized(
      await test.request('PUT', `${UPSTREAMS}/1`, { nodes: {} }, { key: null }),
      'missing apikey',
    );
    assertKeyNotFound(await test.request('GET', `${UPSTREAMS}/1`));
  });

  it('the token may come from ?api_key=, the X-API-KEY header or the X-API-KEY cookie', async () => {
    const byQuery = await test.request('GET', `${UPSTREAMS}?api_key=${TEST_ADMIN_KEY}`, undefined, {
      key: null,
    });
    assertJson(byQuery, 200, { list: [], total: 0 });
    const byCookie = await test.request('GET', UPSTREAMS, undefined, {
      key: null,
      headers: { Cookie: `other=1; X-API-KEY=${TEST_ADMIN_KEY}` },
    });
    assertJson(byCookie, 200, { list: [], total: 0 });
    const put = await test.request(
      'PUT',
      `${UPSTREAMS}/q?api_key=${TEST_ADMIN_KEY}`,
      { nodes: {} },
      { key: null },
    );
    assert.equal(put.status, 201, put.text);
    // The query argument is looked at first.
    assertUnauthorized(await test.request('GET', `${UPSTREAMS}?api_key=wrong`), 'wrong apikey');
    assertUnauthorized(
      await test.request('GET', UPSTREAMS, undefined, {
        key: null,
        headers: { Cookie: 'X-API-KEY=wrong' },
      }),
      'wrong apikey',
    );
  });

  it('a viewer may only GET', async () => {
    const viewer = { key: TEST_VIEWER_KEY };
    assert.equal((await test.request('GET', UPSTREAMS, undefined, viewer)).status, 200);
    assert.equal((await test.request('GET', `${UPSTREAMS}/q`, undefined, viewer)).status, 200);
    for (const [method, path] of [
      ['PUT', `${UPSTREAMS}/v`],
      ['POST', UPSTREAMS],
      ['PATCH', `${UPSTREAMS}/q`],
      ['DELETE', `${UPSTREAMS}/q`],
    ]) {
      const body = method === 'DELETE' ? undefined : { nodes: {} };
      assertUnauthorized(
        await test.request(method, path, body, viewer),
        'invalid method for role viewer',
      );
    }
    assertKeyNotFound(await test.request('GET', `${UPSTREAMS}/v`));
    assert.equal((await test.request('GET', `${UPSTREAMS}/q`)).status, 200);
  });

  it('Server APISIX/…, JSON with a trailing newline, X-API-VERSION v3, CORS headers', async () => {
    const reply = await test.request('GET', UPSTREAMS);
    assertAdminHeaders(reply);
    assert.equal(reply.headers.get('x-api-version'), 'v3');
    assert.ok(reply.text.endsWith('}\n'));
    assertCorsHeaders(reply);
    const error = await test.request('GET', `${UPSTREAMS}/404`);
    assertAdminHeaders(error);
    assertCorsHeaders(error);
    // A code returned by a handler, errors included, carries X-API-VERSION.
    const refused = await test.request('PUT', `${UPSTREAMS}/1`, { id: '2', nodes: {} });
    assertError(refused, 'wrong upstream id');
    assert.equal(refused.headers.get('x-api-version'), 'v3');
    assertCorsHeaders(await test.request('GET', UPSTREAMS, undefined, { key: null }));
  });

  it('OPTIONS needs no token: 200, empty body, the allowed methods and headers', async () => {
    for (const path of [
      UPSTREAMS,
      `${UPSTREAMS}/1`,
      '/apisix/admin/stream_routes/1',
      '/apisix/admin/nope',
    ]) {
      const reply = await test.request('OPTIONS', path, undefined, { key: null });
      assert.equal(reply.status, 200, path);
      assert.equal(reply.text, '');
      assertAdminHeaders(reply);
      assertCorsHeaders(reply);
      assert.equal(
        reply.headers.get('access-control-allow-methods'),
        'POST, GET, PUT, OPTIONS, DELETE, PATCH',
      );
      assert.equal(reply.headers.get('access-control-allow-headers'), '*');
    }
  });

  it('HEAD /apisix/admin is 200 with an empty body and no token', async () => {
    for (const path of ['/apisix/admin', '/apisix/admin/', '/apisix/admin?x=1']) {
      const reply = await test.request('HEAD', path, undefined, { key: null });
      assert.equal(reply.status, 200, path);
      assert.equal(reply.text, '');
      assertAdminHeaders(reply);
    }
  });

  it('unknown resource segments are 404 Unsupported resource type', async () => {
    assertError(
      await test.request('GET', '/apisix/admin/ssl/1'),
      'Unsupported resource type: ssl',
      404,
    );
    assertError(
      await test.request('GET', '/apisix/admin/foo'),
      'Unsupported resource type: foo',
      404,
    );
    assertError(
      await test.request('PUT', '/apisix/admin/stream_route/1', { upstream: upstream() }),
      'Unsupported resource type: stream_route',
      404,
    );
    // Methods the router does not know are a 404 too.
    assert.equal((await test.request('PROPFIND', UPSTREAMS)).status, 404);
    // The token is checked first.
    assertUnauthorized(
      await test.request('GET', '/apisix/admin/ssl/1', undefined, { key: null }),
      'missing apikey',
    );
  });
});

describe('admin access: enable_admin_cors false', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({
      replaceDeployment: [
        'deployment:',
        '  admin:',
        '    enable_admin_cors: false',
        '    admin_key:',
        `      - { name: admin, key: ${TEST_ADMIN_KEY}, role: admin }`,
      ].join('\n'),
    });
  });
  after(() => test.close());

  it('no Access-Control-* headers', async () => {
    const reply = await test.request('GET', UPSTREAMS);
    assert.equal(reply.status, 200);
    for (const header of ['allow-origin', 'allow-credentials', 'expose-headers', 'max-age']) {
      assert.equal(reply.headers.get(`access-control-${header}`), null, header);
    }
  });
});

describe('admin access: allow_admin', () => {
  let test: TestApp;
  before(async () => {
    test = await startTestApp({
      replaceDeployment: [
        'deployment:',
        '  admin:',
        '    allow_admin:',
        '      - 10.0.0.0/8',
        '      - "::2"',
        '    admin_key:',
        `      - { name: admin, key: ${TEST_ADMIN_KEY}, role: admin }`,
      ].join('\n'),
    });
  });
  after(() => test.close());

  it('a client outside the list gets nginx 403 page, whatever the method or token', async () => {
    assert.deepEqual(test.config.admin.allow, ['10.0.0.0/8', '::2/128']);
    const page =
      '<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n';
    for (const [method, key] of [
      ['GET', TEST_ADMIN_KEY],
      ['GET', null],
      ['PUT', TEST_ADMIN_KEY],
      ['OPTIONS', null],
    ] as const) {
      const body = method === 'PUT' ? { nodes: {} } : undefined;
      const reply = await test.request(method, `${UPSTREAMS}/1`, body, { key });
      assert.equal(reply.status, 403, `${method} ${reply.text}`);
      assert.equal(reply.text, page);
      assert.match(reply.headers.get('content-type') ?? '', /^text\/html/);
    }
    const head = await test.request('HEAD', '/apisix/admin', undefined, { key: null });
    assert.equal(head.status, 403);
  });
});

describe('admin access: request bodies', () => {
  let test: TestApp;
  before(async () => {
    test = await startStreamApp();
  });
  after(() => test.close());

  it('a body of 1572864 bytes is read; one more byte is refused with APISIX text', async () => {
    const json = JSON.stringify({ nodes: {}, desc: 'limit' });
    const atLimit = json + ' '.repeat(1572864 - json.length);
    assert.equal(Buffer.byteLength(atLimit), 1572864);
    assert.equal((await test.request('PUT', `${UPSTREAMS}/big`, atLimit)).status, 201);
    const overLimit = `${atLimit} `;
    assertError(
      await test.request('PUT', `${UPSTREAMS}/big2`, overLimit),
      'invalid request body: request size 1572865 is greater than the maximum size 1572864 allowed',
    );
    const posted = `{"nodes":{},"desc":"${'x'.repeat(1572864)}"}`;
    assertError(
      await test.request('POST', UPSTREAMS, posted),
      `invalid request body: request size ${posted.length} is greater than the maximum size 1572864 allowed`,
    );
    assertKeyNotFound(await test.request('GET', `${UPSTREAMS}/big2`));
  });

  it('invalid JSON is a 400 carrying the raw body; Content-Type is ignored', async () => {
    // lua-cjson's own messages (checked against it in http/cjson-error.spec.ts).
    const cjson: Record<string, string> = {
      '{a}': 'Expected object key string but found invalid token at character 2',
      '{"nodes":': 'Expected value but found T_END at character 10',
      'nodes=1': 'Expected value but found invalid token at character 1',
      '{"nodes":{}}}': 'Expected the end but found T_OBJ_END at character 13',
    };
    for (const [raw, message] of Object.entries(cjson)) {
      const reply = await test.request('PUT', `${UPSTREAMS}/j`, raw);
      assert.equal(reply.status, 400, raw);
      assertAdminHeaders(reply);
      assert.deepEqual(Object.keys(reply.json as object), ['error_msg', 'req_body']);
      assert.equal(reply.json.error_msg, `invalid request body: ${message}`);
      assert.equal(reply.json.req_body, raw);
      assert.ok(reply.text.endsWith('}\n'));
    }
    assertKeyNotFound(await test.request('GET', `${UPSTREAMS}/j`));
    const plain = await test.request('PUT', `${UPSTREAMS}/j`, '{"nodes":{}}', {
      headers: { 'Content-Type': 'text/plain' },
    });
    assert.equal(plain.status, 201, plain.text);
  });

  it('prototype keys are refused and nothing is stored or polluted', async () => {
    for (const raw of [
      '{"__proto__":{"x":1}}',
      '{"nodes":{},"labels":{"__proto__":"x"}}',
      '{"nodes":{"__proto__":{"x":1}}}',
      '{"id":"p","nodes":{},"__proto__":{"x":1}}',
    ]) {
      for (const [method, path] of [
        ['PUT', `${UPSTREAMS}/p`],
        ['PUT', UPSTREAMS],
        ['POST', UPSTREAMS],
      ]) {
        const reply = await test.request(method, path, raw);
        assert.ok(
          reply.status >= 400 && reply.status < 500,
          `${method} ${path} ${raw}: ${reply.status}`,
        );
      }
    }
    const wrapped = await test.request('PUT', `${UPSTREAMS}/p`, '{"__proto__":{"x":1}}');
    assert.equal(
      wrapped.json.error_msg,
      'invalid request body: the key "__proto__" is not allowed',
    );
    assertKeyNotFound(await test.request('GET', `${UPSTREAMS}/p`));
    assert.ok(!listKeys(await test.request('GET', UPSTREAMS)).includes('/apisix/upstreams/p'));
    // Through PATCH: a body key and a sub-path segment.
    await test.request('PUT', `${UPSTREAMS}/target`, { nodes: {} });
    const before = await test.request('GET', `${UPSTREAMS}/target`);
    assert.equal(
      (await test.request('PATCH', `${UPSTREAMS}/target`, '{"__proto__":{"x":1}}')).status,
      400,
    );
    assertError(
      await test.request('PATCH', `${UPSTREAMS}/target/__proto__/x`, '1'),
      'invalid sub-path: /__proto__',
    );
    assertError(
      await test.request('PATCH', `${UPSTREAMS}/target/labels/__proto__`, '"x"'),
      'invalid sub-path: /labels/__proto__',
    );
    assertError(
      await test.request('PATCH', `${UPSTREAMS}/target/constructor/prototype/x`, '1'),
      'invalid configuration: additional properties forbidden, found constructor',
    );
    assert.deepEqual((await test.request('GET', `${UPSTREAMS}/target`)).json, before.json);
    assert.equal(({} as Record<string, unknown>).x, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'x'), false);
    // `constructor` as a plain label key is just data.
    const label = await test.request('PUT', `${UPSTREAMS}/c`, {
      nodes: {},
      labels: { constructor: 'x' },
    });
    assert.equal(label.status, 201, label.text);
  });

  it('deep nesting is refused with lua-cjson text, never a 500', async () => {
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    // `{"nodes":` is level 1, so 1000 brackets make level 1001 at character 10 + 999.
    const tooDeep = `{"nodes":${nested(1000)}}`;
    assertExactJson(await test.request('PUT', `${UPSTREAMS}/deep`, tooDeep), 400, {
      error_msg:
        'invalid request body: Found too many nested data structures (1001) at character 1009',
      req_body: tooDeep,
    });
    for (const depth of [999, 1500, 2200, 5000, 50000]) {
      for (const raw of [
        `{"nodes":{},"labels":${nested(depth)}}`,
        `{"plugins":{"limit-conn":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`,
      ]) {
        const reply = await test.request('PUT', '/apisix/admin/stream_routes/deep', raw);
        assert.ok(reply.status >= 400 && reply.status < 500, `depth ${depth}: ${reply.status}`);
      }
      const metadata = await test.request(
        'PUT',
        '/apisix/admin/plugin_metadata/limit-conn',
        `{"x":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      );
      assert.ok(metadata.status < 500, `metadata depth ${depth}: ${metadata.status}`);
      assert.equal(
        metadata.status === 400,
        depth >= 1000,
        `metadata depth ${depth}: ${metadata.text.slice(0, 80)}`,
      );
    }
    // A sub-path adds levels to an accepted body.
    await test.request('PUT', `${UPSTREAMS}/deep`, { nodes: {} });
    const body = `${'{"a":'.repeat(900)}1${'}'.repeat(900)}`;
    assertError(
      await test.request('PATCH', `${UPSTREAMS}/deep/${'a/'.repeat(500)}`, body),
      'invalid sub-path: nesting deeper than 1000 levels',
    );
    const longPath = await test.request('PATCH', `${UPSTREAMS}/deep/${'a/'.repeat(3000)}`, '1');
    assert.ok(longPath.status >= 400 && longPath.status < 500, `${longPath.status}`);
  });

  it('huge numbers and long strings are 4xx', async () => {
    assertError(
      await test.request(
        'PUT',
        '/apisix/admin/stream_routes/n',
        '{"server_port":123456789012345678901234567890}',
      ),
      'invalid configuration: property "server_port" validation failed: expected 1.2345678901235e+29 to be at most 65535',
    );
    for (const raw of [
      '{"server_port":1e400}',
      '{"server_port":-1e400}',
      '{"server_port":1.5}',
      `{"desc":"${'x'.repeat(300000)}"}`,
      `{"name":"${'x'.repeat(300)}"}`,
      `{"labels":{"k":"${'x'.repeat(300)}"}}`,
      `{"remote_addr":"${'1'.repeat(100000)}"}`,
      `{"sni":"${'a'.repeat(100000)}.com","upstream_id":"${'9'.repeat(65)}"}`,
    ]) {
      const reply = await test.request('PUT', '/apisix/admin/stream_routes/n', raw);
      assert.equal(reply.status, 400, `${raw.slice(0, 60)}: ${reply.text.slice(0, 120)}`);
    }
    assertError(
      await test.request('PUT', '/apisix/admin/stream_routes/n', { desc: 'x'.repeat(300000) }),
      'invalid configuration: property "desc" validation failed: string too long, expected at most 256, got 300000',
    );
    for (const raw of [
      '{"nodes":{"127.0.0.1:80":1e400}}',
      '{"nodes":{"127.0.0.1:80":1},"retries":1e400}',
      '{"nodes":{"127.0.0.1:80":1},"timeout":{"connect":1e400,"send":1,"read":1}}',
      '{"nodes":[{"host":"127.0.0.1","port":1e20,"weight":1}]}',
    ]) {
      const reply = await test.request('PUT', `${UPSTREAMS}/n`, raw);
      assert.equal(reply.status, 400, `${raw}: ${reply.text}`);
    }
    // Beyond the double range: refused at parse time (it would be stored as null).
    const infinite = '{"nodes":{},"timeout":{"connect":1e400,"send":1,"read":1}}';
    assertExactJson(await test.request('PUT', `${UPSTREAMS}/n`, infinite), 400, {
      error_msg: 'invalid request body: the number at "connect" is out of range',
      req_body: infinite,
    });
    assertKeyNotFound(await test.request('GET', `${UPSTREAMS}/${'a'.repeat(5000)}`));
    assertKeyNotFound(await test.request('GET', '/apisix/admin/stream_routes/n'));
    assert.ok(!listKeys(await test.request('GET', UPSTREAMS)).includes(`${UPSTREAMS}/n`));
  });
});
