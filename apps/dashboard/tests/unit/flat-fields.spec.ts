import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldError, readFlat, writeFlat, type FieldSpec } from '../../src/lib/flat-fields';

const specs: FieldSpec[] = [
  { path: 'name', label: 'Name', kind: 'text' },
  { path: 'timeout.connect', label: 'Connect', kind: 'number' },
  { path: 'checks.active.healthy.http_statuses', label: 'Statuses', kind: 'integerList' },
  { path: 'checks.active.req_headers', label: 'Headers', kind: 'lines' },
  {
    path: 'checks.active.https_verify_certificate',
    label: 'Verify',
    kind: 'boolean',
    defaultValue: true,
  },
  { path: 'conf', label: 'Conf', kind: 'json' },
];

describe('flat fields', () => {
  it('round-trips nested values through the form representation', () => {
    const stored = {
      name: 'db',
      timeout: { connect: 1.5 },
      checks: {
        active: {
          healthy: { http_statuses: [200, 302] },
          req_headers: ['A: 1', 'B: 2'],
          https_verify_certificate: false,
        },
      },
      conf: { a: [1] },
    };
    const values = readFlat(stored, specs);
    assert.deepEqual(values, {
      name: 'db',
      'timeout.connect': '1.5',
      'checks.active.healthy.http_statuses': '200, 302',
      'checks.active.req_headers': 'A: 1\nB: 2',
      'checks.active.https_verify_certificate': false,
      conf: '{\n  "a": [\n    1\n  ]\n}',
    });
    const written: Record<string, unknown> = {};
    writeFlat(written, values, specs);
    assert.deepEqual(written, stored);
  });

  it('leaves out empty fields and booleans at their default', () => {
    const written: Record<string, unknown> = {};
    writeFlat(written, readFlat({}, specs), specs);
    assert.deepEqual(written, {});
  });

  it('reports input it cannot convert with the qualified path', () => {
    assert.throws(
      () => writeFlat({}, { 'timeout.connect': 'abc' }, specs, 'upstream.'),
      (error: unknown) => error instanceof FieldError && error.path === 'upstream.timeout.connect',
    );
    assert.throws(
      () => writeFlat({}, { conf: '{nope' }, specs),
      (error: unknown) =>
        error instanceof FieldError &&
        error.path === 'conf' &&
        /Not valid JSON/.test(error.message),
    );
  });
});
