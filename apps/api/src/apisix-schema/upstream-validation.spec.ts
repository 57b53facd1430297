import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  validateUpstream,
  validateUpstreamWithReferences,
  type ReferenceLookups,
  type StoredSsl,
} from './index';
import { createSelfSignedCertificate, type TestCertificate } from './test-certificates';

const nodes = { '127.0.0.1:8080': 1 };

function rejected(message: string) {
  return { ok: false, message };
}

function sslStore(ssls: Record<string, StoredSsl>): ReferenceLookups {
  return {
    upstreamExists: () => true,
    serviceExists: () => true,
    findStreamRoute: () => undefined,
    findSsl: async (id) => ssls[id],
  };
}

describe('upstream: accepted bodies', () => {
  it('accepts hash and array nodes, empty nodes and discovery', () => {
    for (const body of [
      { nodes, type: 'roundrobin' },
      { nodes: { '127.0.0.1:1995': 1, 'test.com:80': 0, '[::1]:80': 2 } },
      {
        nodes: [
          { host: '127.0.0.1', port: 1995, weight: 1 },
          { host: '[::1]', port: 1995, weight: 1, priority: -1, metadata: {} },
        ],
      },
      { nodes: {} },
      { nodes: [] },
      { service_name: 'svc', discovery_type: 'dns' },
      { nodes, type: 'chash', key: 'remote_addr' },
      { nodes, type: 'chash', key: 'mqtt_client_id' },
      { nodes, type: 'chash', hash_on: 'consumer' },
      { nodes, type: 'chash', hash_on: 'header', key: 'X-Real-IP' },
      { nodes, type: 'chash', hash_on: 'vars_combinations', key: '$remote_addr$remote_port' },
      {
        nodes,
        type: 'least_conn',
        retries: 0,
        retry_timeout: 0.5,
        timeout: { connect: 0.5, send: 1, read: 600 },
      },
      { nodes, type: 'ewma', scheme: 'udp', labels: { env: 'production' } },
      { nodes, checks: { active: { type: 'tcp', unhealthy: { tcp_failures: 1, interval: 1 } } } },
      {
        nodes,
        checks: {
          active: { type: 'tcp' },
          passive: { type: 'tcp', unhealthy: { tcp_failures: 0 } },
        },
      },
      { nodes, pass_host: 'rewrite', upstream_host: 'example.com' },
      { id: 1, nodes, name: 'u1', desc: 'd' },
    ]) {
      assert.deepEqual(validateUpstream(body), { ok: true }, JSON.stringify(body));
    }
  });
});

describe('upstream: rejected bodies (spec §1.8, scenarios 24-27, 34)', () => {
  it('scenario 24: chash without a key, and with a key that fits no var', () => {
    assert.deepEqual(validateUpstream({ nodes, type: 'chash' }), rejected('missing key'));
    assert.deepEqual(
      validateUpstream({ nodes, type: 'chash', key: 'not_support' }),
      rejected(
        'invalid configuration: failed to match pattern "^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$" with "not_support"',
      ),
    );
    assert.deepEqual(
      validateUpstream({ nodes, type: 'chash', hash_on: 'header', key: '$#^@' }),
      rejected('invalid configuration: failed to match pattern "^[a-zA-Z0-9-_]+$" with "$#^@"'),
    );
    assert.deepEqual(
      validateUpstream({ nodes, type: 'chash', hash_on: 'cookie', key: '$#^@abc' }),
      rejected('invalid configuration: failed to match pattern "^[a-zA-Z0-9-_]+$" with "$#^@abc"'),
    );
    assert.deepEqual(
      validateUpstream({ nodes, type: 'chash', hash_on: 'bad' }),
      rejected(
        'invalid configuration: property "hash_on" validation failed: matches none of the enum values',
      ),
    );
  });

  it('scenario 25: timeouts, retries and retry_timeout', () => {
    assert.deepEqual(
      validateUpstream({ nodes, timeout: { connect: 0, send: 0, read: 0 } }),
      rejected(
        'invalid configuration: property "timeout" validation failed: property "connect" validation failed: expected 0 to be greater than 0',
      ),
    );
    assert.deepEqual(
      validateUpstream({ nodes, timeout: { connect: 1, send: 1 } }),
      rejected(
        'invalid configuration: property "timeout" validation failed: property "read" is required',
      ),
    );
    assert.deepEqual(
      validateUpstream({ nodes, retries: -1 }),
      rejected(
        'invalid configuration: property "retries" validation failed: expected -1 to be at least 0',
      ),
    );
    assert.deepEqual(
      validateUpstream({ nodes, retry_timeout: -1 }),
      rejected(
        'invalid configuration: property "retry_timeout" validation failed: expected -1 to be at least 0',
      ),
    );
  });

  it('scenario 26: a bare IPv6 host, before the schema', () => {
    assert.deepEqual(
      validateUpstream({ nodes: [{ host: '::1', port: 80, weight: 1 }] }),
      rejected("invalid configuration: IPv6 address must be enclosed with '[' and ']'"),
    );
    assert.deepEqual(
      validateUpstream({ nodes: [{ host: '::1', port: 80, weight: 1 }], foo: 1 }),
      rejected("invalid configuration: IPv6 address must be enclosed with '[' and ']'"),
    );
  });

  it('scenario 26: bad array nodes fail the nodes anyOf', () => {
    const message =
      'invalid configuration: property "nodes" validation failed: object matches none of the required';
    assert.deepEqual(
      validateUpstream({ nodes: [{ host: '127.0.0.1', port: 80, weight: -1 }] }),
      rejected(message),
    );
    assert.deepEqual(
      validateUpstream({ nodes: [{ host: '127.0.0.1', port: 0, weight: 1 }] }),
      rejected(message),
    );
    assert.deepEqual(validateUpstream({ nodes: [{ port: 80, weight: 1 }] }), rejected(message));
    assert.deepEqual(
      validateUpstream({ nodes: [{ host: '127.0.0.1', port: 8080, weight: '1' }] }),
      rejected(message),
    );
    assert.deepEqual(
      validateUpstream({ nodes: [{ host: '127.#.%.1', port: 8080, weight: 1 }] }),
      rejected(message),
    );
    assert.deepEqual(validateUpstream({ nodes: ['nghttp2.org'] }), rejected(message));
    assert.deepEqual(validateUpstream({ nodes: { '127.0.0.1:80': -1 } }), rejected(message));
  });

  it('scenario 27: passive checks alone, and counters above 254', () => {
    assert.deepEqual(
      validateUpstream({
        nodes,
        checks: { passive: { type: 'tcp', unhealthy: { tcp_failures: 1 } } },
      }),
      rejected(
        'invalid configuration: property "checks" validation failed: object matches none of the required: ["active"] or ["active","passive"]',
      ),
    );
    assert.deepEqual(
      validateUpstream({ nodes, checks: { active: { healthy: { successes: 255 } } } }),
      rejected(
        'invalid configuration: property "checks" validation failed: property "active" validation failed: property "healthy" validation failed: property "successes" validation failed: expected 255 to be at most 254',
      ),
    );
    assert.deepEqual(
      validateUpstream({ nodes, checks: { active: { healthy: { http_statuses: [200, 200] } } } }),
      rejected(
        'invalid configuration: property "checks" validation failed: property "active" validation failed: property "healthy" validation failed: property "http_statuses" validation failed: expected unique items but items 1 and 2 are equal',
      ),
    );
    assert.deepEqual(
      validateUpstream({ nodes, checks: { active: { type: 'grpc' } } }),
      rejected(
        'invalid configuration: property "checks" validation failed: property "active" validation failed: property "type" validation failed: matches none of the enum values',
      ),
    );
    assert.deepEqual(
      validateUpstream({ nodes, checks: { active: { req_headers: ['a', 1] } } }),
      rejected(
        'invalid configuration: property "checks" validation failed: property "active" validation failed: property "req_headers" validation failed: failed to validate item 2: wrong type: expected string, got number',
      ),
    );
  });

  it('Strait extension: active UDP checks with udp_request and udp_response', () => {
    assert.deepEqual(
      validateUpstream({
        nodes,
        checks: {
          active: { type: 'udp', udp_request: 'ping', udp_response: 'pong', timeout: 0.5 },
          passive: { type: 'tcp', unhealthy: { timeouts: 3 } },
        },
      }),
      { ok: true },
    );
    assert.deepEqual(
      validateUpstream({ nodes, checks: { active: { type: 'udp', udp_response: '' } } }),
      rejected(
        'invalid configuration: property "checks" validation failed: property "active" validation failed: property "udp_response" validation failed: string too short, expected at least 1, got 0',
      ),
    );
  });

  it('rejects a hash node port outside 1..65535 after the schema', () => {
    assert.deepEqual(
      validateUpstream({ nodes: { '127.0.0.1:70000': 1 } }),
      rejected('invalid port 70000'),
    );
    assert.deepEqual(validateUpstream({ nodes: { '127.0.0.1:0': 1 } }), rejected('invalid port 0'));
    assert.deepEqual(
      validateUpstream({ nodes: { '[::1]:65536': 1 } }),
      rejected('invalid port 65536'),
    );
  });

  it('rejects an empty upstream_host with pass_host rewrite', () => {
    assert.deepEqual(
      validateUpstream({ nodes, pass_host: 'rewrite' }),
      rejected("`upstream_host` can't be empty when `pass_host` is `rewrite`"),
    );
    assert.deepEqual(
      validateUpstream({ nodes, pass_host: 'rewrite', upstream_host: '' }),
      rejected(
        'invalid configuration: property "upstream_host" validation failed: failed to match pattern "^\\\\*$|^\\\\*?[0-9a-zA-Z-._\\\\[\\\\]:]+$" with ""',
      ),
    );
  });

  it('rejects bad labels, ids and unknown fields', () => {
    assert.deepEqual(
      validateUpstream({ nodes, labels: { env: {} } }),
      rejected(
        'invalid configuration: property "labels" validation failed: failed to validate env (matching ".*"): wrong type: expected string, got table',
      ),
    );
    assert.deepEqual(
      validateUpstream({ id: 'invalid_id$', nodes }),
      rejected(
        'invalid configuration: property "id" validation failed: object matches none of the required',
      ),
    );
    assert.deepEqual(
      validateUpstream({ nodes, foo: 'bar' }),
      rejected('invalid configuration: additional properties forbidden, found foo'),
    );
    assert.deepEqual(
      validateUpstream({}),
      rejected('invalid configuration: value should match only one schema, but matches none'),
    );
  });

  it('STRAIT: rejects a balancer type it does not implement', () => {
    assert.deepEqual(
      validateUpstream({ nodes, type: 'unknown' }),
      rejected(
        'invalid configuration: property "type" validation failed: matches none of the enum values',
      ),
    );
  });
});

describe('upstream: tls', () => {
  let client: TestCertificate;
  let other: TestCertificate;

  before(() => {
    client = createSelfSignedCertificate('client.test');
    other = createSelfSignedCertificate('other.test', 'ec');
  });

  it('accepts a parsable client certificate and key', () => {
    assert.deepEqual(
      validateUpstream({
        nodes,
        scheme: 'tls',
        tls: { client_cert: client.cert, client_key: client.key },
      }),
      { ok: true },
    );
  });

  it('requires both halves of the pair', () => {
    assert.deepEqual(
      validateUpstream({ nodes, tls: { client_cert: client.cert } }),
      rejected(
        'invalid configuration: property "tls" validation failed: failed to validate dependent schema for "client_cert": property "client_key" is required',
      ),
    );
    assert.deepEqual(
      validateUpstream({
        nodes,
        tls: { client_cert_id: 1, client_cert: client.cert, client_key: client.key },
      }),
      rejected(
        'invalid configuration: property "tls" validation failed: failed to validate dependent schema for "client_cert_id": value wasn\'t supposed to match schema',
      ),
    );
  });

  it('rejects an unparsable certificate or key', () => {
    assert.deepEqual(
      validateUpstream({ nodes, tls: { client_cert: 'x'.repeat(128), client_key: client.key } }),
      rejected('failed to parse cert: PEM_read_bio_X509_AUX() failed'),
    );
    assert.deepEqual(
      validateUpstream({
        nodes,
        tls: { client_cert: client.cert, client_key: `---${'A'.repeat(128)}` },
      }),
      rejected('failed to parse key: PEM_read_bio_PrivateKey() failed'),
    );
  });

  it('reports an encrypted key that cannot be decrypted', () => {
    const options = { decryptPrivateKey: () => undefined };
    assert.deepEqual(
      validateUpstream(
        { nodes, tls: { client_cert: client.cert, client_key: 'AAA'.repeat(128) } },
        options,
      ),
      rejected('failed to decrypt previous encrypted key'),
    );
    const decrypting = {
      decryptPrivateKey: (stored: string) =>
        stored === 'stored-key'.repeat(8) ? client.key : undefined,
    };
    assert.deepEqual(
      validateUpstream(
        { nodes, tls: { client_cert: client.cert, client_key: 'stored-key'.repeat(8) } },
        decrypting,
      ),
      { ok: true },
    );
  });

  it('STRAIT: rejects a key that does not belong to the certificate', () => {
    assert.deepEqual(
      validateUpstream({ nodes, tls: { client_cert: client.cert, client_key: other.key } }),
      rejected('private key does not match the certificate'),
    );
  });

  it('scenario 34: client_cert_id must name a client ssl', async () => {
    const ssls = sslStore({ '1': { type: 'server' }, '2': { type: 'client' }, '3': {} });
    const body = (id: string | number) => ({ nodes, tls: { client_cert_id: id } });
    assert.deepEqual(
      await validateUpstreamWithReferences(body('9999999'), ssls),
      rejected('failed to fetch ssl info by ssl id [9999999], response code: 404'),
    );
    assert.deepEqual(
      await validateUpstreamWithReferences(body('1'), ssls),
      rejected('failed to fetch ssl info by ssl id [1], wrong ssl type'),
    );
    assert.deepEqual(
      await validateUpstreamWithReferences(body(3), ssls),
      rejected('failed to fetch ssl info by ssl id [3], wrong ssl type'),
    );
    assert.deepEqual(await validateUpstreamWithReferences(body(2), ssls), { ok: true });
    assert.deepEqual(validateUpstream(body('9999999')), { ok: true });
  });

  it('looks up client_cert_id after the port check and before pass_host', async () => {
    const ssls = sslStore({});
    assert.deepEqual(
      await validateUpstreamWithReferences(
        { nodes: { '127.0.0.1:0': 1 }, tls: { client_cert_id: 5 } },
        ssls,
      ),
      rejected('invalid port 0'),
    );
    assert.deepEqual(
      await validateUpstreamWithReferences(
        { nodes, pass_host: 'rewrite', tls: { client_cert_id: 5 } },
        ssls,
      ),
      rejected('failed to fetch ssl info by ssl id [5], response code: 404'),
    );
  });
});
