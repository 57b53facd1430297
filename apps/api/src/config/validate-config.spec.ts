import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError } from './config-error';
import { DEFAULT_KEYRING, DEFAULT_STREAM_PLUGINS, type StraitConfig } from './strait-config';
import { normaliseCidr, validateConfig } from './validate-config';
import { parseConfigText } from './config-file';

const homeDir = resolve('/srv/strait');

function validate(raw: unknown): StraitConfig {
  return validateConfig(raw, { homeDir });
}

function rejects(raw: unknown, key: string, reason: string | RegExp): ConfigError {
  try {
    validate(raw);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_CONFIG');
    assert.equal(error.key, key);
    if (typeof reason === 'string') assert.equal(error.reason, reason);
    else assert.match(error.reason, reason);
    assert.ok(error.message.startsWith(`${key}: `), error.message);
    return error;
  }
  assert.fail(`expected ${key} to be rejected`);
}

const withListeners = { apisix: { stream_proxy: { tcp: [9100], udp: [9200] } } };

void describe('validateConfig defaults', () => {
  void it('turns an empty document into the documented defaults', () => {
    for (const empty of [undefined, null, {}]) {
      const config = validate(empty);
      assert.equal(config.adminEnabled, true);
      assert.equal(config.streamEnabled, false);
      assert.equal(config.proxyMode, undefined);
      assert.deepEqual(config.listeners, []);
      assert.deepEqual(config.admin, {
        listen: { host: '127.0.0.1', port: 9180 },
        keys: [],
        keyRequired: true,
        allow: ['127.0.0.0/24'],
        cors: true,
        apiVersion: 'v3',
      });
      assert.deepEqual(config.dashboard, {
        enabled: true,
        listen: { host: '127.0.0.1', port: 9000 },
      });
      assert.deepEqual(config.database, {
        type: 'sqlite',
        path: resolve(homeDir, 'data/strait.db'),
      });
      assert.equal(config.logLevel, 'info');
      assert.equal(config.udpSessionLimit, undefined);
      assert.equal(config.fallbackSni, undefined);
      assert.deepEqual(config.dataEncryption, {
        enabled: true,
        keyring: DEFAULT_KEYRING,
        keyringIsDefault: true,
      });
      assert.deepEqual(config.streamPlugins, DEFAULT_STREAM_PLUGINS);
      assert.deepEqual(config.prometheus, {
        enabled: false,
        exportAddr: { host: '127.0.0.1', port: 9091 },
        exportUri: '/apisix/prometheus/metrics',
        metricPrefix: 'apisix_',
      });
      assert.deepEqual(config.ignoredKeys, []);
      assert.equal(config.homeDir, homeDir);
    }
  });

  void it('reads null values as "use the default"', () => {
    const config = validate({
      apisix: { enable_admin: null, stream_proxy: null, ssl: null },
      deployment: { admin: { allow_admin: null, admin_listen: null } },
      stream_plugins: null,
    });
    assert.equal(config.adminEnabled, true);
    assert.deepEqual(config.admin.allow, ['127.0.0.0/24']);
    assert.deepEqual(config.streamPlugins, DEFAULT_STREAM_PLUGINS);
  });

  void it('returns a deeply frozen object', () => {
    const config = validate(withListeners);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.listeners));
    assert.ok(Object.isFrozen(config.listeners[0]));
    assert.ok(Object.isFrozen(config.admin.listen));
    assert.throws(() => {
      (config as { adminEnabled: boolean }).adminEnabled = false;
    }, TypeError);
  });

  void it('rejects a document that is not a mapping', () => {
    rejects(['apisix'], '(document)', 'must be a mapping, got a list');
    rejects('apisix', '(document)', 'must be a mapping, got "apisix"');
  });
});

void describe('stream mode and admin switches', () => {
  const cases: {
    name: string;
    apisix: Record<string, unknown>;
    stream: boolean;
    admin: boolean;
    listeners: number;
  }[] = [
    {
      name: 'listeners, no proxy_mode',
      apisix: { stream_proxy: { tcp: [9100] } },
      stream: true,
      admin: true,
      listeners: 1,
    },
    { name: 'no listeners, no proxy_mode', apisix: {}, stream: false, admin: true, listeners: 0 },
    {
      name: 'proxy_mode http with listeners',
      apisix: { proxy_mode: 'http', stream_proxy: { tcp: [9100] } },
      stream: false,
      admin: true,
      listeners: 0,
    },
    {
      name: 'proxy_mode stream',
      apisix: { proxy_mode: 'stream', stream_proxy: { udp: [9200] } },
      stream: true,
      admin: true,
      listeners: 1,
    },
    {
      name: 'proxy_mode http&stream',
      apisix: { proxy_mode: 'http&stream', stream_proxy: { tcp: [9100] } },
      stream: true,
      admin: true,
      listeners: 1,
    },
    {
      name: 'proxy_mode stream without listeners',
      apisix: { proxy_mode: 'stream' },
      stream: true,
      admin: true,
      listeners: 0,
    },
    {
      name: 'enable_admin false',
      apisix: { enable_admin: false, stream_proxy: { tcp: [9100] } },
      stream: true,
      admin: false,
      listeners: 1,
    },
    {
      name: 'enable_admin false, proxy_mode http',
      apisix: { enable_admin: false, proxy_mode: 'http' },
      stream: false,
      admin: false,
      listeners: 0,
    },
    {
      name: 'enable_admin true, proxy_mode stream',
      apisix: { enable_admin: true, proxy_mode: 'stream' },
      stream: true,
      admin: true,
      listeners: 0,
    },
  ];
  for (const { name, apisix, stream, admin, listeners } of cases) {
    void it(name, () => {
      const config = validate({ apisix });
      assert.equal(config.streamEnabled, stream);
      assert.equal(config.adminEnabled, admin);
      assert.equal(config.dashboard.enabled, admin);
      assert.equal(config.listeners.length, listeners);
    });
  }

  void it('reports stream_proxy as ignored when proxy_mode is http, but still checks it', () => {
    const config = validate({ apisix: { proxy_mode: 'http', stream_proxy: { tcp: [9100] } } });
    assert.deepEqual(config.ignoredKeys, ['apisix.stream_proxy']);
    rejects(
      { apisix: { proxy_mode: 'http', stream_proxy: { tcp: [70000] } } },
      'apisix.stream_proxy.tcp[0]',
      'invalid stream_proxy.tcp entry: port out of range (1-65535): 70000',
    );
  });

  void it('rejects unknown proxy modes and non-boolean enable_admin', () => {
    rejects(
      { apisix: { proxy_mode: 'tcp' } },
      'apisix.proxy_mode',
      'must be one of "http", "stream", "http&stream", got "tcp"',
    );
    rejects(
      { apisix: { enable_admin: 'yes' } },
      'apisix.enable_admin',
      'must be true or false, got "yes"',
    );
  });

  void it('reads apisix.enable_reuseport, true by default as in APISIX', () => {
    assert.equal(validate({}).reusePort, true);
    assert.equal(validate({ apisix: { enable_reuseport: false } }).reusePort, false);
    assert.deepEqual(validate({ apisix: { enable_reuseport: true } }).ignoredKeys, []);
    rejects(
      { apisix: { enable_reuseport: 'on' } },
      'apisix.enable_reuseport',
      'must be true or false, got "on"',
    );
  });

  void it('reports the pre-3.5 stream_proxy.only flag as ignored', () => {
    const config = validate({
      apisix: { enable_admin: false, stream_proxy: { only: false, tcp: [9100] } },
    });
    assert.deepEqual(config.ignoredKeys, ['apisix.stream_proxy.only']);
    assert.equal(config.streamEnabled, true);
  });
});

void describe('stream listeners', () => {
  void it('expands the seed configuration', () => {
    const config = validate({
      apisix: { stream_proxy: { tcp: [9100, '127.0.0.10:9101'], udp: [9200, '127.0.0.1:9211'] } },
    });
    assert.deepEqual(
      config.listeners.map((l) => `${l.protocol}:${l.host}:${l.port}`),
      ['tcp:0.0.0.0:9100', 'tcp:127.0.0.10:9101', 'udp:0.0.0.0:9200', 'udp:127.0.0.1:9211'],
    );
  });

  void it('applies apisix.proxy_protocol defaults and reports its HTTP keys as ignored', () => {
    const config = validate({
      apisix: {
        proxy_protocol: { enable_tcp_pp: true, listen_http_port: 9181 },
        stream_proxy: { tcp: [9100, { addr: 9101, proxy_protocol: false }] },
      },
    });
    assert.deepEqual(
      config.listeners.map((l) => l.proxyProtocol),
      [true, false],
    );
    assert.deepEqual(config.ignoredKeys, ['apisix.proxy_protocol.listen_http_port']);
  });

  void it('rejects duplicates across tcp entries, naming both', () => {
    rejects(
      {
        apisix: {
          stream_proxy: { tcp: ['127.0.0.1:9100', { addr: '127.0.0.1:9100', tls: true }] },
        },
      },
      'apisix.stream_proxy.tcp[1]',
      'duplicate listener tcp 127.0.0.1:9100, already listed by apisix.stream_proxy.tcp[0]',
    );
  });

  void it('rejects a range over the cap, naming the key', () => {
    rejects(
      { apisix: { stream_proxy: { udp: ['127.0.0.1:10000-20000'] } } },
      'apisix.stream_proxy.udp[0]',
      'invalid stream_proxy.udp entry: port range too large (at most 1000 ports): 127.0.0.1:10000-20000',
    );
  });

  void it('rejects a stream_proxy that is not a mapping', () => {
    rejects(
      { apisix: { stream_proxy: [9100] } },
      'apisix.stream_proxy',
      'must be a mapping, got a list',
    );
  });
});

void describe('admin settings', () => {
  void it('reads keys, listen, allow list, cors and version', () => {
    const config = validate({
      deployment: {
        admin: {
          admin_key: [
            { name: 'admin', key: 'a'.repeat(32), role: 'admin' },
            { name: 'viewer', key: 'v'.repeat(32), role: 'viewer' },
          ],
          admin_key_required: true,
          admin_listen: { ip: '0.0.0.0', port: 19180 },
          allow_admin: ['127.0.0.0/24', '10.0.0.1', '::1', 'FD00::/8'],
          enable_admin_cors: false,
          admin_api_version: 'v3',
        },
      },
    });
    assert.deepEqual(config.admin.keys, [
      { name: 'admin', key: 'a'.repeat(32), role: 'admin' },
      { name: 'viewer', key: 'v'.repeat(32), role: 'viewer' },
    ]);
    assert.deepEqual(config.admin.listen, { host: '0.0.0.0', port: 19180 });
    assert.deepEqual(config.admin.allow, ['127.0.0.0/24', '10.0.0.1/32', '::1/128', 'fd00::/8']);
    assert.equal(config.admin.cors, false);
  });

  void it('accepts the APISIX 2 spot for enable_admin_cors; the APISIX 3 spot wins', () => {
    assert.equal(validate({ apisix: { enable_admin_cors: false } }).admin.cors, false);
    assert.equal(
      validate({
        apisix: { enable_admin_cors: false },
        deployment: { admin: { enable_admin_cors: true } },
      }).admin.cors,
      true,
    );
  });

  void it('accepts nginx "all" and bracketed IPv6 listen addresses', () => {
    const config = validate({
      deployment: {
        admin: {
          admin_key: [{ key: 'k'.repeat(32), role: 'admin' }],
          allow_admin: ['all'],
          admin_listen: { ip: '[::1]' },
        },
      },
    });
    assert.deepEqual(config.admin.allow, ['0.0.0.0/0', '::/0']);
    assert.deepEqual(config.admin.listen, { host: '::1', port: 9180 });
    assert.equal(config.admin.keys[0].name, 'admin_key[0]');
  });

  void it('names the entry and the reason for bad admin keys', () => {
    rejects(
      { deployment: { admin: { admin_key: [{ name: 'a', key: 'k', role: 'root' }] } } },
      'deployment.admin.admin_key[0].role',
      'must be "admin" or "viewer", got "root"',
    );
    rejects(
      { deployment: { admin: { admin_key: [{ name: 'a', key: 'k' }] } } },
      'deployment.admin.admin_key[0].role',
      'must be "admin" or "viewer", got nothing',
    );
    rejects(
      { deployment: { admin: { admin_key: [{ name: 'a', role: 'admin' }] } } },
      'deployment.admin.admin_key[0].key',
      'is required',
    );
    const numeric = rejects(
      { deployment: { admin: { admin_key: [{ name: 'a', key: 12345, role: 'admin' }] } } },
      'deployment.admin.admin_key[0].key',
      'must be a string (quote it in YAML), got a number',
    );
    assert.ok(!numeric.message.includes('12345'), 'a key is a secret and is not echoed');
    rejects(
      { deployment: { admin: { admin_key: [{ name: 'a', key: '', role: 'admin' }] } } },
      'deployment.admin.admin_key[0].key',
      /must not be empty/,
    );
    rejects(
      {
        deployment: {
          admin: {
            admin_key: [
              { key: 'same', role: 'admin' },
              { key: 'same', role: 'viewer' },
            ],
          },
        },
      },
      'deployment.admin.admin_key[1].key',
      'same key as deployment.admin.admin_key[0]',
    );
    rejects(
      { deployment: { admin: { admin_key: 'k' } } },
      'deployment.admin.admin_key',
      'must be a list, got "k"',
    );
    rejects(
      { deployment: { admin: { admin_key: ['k'] } } },
      'deployment.admin.admin_key[0]',
      'must be a mapping, got "k"',
    );
  });

  void it('rejects bad listen addresses, allow lists and versions', () => {
    rejects(
      { deployment: { admin: { admin_listen: { port: 70000 } } } },
      'deployment.admin.admin_listen.port',
      'must be between 1 and 65535, got 70000',
    );
    rejects(
      { deployment: { admin: { admin_listen: { port: '9180' } } } },
      'deployment.admin.admin_listen.port',
      'must be an integer, got "9180"',
    );
    rejects(
      { deployment: { admin: { admin_listen: { ip: 'localhost' } } } },
      'deployment.admin.admin_listen.ip',
      'must be an IP address, got "localhost"',
    );
    rejects(
      { deployment: { admin: { allow_admin: ['10.0.0.0/33'] } } },
      'deployment.admin.allow_admin[0]',
      'invalid IP or CIDR: "10.0.0.0/33"',
    );
    rejects(
      { deployment: { admin: { allow_admin: [10] } } },
      'deployment.admin.allow_admin[0]',
      'must be an IP or CIDR string, got 10',
    );
    rejects(
      { deployment: { admin: { allow_admin: [] } } },
      'deployment.admin.allow_admin',
      /empty list denies every client/,
    );
    rejects(
      { deployment: { admin: { admin_api_version: 'v2' } } },
      'deployment.admin.admin_api_version',
      'only "v3" is supported, got "v2"',
    );
    rejects(
      { deployment: { admin: { https_admin: true } } },
      'deployment.admin.https_admin',
      /not supported/,
    );
    rejects(
      { deployment: { admin: { admin_key_required: 'no' } } },
      'deployment.admin.admin_key_required',
      'must be true or false, got "no"',
    );
  });

  void it('requires a key when the admin API is reachable beyond the loopback default (APISIX rule)', () => {
    rejects(
      { deployment: { admin: { allow_admin: ['0.0.0.0/0'] } } },
      'deployment.admin.admin_key',
      /missing valid Admin API token/,
    );
    // Each of these lifts the rule.
    validate({ deployment: { admin: { allow_admin: ['0.0.0.0/0'], admin_key_required: false } } });
    validate({
      apisix: { enable_admin: false },
      deployment: { admin: { allow_admin: ['0.0.0.0/0'] } },
    });
    validate({ deployment: { admin: {} } });
  });
});

void describe('other APISIX keys', () => {
  void it('reads fallback_sni, lower-cased', () => {
    assert.equal(
      validate({ apisix: { ssl: { fallback_sni: 'A.Test.com' } } }).fallbackSni,
      'a.test.com',
    );
    rejects(
      { apisix: { ssl: { fallback_sni: 42 } } },
      'apisix.ssl.fallback_sni',
      'must be a string, got 42',
    );
    rejects(
      { apisix: { ssl: { fallback_sni: 'a test' } } },
      'apisix.ssl.fallback_sni',
      'must be a host name, got "a test"',
    );
    rejects(
      { apisix: { ssl: { fallback_sni: '10.0.0.1' } } },
      'apisix.ssl.fallback_sni',
      'must be a host name, got "10.0.0.1"',
    );
  });

  void it('reads the keyring as a list or a single string, 16 or 32 bytes per key', () => {
    const list = validate({
      apisix: { data_encryption: { keyring: ['0123456789abcdef', 'x'.repeat(32)] } },
    });
    assert.deepEqual(list.dataEncryption, {
      enabled: true,
      keyring: ['0123456789abcdef', 'x'.repeat(32)],
      keyringIsDefault: false,
    });
    const single = validate({
      apisix: { data_encryption: { keyring: '0123456789abcdef', enable_encrypt_fields: false } },
    });
    assert.deepEqual(single.dataEncryption.keyring, ['0123456789abcdef']);
    assert.equal(single.dataEncryption.enabled, false);
    rejects(
      { apisix: { data_encryption: { keyring: ['0123456789abcdef', 'short'] } } },
      'apisix.data_encryption.keyring[1]',
      'must be 16 or 32 bytes long (AES-128 or AES-256), got 5',
    );
    rejects(
      { apisix: { data_encryption: { keyring: [] } } },
      'apisix.data_encryption.keyring',
      'must list at least one key',
    );
    rejects(
      { apisix: { data_encryption: { keyring: [1234567890123456] } } },
      'apisix.data_encryption.keyring[0]',
      'must be a string, got a number',
    );
  });

  void it('reads stream_plugins in order and rejects bad entries', () => {
    assert.deepEqual(validate({ stream_plugins: ['limit-conn', 'ip-restriction'] }).streamPlugins, [
      'limit-conn',
      'ip-restriction',
    ]);
    assert.deepEqual(validate({ stream_plugins: [] }).streamPlugins, []);
    rejects({ stream_plugins: 'limit-conn' }, 'stream_plugins', 'must be a list, got "limit-conn"');
    rejects(
      { stream_plugins: ['limit-conn', 3] },
      'stream_plugins[1]',
      'must be a plugin name, got 3',
    );
    rejects(
      { stream_plugins: ['syslog', 'syslog'] },
      'stream_plugins[1]',
      '"syslog" is listed twice',
    );
  });

  void it('enables the metrics export only with the prometheus stream plugin', () => {
    const config = validate({
      stream_plugins: ['prometheus'],
      plugin_attr: {
        prometheus: { export_addr: { ip: '127.0.0.1', port: 19091 }, refresh_interval: 15 },
      },
    });
    assert.equal(config.prometheus.enabled, true);
    assert.deepEqual(config.prometheus.exportAddr, { host: '127.0.0.1', port: 19091 });
    assert.deepEqual(config.ignoredKeys, ['plugin_attr.prometheus.refresh_interval']);
    rejects(
      {
        stream_plugins: ['prometheus'],
        plugin_attr: { prometheus: { enable_export_server: false } },
      },
      'plugin_attr.prometheus.enable_export_server',
      'L4 prometheus metric should be exposed via export server',
    );
    rejects(
      { plugin_attr: { prometheus: { export_addr: { port: 0 } } } },
      'plugin_attr.prometheus.export_addr.port',
      'must be between 1 and 65535, got 0',
    );
  });
});

void describe('ignored keys', () => {
  void it('accepts keys Strait does not use and lists them in file order', () => {
    const config = validate({
      apisix: {
        node_listen: [9080],
        enable_admin: true,
        ssl: { listen: [{ port: 9443 }], fallback_sni: 'a.test.com' },
        stream_proxy: { tcp: [9100] },
      },
      nginx_config: { stream: { enable_access_log: true } },
      deployment: {
        role: 'traditional',
        etcd: { host: ['http://127.0.0.1:2379'] },
        admin: {
          admin_key: [{ name: 'admin', key: 'k'.repeat(32), role: 'admin', note: 'x' }],
          enable_admin_ui: true,
        },
      },
      plugins: ['key-auth'],
      plugin_attr: { 'log-rotate': { interval: 3600 } },
      discovery: { dns: {} },
      etcd: { host: [] },
    });
    assert.deepEqual(config.ignoredKeys, [
      'apisix.node_listen',
      'apisix.ssl.listen',
      'nginx_config',
      'deployment.role',
      'deployment.etcd',
      'deployment.admin.admin_key[0].note',
      'deployment.admin.enable_admin_ui',
      'plugins',
      'plugin_attr.log-rotate',
      'discovery',
      'etcd',
    ]);
  });

  void it('reads nginx_config.stream.real_ip_from (the trusted PROXY protocol peers) and ignores the rest', () => {
    assert.equal(validate({}).realIpFrom, undefined);
    const config = validate({
      nginx_config: {
        worker_processes: 'auto',
        stream: { enable_access_log: false, real_ip_from: ['10.0.0.0/8', '::1', 'unix:'] },
      },
    });
    assert.deepEqual(config.realIpFrom, ['10.0.0.0/8', '::1']);
    assert.deepEqual(config.ignoredKeys, [
      'nginx_config.worker_processes',
      'nginx_config.stream.enable_access_log',
    ]);
    assert.deepEqual(
      validate({ nginx_config: { stream: { real_ip_from: '192.0.2.7' } } }).realIpFrom,
      ['192.0.2.7'],
    );
    rejects(
      { nginx_config: { stream: { real_ip_from: ['10.0.0.0/8', '10.0.0.300'] } } },
      'nginx_config.stream.real_ip_from[1]',
      'must be an IP address, a CIDR or "unix:", got "10.0.0.300"',
    );
    rejects(
      { nginx_config: { stream: { real_ip_from: { a: 1 } } } },
      'nginx_config.stream.real_ip_from',
      /^must be a list, got /,
    );
  });

  void it('does not check the types of ignored keys', () => {
    validate({ apisix: { node_listen: 'anything' }, nginx_config: 42, etcd: null });
  });
});

void describe('strait section', () => {
  void it('reads dashboard, database, log and udp settings', () => {
    const config = validate({
      strait: {
        dashboard: { listen: { ip: '0.0.0.0', port: 3000 } },
        database: { type: 'sqlite', path: 'var/strait.sqlite' },
        log: { level: 'debug' },
        udp: { session_limit: 5000 },
      },
    });
    assert.deepEqual(config.dashboard.listen, { host: '0.0.0.0', port: 3000 });
    assert.equal(config.database.path, resolve(homeDir, 'var/strait.sqlite'));
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.udpSessionLimit, 5000);
  });

  void it('reads handshake_timeout in whole seconds, 1 to 3600', () => {
    assert.equal(validate({}).handshakeTimeoutSeconds, undefined);
    assert.equal(validate({ strait: { handshake_timeout: 3 } }).handshakeTimeoutSeconds, 3);
    rejects(
      { strait: { handshake_timeout: 0 } },
      'strait.handshake_timeout',
      'must be between 1 and 3600, got 0',
    );
  });

  void it('reads workers: 1 by default, a positive integer, or auto = the CPU count', () => {
    assert.equal(validate({}).workers, 1);
    assert.equal(validate({ strait: { workers: 4 } }).workers, 4);
    assert.equal(validate({ strait: { workers: null } }).workers, 1);
    assert.equal(validate({ strait: { workers: 'auto' } }).workers, availableParallelism());
    // APISIX's worker_processes (auto in its shipped file) is not a fallback, only ignored.
    const apisixFile = validate({ nginx_config: { worker_processes: 'auto' } });
    assert.equal(apisixFile.workers, 1);
    assert.deepEqual(apisixFile.ignoredKeys, ['nginx_config']);
    for (const bad of [0, -2, 1.5, '2', 'all', true, [2]]) {
      rejects(
        { strait: { workers: bad } },
        'strait.workers',
        /^must be a positive integer or "auto", got /,
      );
    }
    rejects({ strait: { workers: 100000 } }, 'strait.workers', 'must be at most 256, got 100000');
  });

  void it('keeps absolute and in-memory database paths', () => {
    assert.equal(
      validate({ strait: { database: { path: '/var/lib/strait/db' } } }).database.path,
      '/var/lib/strait/db',
    );
    assert.equal(
      validate({ strait: { database: { path: ':memory:' } } }).database.path,
      ':memory:',
    );
  });

  void it('treats unknown keys in its own section as typos', () => {
    rejects(
      { strait: { dashbord: {} } },
      'strait.dashbord',
      'unknown key (expected one of: access_log, dashboard, database, drain_timeout, handshake_timeout, log, udp, workers)',
    );
    rejects(
      { strait: { database: { file: 'x' } } },
      'strait.database.file',
      'unknown key (expected one of: path, type)',
    );
    rejects(
      { strait: { dashboard: { listen: { host: '0.0.0.0' } } } },
      'strait.dashboard.listen.host',
      'unknown key (expected one of: ip, port)',
    );
  });

  void it('rejects wrong types and values', () => {
    rejects(
      { strait: { database: { type: 'postgres' } } },
      'strait.database.type',
      'must be "sqlite", got "postgres"',
    );
    rejects({ strait: { database: { path: '' } } }, 'strait.database.path', 'must not be empty');
    rejects(
      { strait: { log: { level: 'verbose' } } },
      'strait.log.level',
      'must be one of "debug", "info", "warn", "error", got "verbose"',
    );
    rejects(
      { strait: { udp: { session_limit: 0 } } },
      'strait.udp.session_limit',
      'must be between 1 and 10000000, got 0',
    );
    rejects(
      { strait: { udp: { session_limit: 1.5 } } },
      'strait.udp.session_limit',
      'must be an integer, got 1.5',
    );
    rejects({ strait: 'on' }, 'strait', 'must be a mapping, got "on"');
  });
});

void describe('address conflicts', () => {
  void it('names both keys when two servers would bind the same port', () => {
    rejects(
      { strait: { dashboard: { listen: { port: 9180 } } } },
      'strait.dashboard.listen',
      '127.0.0.1:9180 conflicts with deployment.admin.admin_listen (127.0.0.1:9180)',
    );
    rejects(
      { apisix: { stream_proxy: { tcp: [9180] } } },
      'apisix.stream_proxy.tcp[0]',
      '0.0.0.0:9180 conflicts with deployment.admin.admin_listen (127.0.0.1:9180)',
    );
    rejects(
      { stream_plugins: ['prometheus'], apisix: { stream_proxy: { tcp: ['[::]:9091'] } } },
      'apisix.stream_proxy.tcp[0]',
      '[::]:9091 conflicts with plugin_attr.prometheus.export_addr (127.0.0.1:9091)',
    );
  });

  void it('ignores servers that are off, UDP listeners and disjoint addresses', () => {
    validate({ apisix: { enable_admin: false, stream_proxy: { tcp: [9180, 9000] } } });
    validate({ apisix: { stream_proxy: { udp: [9180] } } });
    validate({ apisix: { stream_proxy: { tcp: ['127.0.0.2:9180', '[::1]:9180'] } } });
    validate({ apisix: { stream_proxy: { tcp: [9091] } } });
  });
});

void describe('normaliseCidr', () => {
  void it('normalises IPs and CIDRs and rejects the rest', () => {
    assert.equal(normaliseCidr('10.0.0.1'), '10.0.0.1/32');
    assert.equal(normaliseCidr('10.0.0.0/8'), '10.0.0.0/8');
    assert.equal(normaliseCidr('::1'), '::1/128');
    assert.equal(normaliseCidr('2001:DB8::/32'), '2001:db8::/32');
    assert.equal(normaliseCidr('10.0.0.0/'), undefined);
    assert.equal(normaliseCidr('10.0.0.0/-1'), undefined);
    assert.equal(normaliseCidr('::/129'), undefined);
    assert.equal(normaliseCidr('example.com/8'), undefined);
  });
});

describe('strait.access_log', () => {
  it('defaults to off and resolves a relative file path against the home directory', () => {
    const off = parseConfigText('apisix: {}\n', { homeDir: '/srv/strait' });
    assert.equal(off.accessLog.output, 'off');
    const file = parseConfigText(
      'strait:\n  access_log: { output: file, path: logs/a.log, progress_interval: 30 }\n',
      {
        homeDir: '/srv/strait',
      },
    );
    assert.deepEqual(file.accessLog, {
      output: 'file',
      path: '/srv/strait/logs/a.log',
      progressIntervalSeconds: 30,
    });
  });

  it('names the key of a bad output', () => {
    assert.throws(
      () =>
        parseConfigText('strait:\n  access_log: { output: syslog }\n', { homeDir: '/srv/strait' }),
      (error: unknown) => (error as { key?: string }).key === 'strait.access_log.output',
    );
  });
});
