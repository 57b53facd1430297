import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateService, validateServiceWithReferences, type ReferenceLookups } from './index';

const upstream = { nodes: { '127.0.0.1:1995': 1 }, type: 'roundrobin' };

function rejected(message: string) {
  return { ok: false, message };
}

const references: ReferenceLookups = {
  upstreamExists: (id) => id === '1',
  serviceExists: () => true,
  findStreamRoute: () => undefined,
  findSsl: () => undefined,
};

describe('service', () => {
  it('accepts the stream-relevant shapes', () => {
    assert.deepEqual(validateService({ id: '1', upstream }), { ok: true });
    assert.deepEqual(
      validateService({
        name: 's',
        labels: { a: 'b' },
        upstream_id: '1',
        plugins: { 'limit-conn': { conn: 1, burst: 0, default_conn_delay: 1, key: 'remote_addr' } },
      }),
      { ok: true },
    );
    assert.deepEqual(
      validateService({ hosts: ['a.com'], enable_websocket: true, script: 'return {}  ' }),
      { ok: true },
    );
  });

  it('checks the schema first', () => {
    assert.deepEqual(
      validateService({ foo: 1 }),
      rejected('invalid configuration: additional properties forbidden, found foo'),
    );
    assert.deepEqual(
      validateService({ hosts: ['a.com', 'a.com'] }),
      rejected(
        'invalid configuration: property "hosts" validation failed: expected unique items but items 1 and 2 are equal',
      ),
    );
  });

  it('runs the full upstream checks on an inline upstream (unlike stream routes)', () => {
    assert.deepEqual(
      validateService({ upstream: { nodes: { '127.0.0.1:1995': 1 }, type: 'chash' } }),
      rejected('missing key'),
    );
    assert.deepEqual(
      validateService({ upstream: { nodes: [{ host: '::1', port: 80, weight: 1 }] } }),
      rejected("invalid configuration: IPv6 address must be enclosed with '[' and ']'"),
    );
  });

  it('checks plugins with the HTTP wording', () => {
    assert.deepEqual(validateService({ plugins: { nope: {} } }), rejected('unknown plugin [nope]'));
    assert.deepEqual(
      validateService({ plugins: { 'limit-conn': {} } }),
      rejected(
        'failed to check the configuration of plugin limit-conn err: property "conn" is required',
      ),
    );
  });

  it('checks upstream_id in the store, after the inline upstream', async () => {
    assert.deepEqual(
      await validateServiceWithReferences({ upstream_id: '2' }, references),
      rejected('failed to fetch upstream info by upstream id [2], response code: 404'),
    );
    assert.deepEqual(
      await validateServiceWithReferences({ upstream_id: '1', upstream }, references),
      { ok: true },
    );
    assert.deepEqual(
      await validateServiceWithReferences({ upstream_id: '2', plugins: { nope: {} } }, references),
      rejected('failed to fetch upstream info by upstream id [2], response code: 404'),
    );
  });
});
