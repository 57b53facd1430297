import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from './config-error';
import {
  inferPlainValue,
  substituteEnvironmentVariables,
  substituteText,
} from './environment-variables';

void describe('substituteText', () => {
  void it('replaces references, with defaults and spaces', () => {
    const env = { PORT: '9100', EMPTY: '' };
    assert.deepEqual(substituteText('${{PORT}}', env), { value: '9100', used: true });
    assert.deepEqual(substituteText('127.0.0.1:${{ PORT }}', env), {
      value: '127.0.0.1:9100',
      used: true,
    });
    assert.deepEqual(substituteText('${{MISSING:=9200}}', env), { value: '9200', used: true });
    assert.deepEqual(substituteText('${{ MISSING :=  a b  }}', env), { value: 'a b', used: true });
    assert.deepEqual(substituteText('${{EMPTY:=x}}', env), { value: '', used: true });
    assert.deepEqual(substituteText('$PORT ${PORT}', env), { value: '$PORT ${PORT}', used: false });
  });

  void it("fails with APISIX's message when a variable is unset and has no default", () => {
    assert.throws(() => substituteText('${{NOPE}}', {}), {
      message: "failed to handle configuration: can't find environment variable NOPE",
    });
  });
});

void describe('inferPlainValue', () => {
  void it('turns numbers and booleans into values, like APISIX', () => {
    assert.equal(inferPlainValue('9100'), 9100);
    assert.equal(inferPlainValue('-1.5'), -1.5);
    assert.equal(inferPlainValue('0x10'), 16);
    assert.equal(inferPlainValue('true'), true);
    assert.equal(inferPlainValue('false'), false);
    assert.equal(inferPlainValue('127.0.0.1:9100'), '127.0.0.1:9100');
    assert.equal(inferPlainValue('1e999'), '1e999');
    assert.equal(inferPlainValue(''), '');
  });
});

void describe('substituteEnvironmentVariables', () => {
  function substitute(text: string, env: Record<string, string>): unknown {
    const document = parseDocument(text);
    substituteEnvironmentVariables(document, env);
    return document.toJS();
  }

  void it('types plain scalars and keeps quoted ones strings', () => {
    const result = substitute(
      [
        'port: ${{PORT}}',
        'quoted: "${{PORT}}"',
        "single: '${{PORT}}'",
        'flag: ${{FLAG}}',
        'list:',
        '  - ${{PORT}}',
        '  - "x${{PORT}}"',
        '# ${{NOT_SET}} in a comment is left alone',
      ].join('\n'),
      { PORT: '9100', FLAG: 'false' },
    );
    assert.deepEqual(result, {
      port: 9100,
      quoted: '9100',
      single: '9100',
      flag: false,
      list: [9100, 'x9100'],
    });
  });

  void it('substitutes in keys too', () => {
    assert.deepEqual(substitute('${{NAME}}: 1', { NAME: 'strait' }), { strait: 1 });
  });

  void it('names the key and line of an unset variable', () => {
    const lineCounter = new LineCounter();
    const document = parseDocument(
      'deployment:\n  admin:\n    admin_key:\n      - key: "${{ADMIN_KEY}}"\n',
      {
        lineCounter,
      },
    );
    assert.throws(
      () => substituteEnvironmentVariables(document, {}, { file: '/x/config.yaml', lineCounter }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.key, 'deployment.admin.admin_key[0].key');
        assert.equal(
          error.reason,
          "failed to handle configuration: can't find environment variable ADMIN_KEY",
        );
        assert.equal(error.file, '/x/config.yaml');
        assert.equal(error.line, 4);
        assert.equal(error.column, 14);
        return true;
      },
    );
  });
});
