import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from './config-error';
import {
  DEFAULT_REPO_ROOT,
  loadConfig,
  parseConfigText,
  resolveConfigLocation,
} from './config-file';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_CONFIG');
    return error;
  }
  assert.fail('expected a ConfigError');
}

/** The repository root: found from this file (compiled into apps/api/dist) or the cwd (npm scripts). */
function repoRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'conf/config.yaml')) && existsSync(join(dir, 'nx.json'))) return dir;
  }
  return process.cwd();
}

void describe('resolveConfigLocation', () => {
  const cwd = resolve('/work/somewhere');
  const root = resolve('/opt/strait');
  const nothingExists = { cwd, repoRoot: root, exists: () => false };

  void it('takes --config in its three spellings, relative to the cwd', () => {
    for (const argv of [
      ['--config', 'my.yaml'],
      ['--config=my.yaml'],
      ['-c', 'my.yaml'],
      ['/usr/bin/node', '/app/main.js', '--port', '1', '--config', 'my.yaml'],
    ]) {
      assert.deepEqual(resolveConfigLocation(argv, {}, nothingExists), {
        path: join(cwd, 'my.yaml'),
        origin: 'argv',
        homeDir: cwd,
        candidates: [join(cwd, 'my.yaml')],
      });
    }
    assert.equal(
      resolveConfigLocation(['--config', '/etc/strait.yaml'], {}, nothingExists).path,
      resolve('/etc/strait.yaml'),
    );
  });

  void it('lets --config win over STRAIT_CONFIG, and the last --config win', () => {
    const env = { STRAIT_CONFIG: '/env.yaml' };
    assert.equal(
      resolveConfigLocation(['--config', '/argv.yaml'], env, nothingExists).path,
      resolve('/argv.yaml'),
    );
    assert.equal(
      resolveConfigLocation(['-c', '/a.yaml', '--config=/b.yaml'], {}, nothingExists).path,
      resolve('/b.yaml'),
    );
  });

  void it('takes STRAIT_CONFIG when there is no --config; an empty value counts as unset', () => {
    const location = resolveConfigLocation([], { STRAIT_CONFIG: 'conf/prod.yaml' }, nothingExists);
    assert.equal(location.path, join(cwd, 'conf/prod.yaml'));
    assert.equal(location.origin, 'env');
    assert.equal(location.homeDir, cwd);
    assert.equal(resolveConfigLocation([], { STRAIT_CONFIG: '' }, nothingExists).origin, 'default');
  });

  void it('defaults to conf/config.yaml in the cwd, else under the repository root', () => {
    const inCwd = join(cwd, 'conf/config.yaml');
    const inRoot = join(root, 'conf/config.yaml');
    assert.deepEqual(
      resolveConfigLocation([], {}, { cwd, repoRoot: root, exists: (path) => path === inCwd }),
      {
        path: inCwd,
        origin: 'default',
        homeDir: cwd,
        candidates: [inCwd, inRoot],
      },
    );
    assert.deepEqual(resolveConfigLocation([], {}, nothingExists), {
      path: inRoot,
      origin: 'default',
      homeDir: root,
      candidates: [inCwd, inRoot],
    });
  });

  void it('finds the repository root from the compiled file', (t) => {
    if (!/apps[\\/]api[\\/](dist|src)[\\/]config$/.test(__dirname)) {
      t.skip('compiled outside the repository layout');
      return;
    }
    assert.ok(existsSync(join(DEFAULT_REPO_ROOT, 'nx.json')));
  });

  void it('ignores arguments after "--" and rejects --config without a path', () => {
    assert.equal(
      resolveConfigLocation(['--', '--config', 'x'], {}, nothingExists).origin,
      'default',
    );
    for (const argv of [['--config'], ['--config='], ['-c', '--verbose']]) {
      const error = configError(() => resolveConfigLocation(argv, {}, nothingExists));
      assert.ok(error.key === '--config' || error.key === '-c', error.key);
      assert.match(error.reason, /needs a file path/);
    }
  });
});

void describe('loadConfig', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'strait-config-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  }

  void it('loads the file named by --config and resolves the database against the cwd', () => {
    const path = write(
      'a.yaml',
      'apisix:\n  stream_proxy:\n    tcp: [9100]\nstrait:\n  database:\n    path: db/x.db\n',
    );
    const config = loadConfig({ argv: ['--config', 'a.yaml'], env: {}, cwd: dir });
    assert.equal(config.file, path);
    assert.equal(config.origin, 'argv');
    assert.equal(config.database.path, join(dir, 'db/x.db'));
    assert.equal(config.listeners.length, 1);
  });

  void it('loads the file named by STRAIT_CONFIG', () => {
    const path = write('env.yaml', 'apisix:\n  enable_admin: false\n');
    const config = loadConfig({ argv: [], env: { STRAIT_CONFIG: path }, cwd: dir });
    assert.equal(config.origin, 'env');
    assert.equal(config.adminEnabled, false);
  });

  void it('loads conf/config.yaml under the repository root when the cwd has none', () => {
    const root = join(dir, 'root');
    write('root/conf/config.yaml', 'strait:\n  log:\n    level: warn\n');
    const config = loadConfig({ argv: [], env: {}, cwd: join(dir, 'elsewhere'), repoRoot: root });
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.homeDir, root);
    assert.equal(config.database.path, join(root, 'data/strait.db'));
  });

  void it('reports a missing file with the places it looked', () => {
    const error = configError(() =>
      loadConfig({ argv: [], env: {}, cwd: join(dir, 'no'), repoRoot: join(dir, 'none') }),
    );
    assert.equal(error.key, join(dir, 'none/conf/config.yaml'));
    assert.match(error.reason, /config file not found/);
    assert.ok(error.reason.includes(join(dir, 'no/conf/config.yaml')));
    assert.match(error.reason, /--config/);

    const named = configError(() =>
      loadConfig({ argv: ['--config', 'missing.yaml'], env: {}, cwd: dir }),
    );
    assert.equal(named.key, join(dir, 'missing.yaml'));
    assert.equal(named.reason, 'config file not found (given by --config)');
  });

  void it('reports a directory given as the config file', () => {
    mkdirSync(join(dir, 'adir'), { recursive: true });
    const error = configError(() => loadConfig({ argv: ['--config', 'adir'], env: {}, cwd: dir }));
    assert.match(error.reason, /directory/);
  });

  void it('reports a YAML syntax error with line and column', () => {
    const path = write('bad.yaml', 'apisix:\n  stream_proxy:\n    tcp: [9100\nstrait: {}\n');
    const error = configError(() => loadConfig({ argv: ['--config', path], env: {} }));
    assert.equal(error.key, path);
    assert.match(error.reason, /^YAML syntax error: /);
    assert.equal(typeof error.line, 'number');
    assert.ok(error.line !== undefined && error.line >= 3, `line ${String(error.line)}`);
    assert.ok(error.message.startsWith(`${path}:${String(error.line)}:`), error.message);
  });

  void it('reports duplicate keys as YAML errors', () => {
    const error = configError(() =>
      parseConfigText('apisix:\n  enable_admin: true\n  enable_admin: false\n', {
        homeDir: dir,
        file: '/c.yaml',
      }),
    );
    assert.equal(error.line, 3);
    assert.match(error.reason, /Map keys must be unique/);
  });

  void it('places validation errors at the line of the offending value', () => {
    const text = [
      'apisix:',
      '  stream_proxy:',
      '    tcp:',
      '      - 9100',
      '      - 70000',
      'deployment:',
      '  admin:',
      '    admin_key:',
      '      - name: admin',
      '        key: abc',
      '        role: root',
    ].join('\n');
    const ports = configError(() =>
      parseConfigText(text, { homeDir: dir, file: '/c.yaml', env: {} }),
    );
    assert.equal(ports.key, 'apisix.stream_proxy.tcp[1]');
    assert.equal(
      ports.reason,
      'invalid stream_proxy.tcp entry: port out of range (1-65535): 70000',
    );
    assert.equal(ports.file, '/c.yaml');
    assert.equal(ports.line, 5);
    assert.equal(ports.column, 9);
    assert.equal(
      ports.message,
      'apisix.stream_proxy.tcp[1]: invalid stream_proxy.tcp entry: port out of range (1-65535): 70000 (/c.yaml:5:9)',
    );

    const role = configError(() =>
      parseConfigText(text.replace('70000', '9101'), { homeDir: dir, file: '/c.yaml', env: {} }),
    );
    assert.equal(role.key, 'deployment.admin.admin_key[0].role');
    assert.equal(role.reason, 'must be "admin" or "viewer", got "root"');
    assert.equal(role.line, 11);
  });

  void it('substitutes ${{NAME}} references from the given environment', () => {
    const config = parseConfigText(
      'apisix:\n  stream_proxy:\n    tcp:\n      - ${{TCP_PORT}}\ndeployment:\n  admin:\n    admin_key:\n      - name: ops\n        key: "${{ADMIN_KEY}}"\n        role: ${{ROLE:=viewer}}\n',
      { homeDir: dir, env: { TCP_PORT: '9300', ADMIN_KEY: '0123456789' } },
    );
    assert.equal(config.listeners[0].port, 9300);
    assert.deepEqual(config.admin.keys, [{ name: 'ops', key: '0123456789', role: 'viewer' }]);
  });

  void it('treats an empty or comment-only file as all defaults', () => {
    assert.equal(parseConfigText('', { homeDir: dir }).adminEnabled, true);
    assert.equal(parseConfigText('# nothing here\n', { homeDir: dir }).streamEnabled, false);
  });

  void it('loads the checked-in conf/config.yaml with every seed example in it', () => {
    const root = repoRoot();
    const config = loadConfig({ argv: [], env: {}, cwd: root, repoRoot: root });
    assert.equal(config.file, join(root, 'conf/config.yaml'));
    assert.equal(config.adminEnabled, true);
    assert.equal(config.streamEnabled, true);
    assert.deepEqual(
      config.listeners.map((l) => `${l.protocol} ${l.host}:${l.port}`),
      ['tcp 0.0.0.0:9100', 'tcp 127.0.0.10:9101', 'udp 0.0.0.0:9200', 'udp 127.0.0.1:9211'],
    );
    assert.deepEqual(config.admin.keys, [
      { name: 'admin', key: 'edd1c9f034335f136f87ad84b625c8f1', role: 'admin' },
    ]);
    assert.deepEqual(config.admin.listen, { host: '127.0.0.1', port: 9180 });
    assert.deepEqual(config.admin.allow, ['127.0.0.0/24']);
    assert.deepEqual(config.dashboard, {
      enabled: true,
      listen: { host: '127.0.0.1', port: 9000 },
    });
    assert.deepEqual(config.database, { type: 'sqlite', path: join(root, 'data/strait.db') });
    assert.deepEqual(config.ignoredKeys, []);
  });
});
