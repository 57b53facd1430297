/**
 * A seeded, deterministic generator of invalid and hostile admin API requests (no fuzzing
 * library): every request it produces is invalid BY CONSTRUCTION for its resource and method, so
 * the only correct answers are 4xx with an error text and an unchanged store. Hostile material
 * (prototype-pollution keys, unicode, control characters, injection strings, deep nesting, huge
 * numbers, long strings, malformed PEM, malformed JSON, invalid UTF-8) is layered on top of the
 * invalidating change, never instead of it.
 *
 * Things that are valid under some reading are avoided on purpose: JSON `null` (deletes a key in
 * PATCH), `[]` as an object (an empty Lua table in APISIX), partial `timeout` objects in PATCH
 * (deep merge completes them), checks that APISIX runs only on top-level upstreams (cert parse,
 * node port range, chash key) inside inline upstreams.
 */

export type Resource = 'stream_routes' | 'upstreams' | 'ssls' | 'services';
export type Method = 'PUT' | 'POST' | 'PATCH';

export interface HostileRequest {
  method: Method;
  path: string;
  body: string | Buffer;
  contentType?: string;
  /** The invalidating change, for the report's breakdown. */
  family: string;
}

export interface FuzzContext {
  /** A server_port value valid for stream routes. */
  streamPort: number;
  /** Ids of existing objects, the PATCH and replace-PUT targets. */
  existing: Record<Resource, string>;
  /** A valid certificate and key (for otherwise-valid ssl bodies) and a CA certificate. */
  cert: string;
  key: string;
  caCert: string;
}

/** A JSON token written as is (numbers JSON.stringify cannot express, deep nesting). */
class Raw {
  constructor(readonly text: string) {}
}
const raw = (text: string) => new Raw(text);

type Json = string | number | boolean | Raw | Json[] | { [key: string]: Json };
type Body = { [key: string]: Json };

/** mulberry32: small, fast, good enough to pick test cases deterministically. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Picker {
  constructor(readonly random: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
}

/** Serializes a body tree; own `__proto__` keys are written like any other key. */
export function serialize(value: Json): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  if (typeof value === 'object') {
    return `{${Object.keys(value)
      .map((key) => `${JSON.stringify(key)}:${serialize(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Sets an own property, even `__proto__` (plain assignment would change the prototype). */
function setOwn(target: Body, key: string, value: Json): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

const UNICODE_SAMPLES = [
  'héllo wörld',
  'Ωμέγα',
  '日本語のテキスト',
  'مرحبا بالعالم',
  '🚀🔥💥',
  'a\u200bb\u200dc',
  'e\u0301\u0301\u0301',
  '\u202eevil\u202c',
  'ＦＵＬＬＷＩＤＴＨ',
  '\ud800',
  '\udfff\ud800',
  'tab\tnew\nline\r',
  'nul\u0000byte',
  '\u0007\u001b[31mred',
];
const INJECTION_SAMPLES = [
  "'; DROP TABLE resources; --",
  '" OR 1=1 --',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  '%s%s%s%n',
  '${jndi:ldap://127.0.0.1/x}',
  '{{7*7}}',
  '$(reboot)',
  '\\\\',
];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];
const HUGE_NUMBERS = [
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '9007199254740993',
  '1e-400',
  '-0',
  '4.9e-324',
  '1.7976931348623157e309',
];

function longText(p: Picker, codePoints: number): string {
  const parts: string[] = [];
  let count = 0;
  while (count < codePoints) {
    const piece = p.pick([...UNICODE_SAMPLES.slice(0, 9), 'x'.repeat(50), ...INJECTION_SAMPLES]);
    parts.push(piece);
    count += [...piece].length;
  }
  return parts.join('');
}

function hostileString(p: Picker): string {
  return p.pick([...UNICODE_SAMPLES, ...INJECTION_SAMPLES]);
}

function malformedPem(p: Picker, label: string, minLength: number): string {
  const body = p.pick([
    () => 'A'.repeat(minLength + 64),
    () => Buffer.from(longText(p, minLength)).toString('base64'),
    () => '!!!! not base64 !!!! '.repeat(Math.ceil(minLength / 20)),
    () => 'MIIB' + 'x'.repeat(minLength),
  ])();
  const lines = body.match(/.{1,64}/g) ?? [body];
  return p.pick([
    () => `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`,
    () => `-----BEGIN ${label}-----\n${lines.join('\n')}\n`,
    () => `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END OTHER-----\n`,
    () => `${lines.join('\n')}\n`.padEnd(minLength + 10, '='),
  ])();
}

/** A hostile extra placed into an object where it does not by itself decide validity. */
function hostileLayer(p: Picker, body: Body): void {
  const where = p.pick(['top', 'labels', 'upstream', 'nodes', 'plugins']);
  const target = (() => {
    const nested = (body as Record<string, Json>)[where];
    if (
      where !== 'top' &&
      nested &&
      typeof nested === 'object' &&
      !Array.isArray(nested) &&
      !(nested instanceof Raw)
    )
      return nested as Body;
    return body;
  })();
  switch (p.int(0, 2)) {
    case 0: {
      const key = p.pick(PROTO_KEYS);
      const value: Json = p.pick<Json>([
        { polluted: 'yes' },
        { prototype: { polluted: 'yes' } },
        'polluted',
        { toString: 'x', valueOf: 'y', hasOwnProperty: 'z' },
      ]);
      setOwn(target, key, value);
      break;
    }
    case 1:
      if (target === body || where === 'labels')
        setOwn(target, hostileString(p).slice(0, 40) || 'k', hostileString(p));
      break;
    default:
      setOwn(
        target,
        p.pick(['toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']),
        p.pick<Json>(['x', 1, {}]),
      );
  }
}

interface Invalidator {
  family: string;
  /** Resources and methods for which the change is guaranteed to make the body invalid. */
  applies(resource: Resource, method: Method): boolean;
  apply(body: Body, p: Picker, context: FuzzContext): void;
}

const all = () => true;
const notPatch = (_resource: Resource, method: Method) => method !== 'PATCH';
const only =
  (...resources: Resource[]) =>
  (resource: Resource) =>
    resources.includes(resource);
const both =
  (a: (r: Resource, m: Method) => boolean, b: (r: Resource, m: Method) => boolean) =>
  (r: Resource, m: Method) =>
    a(r, m) && b(r, m);

/** Changes that make an upstream object invalid wherever it appears (schema-level only). */
function breakUpstream(upstream: Body, p: Picker, mergeSafe: boolean): string {
  const changes: [string, () => void][] = [
    [
      'upstream.nodes',
      () =>
        (upstream.nodes = p.pick<Json>([
          'x',
          5,
          true,
          { '127.0.0.1:80': -1 },
          { '127.0.0.1:80': 'w' },
          { '127.0.0.1:80': 1.5 },
          // Not 1e29 or 2^53+1: those are integers, and a weight has no maximum.
          { '127.0.0.1:80': raw(p.pick(['1e400', '-1e400', '-1', '0.5'])) },
          { '127.0.0.1:80': {} },
          [{ host: 5, port: 80, weight: 1 }],
          [{ host: '127.0.0.1', port: 0, weight: 1 }],
          [{ host: '127.0.0.1', port: 70000, weight: 1 }],
          [{ port: 80, weight: 1 }],
          [{ host: '127.0.0.1', port: 80 }],
          [{ host: '127.0.0.1', port: 80, weight: 1, priority: 'high' }],
          [{ host: 'bad host!', port: 80, weight: 1 }],
          [5],
          ['127.0.0.1:80'],
        ])),
    ],
    [
      'upstream.retries',
      () =>
        (upstream.retries = p.pick<Json>([-1, 1.5, 'x', raw('1e400'), {}, true, raw('-1e400')])),
    ],
    [
      'upstream.retry_timeout',
      () => (upstream.retry_timeout = p.pick<Json>([-1, 'x', {}, true, raw('-1e400')])),
    ],
    [
      'upstream.timeout',
      () =>
        (upstream.timeout = p.pick<Json>([
          { connect: 0, send: 1, read: 1 },
          { connect: -1, send: 1, read: 1 },
          { connect: '1', send: 1, read: 1 },
          { connect: 1, send: raw('-1e400'), read: 1 },
          { connect: 1, send: 1, read: {} },
          'x',
          5,
          ...(mergeSafe ? [] : [{ connect: 1 }, { send: 1, read: 1 }]),
        ])),
    ],
    [
      'upstream.type',
      () => (upstream.type = p.pick<Json>([5, true, {}, ['roundrobin'], raw('1e400')])),
    ],
    [
      'upstream.scheme',
      () => (upstream.scheme = p.pick<Json>(['ftp', 5, 'TCP', '', 'tcp ', hostileString(p)])),
    ],
    [
      'upstream.hash_on',
      () => (upstream.hash_on = p.pick<Json>(['nope', 5, 'VARS', hostileString(p)])),
    ],
    [
      'upstream.checks',
      () =>
        (upstream.checks = p.pick<Json>([
          { passive: { type: 'tcp' } },
          { active: { type: 'ftp' } },
          { active: { type: 'tcp', healthy: { interval: 0 } } },
          { active: { type: 'tcp', unhealthy: { tcp_failures: 255 } } },
          { active: { timeout: 'x' } },
          'x',
        ])),
    ],
    [
      'upstream.tls',
      () =>
        (upstream.tls = p.pick<Json>([
          { client_cert: 'short' },
          { client_key: 'k'.repeat(80) },
          { client_cert: 'c'.repeat(200) },
          { verify: 'yes' },
          'x',
          5,
        ])),
    ],
    [
      'upstream.keepalive_pool',
      () =>
        (upstream.keepalive_pool = p.pick<Json>([
          { size: 0 },
          { size: 'x' },
          { idle_timeout: -1 },
          { requests: 0 },
          5,
        ])),
    ],
    ['upstream.pass_host', () => (upstream.pass_host = p.pick<Json>(['nope', 5, 'PASS']))],
    [
      'upstream.upstream_host',
      () => (upstream.upstream_host = p.pick<Json>(['bad host!', 5, '', {}])),
    ],
    [
      'upstream.unknown-key',
      () => setOwn(upstream, p.pick(['weight', 'x_unknown', 'Nodes', '']), 1),
    ],
  ];
  if (!mergeSafe) changes.push(['upstream.missing-nodes', () => delete upstream.nodes]);
  const [family, change] = p.pick(changes);
  change();
  return family;
}

const INVALIDATORS: Invalidator[] = [
  {
    family: 'unknown top-level key',
    applies: all,
    apply: (body, p) =>
      setOwn(
        body,
        p.pick(['x_unknown', 'priority', 'Nodes', 'serverPort', 'enable', '🔥', 'ключ', ' ', '']),
        p.pick<Json>([1, 'x', {}, [1], true]),
      ),
  },
  {
    family: 'desc wrong type',
    applies: all,
    apply: (body, p) =>
      (body.desc = p.pick<Json>([5, true, {}, ['a'], raw('1e400'), { __nested: 'x' }])),
  },
  {
    family: 'desc too long',
    applies: all,
    apply: (body, p) => (body.desc = longText(p, p.pick([300, 1000, 20_000]))),
  },
  {
    family: 'labels invalid',
    applies: all,
    apply: (body, p) =>
      (body.labels = p.pick<Json>([
        { k: '' },
        { k: 'has space' },
        { k: 5 },
        { k: 'x'.repeat(300) },
        'str',
        5,
        ['a'],
        { k: {} },
        { k: 'tab\tinside' },
        { k: 'new\nline' },
      ])),
  },
  {
    family: 'name invalid',
    applies: (resource) => resource !== 'ssls',
    apply: (body, p) => (body.name = p.pick<Json>(['', 'n'.repeat(300), 5, {}, true])),
  },
  {
    family: 'name on ssl (no such field)',
    applies: only('ssls'),
    apply: (body) => (body.name = 'ssl-name'),
  },
  {
    family: 'body id differs / not allowed',
    applies: notPatch,
    apply: (body, p) =>
      (body.id = p.pick<Json>(['other-id', 'x'.repeat(65), 'a b', 0, -1, {}, hostileString(p)])),
  },
  {
    family: 'forbidden create_time/update_time',
    applies: notPatch,
    apply: (body, p) => {
      const field = p.pick(['create_time', 'update_time']);
      const upstream = body.upstream;
      if (
        upstream &&
        typeof upstream === 'object' &&
        !Array.isArray(upstream) &&
        !(upstream instanceof Raw) &&
        p.chance(0.4)
      )
        (upstream as Body)[field] = 1;
      else body[field] = p.pick<Json>([1, 1_700_000_000]);
    },
  },
  {
    family: 'server_port invalid',
    applies: only('stream_routes'),
    apply: (body, p) =>
      (body.server_port = p.pick<Json>([
        0,
        -1,
        65536,
        1.5,
        '80',
        true,
        [80],
        {},
        ...HUGE_NUMBERS.map(raw),
      ])),
  },
  {
    family: 'remote_addr/server_addr invalid',
    applies: only('stream_routes'),
    apply: (body, p) =>
      (body[p.pick(['remote_addr', 'server_addr'])] = p.pick<Json>([
        'not-an-ip',
        '300.1.1.1',
        '1.2.3.4/33',
        ':/8',
        '',
        5,
        '127.0.0.1 ',
        '١٢٧.٠.٠.١',
        'nul\u0000',
        ['127.0.0.1'],
        '127.0.0.1/-1',
        hostileString(p),
      ])),
  },
  {
    family: 'sni invalid',
    applies: only('stream_routes', 'ssls'),
    apply: (body, p) =>
      (body.sni = p.pick<Json>([
        'a b',
        '',
        5,
        'ü.example',
        '*.*',
        'a/b',
        ['a.example'],
        'x'.repeat(300) + '!',
        'nul\u0000.example',
      ])),
  },
  {
    family: 'upstream not an object',
    applies: only('stream_routes', 'services'),
    apply: (body, p) => (body.upstream = p.pick<Json>([5, 'x', true, ['a'], raw('1e400')])),
  },
  {
    family: 'inline upstream invalid',
    applies: only('stream_routes', 'services'),
    apply: (body, p, context) => {
      const upstream: Body = {
        type: 'roundrobin',
        nodes: { [`127.0.0.1:${context.streamPort}`]: 1 },
      };
      breakUpstream(upstream, p, false);
      body.upstream = upstream;
    },
  },
  {
    family: 'upstream_id/service_id invalid or missing',
    applies: only('stream_routes', 'services'),
    apply: (body, p) => {
      const field = p.pick(['upstream_id', 'service_id']);
      body[field] = p.pick<Json>([
        '',
        'a b',
        'x'.repeat(65),
        0,
        -1,
        1.5,
        {},
        true,
        `missing-${p.int(0, 1e6)}`,
        'ü',
        '../x',
      ]);
      // a service has no service_id field: that is invalid too
    },
  },
  {
    family: 'plugins invalid',
    applies: only('stream_routes', 'services'),
    apply: (body, p) =>
      (body.plugins = p.pick<Json>([
        5,
        'x',
        { 'no-such-plugin': {} },
        { 'ip-restriction': 5 },
        { 'ip-restriction': { whitelist: 5 } },
        { 'ip-restriction': { whitelist: ['not-an-ip'] } },
        { 'limit-conn': { conn: -1 } },
        ['ip-restriction'],
        { __proto__plugin: { a: 1 } },
      ])),
  },
  {
    family: 'protocol invalid',
    applies: only('stream_routes'),
    apply: (body, p) =>
      (body.protocol = p.pick<Json>([
        {},
        { name: 5 },
        { name: 'no-such-protocol' },
        'redis',
        { name: 'redis', superior_id: 'missing-x' },
        { conf: {} },
      ])),
  },
  {
    family: 'top-level upstream invalid',
    applies: both(only('upstreams'), notPatch),
    apply: (body, p) => {
      breakUpstream(body, p, false);
    },
  },
  {
    family: 'top-level upstream invalid (merge-safe)',
    applies: only('upstreams'),
    apply: (body, p) => {
      breakUpstream(body, p, true);
    },
  },
  {
    family: 'upstream-only checks (node port, IPv6 brackets, chash key, tls refs)',
    applies: only('upstreams'),
    apply: (body, p, context) => {
      p.pick([
        () => (body.nodes = { '127.0.0.1:99999': 1 }),
        () => (body.nodes = [{ host: '::1', port: 80, weight: 1 }]),
        () => {
          body.type = 'chash';
          body.hash_on = 'vars';
          delete body.key;
        },
        () => {
          body.type = 'chash';
          body.hash_on = 'vars';
          body.key = p.pick(['not_a_var', 'remote addr', hostileString(p)]);
        },
        () => (body.tls = { client_cert_id: `missing-${p.int(0, 1e6)}` }),
        () =>
          (body.tls = {
            client_cert: malformedPem(p, 'CERTIFICATE', 128),
            client_key: malformedPem(p, 'PRIVATE KEY', 64),
          }),
        () =>
          (body.tls = {
            client_cert: context.cert,
            client_key: malformedPem(p, 'PRIVATE KEY', 64),
          }),
      ])();
    },
  },
  {
    family: 'malformed PEM (cert/key/client.ca)',
    applies: only('ssls'),
    apply: (body, p, context) => {
      p.pick([
        () => (body.cert = malformedPem(p, 'CERTIFICATE', 128)),
        () => (body.key = malformedPem(p, 'PRIVATE KEY', 64)),
        () => (body.cert = context.key.padEnd(200, '\n')),
        () => (body.key = context.cert),
        () => (body.cert = 'short'),
        () => (body.key = 5),
        () => (body.client = { ca: malformedPem(p, 'CERTIFICATE', 128) }),
        () => (body.certs = [malformedPem(p, 'CERTIFICATE', 128)]),
      ])();
    },
  },
  {
    family: 'ssl fields invalid',
    applies: only('ssls'),
    apply: (body, p, context) => {
      p.pick([
        () => (body.snis = p.pick<Json>([['ok.example', 5], 'x', ['a b'], ['ok.example']])),
        () => (body.type = p.pick<Json>(['other', 5, ''])),
        () =>
          (body.client = p.pick<Json>([
            {},
            { ca: 'short' },
            { ca: context.caCert, depth: -1 },
            { ca: context.caCert, depth: 'x' },
            'x',
          ])),
        () => (body.status = p.pick<Json>([2, -1, 'on', true])),
        () =>
          (body.ssl_protocols = p.pick<Json>([
            ['TLSv1.0'],
            'TLSv1.2',
            ['TLSv1.2', 'TLSv1.2'],
            ['SSLv3'],
            ['TLSv1.1', 'TLSv1.2', 'TLSv1.3', 'TLSv1.3'],
            [5],
          ])),
        () => {
          body.certs = [context.cert];
          body.keys = p.pick<Json>([[context.key, context.key], ['k'.repeat(80)], [5]]);
        },
      ])();
    },
  },
  {
    family: 'ssl without sni/snis',
    applies: both(only('ssls'), notPatch),
    apply: (body) => delete body.sni,
  },
  {
    family: 'service fields invalid',
    applies: only('services'),
    apply: (body, p) => {
      p.pick([
        () => (body.enable_websocket = p.pick<Json>(['yes', 5, {}])),
        () => (body.hosts = p.pick<Json>([5, ['a b'], ['a.example', 'a.example'], 'a.example'])),
        () => (body.script = p.pick<Json>([5, 'short', {}])),
        () => (body.service_id = 'x'),
      ])();
    },
  },
];

const MALFORMED_JSON = [
  '',
  ' ',
  '{',
  '}',
  '{"a":}',
  "{'a':1}",
  '{"a":1,}',
  'NaN',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":undefined}',
  '{a:1}',
  '{"a" 1}',
  '[1,2',
  '"unterminated',
  '{"a":"\\x41"}',
  '{"a":01}',
  '{"a":.5}',
  '{"a":1e}',
  '{"a":--1}',
  '{"a":tru}',
  '\u0000',
  '{"a":1}{"b":2}',
  '{"a":1} x',
  '/* c */ {"a":1}',
  '\ufeff{"a":1}',
  '{"a":"\\u12"}',
  '{"a":"line\nbreak"}',
  '{"\\ud800":1,',
  'null null',
  '{"desc":"x",,"a":1}',
];

/** Everything the generator makes for one run, deterministic for a seed. */
export function hostileRequests(
  count: number,
  seed: number,
  context: FuzzContext,
): HostileRequest[] {
  const p = new Picker(seededRandom(seed));
  const requests: HostileRequest[] = [];
  const resources: Resource[] = ['stream_routes', 'upstreams', 'ssls', 'services'];
  const base = (resource: Resource): Body => {
    const nodes = { [`127.0.0.1:${context.streamPort}`]: 1 };
    switch (resource) {
      case 'stream_routes':
        return {
          server_port: context.streamPort,
          desc: 'fuzz',
          upstream: { type: 'roundrobin', nodes },
        };
      case 'upstreams':
        return { type: 'roundrobin', nodes, retries: 1, timeout: { connect: 1, send: 1, read: 1 } };
      case 'services':
        return { desc: 'fuzz', upstream: { type: 'roundrobin', nodes } };
      case 'ssls':
        return { sni: 'fuzz.test.example', cert: context.cert, key: context.key };
    }
  };
  const invalidIds = [
    '*invalid',
    'a$b',
    'x'.repeat(65),
    encodeURIComponent('ü'),
    '%00',
    'a%20b',
    '..%2Fupstreams%2Fx',
    encodeURIComponent('🚀'),
    '%2e%2e',
  ];
  const pathFor = (resource: Resource, method: Method): string => {
    const prefix = `/apisix/admin/${resource}`;
    if (method === 'POST') return p.chance(0.9) ? prefix : `${prefix}/fz-${p.int(0, 9999)}`;
    if (method === 'PATCH') {
      if (p.chance(0.9)) return `${prefix}/${context.existing[resource]}`;
      return p.chance(0.5)
        ? `${prefix}/${p.pick(invalidIds)}`
        : `${prefix}/missing-${p.int(0, 9999)}`;
    }
    const roll = p.random();
    if (roll < 0.5) return `${prefix}/fz-${p.int(0, 9999)}`;
    if (roll < 0.85) return `${prefix}/${context.existing[resource]}`;
    if (roll < 0.95) return `${prefix}/${p.pick(invalidIds)}`;
    return prefix;
  };
  const contentType = () =>
    p.pick([
      undefined,
      'application/json',
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
    ]);

  for (let index = 0; index < count; index += 1) {
    const resource = p.pick(resources);
    const method = p.pick<Method>(['PUT', 'PUT', 'POST', 'PATCH']);
    const path = pathFor(resource, method);
    const roll = p.random();
    if (roll < 0.12) {
      // Malformed JSON text: anything a lenient parser might still accept carries key "a",
      // which no resource has.
      const truncated = () => {
        const text = serialize(base(resource));
        return text.slice(0, p.int(1, text.length - 1));
      };
      const body = p.chance(0.75) ? p.pick(MALFORMED_JSON) : truncated();
      requests.push({ method, path, body, contentType: contentType(), family: 'malformed JSON' });
      continue;
    }
    if (roll < 0.16) {
      // Bytes that are not UTF-8, around or inside an otherwise invalid object.
      const junk = Buffer.from(Array.from({ length: p.int(1, 64) }, () => p.int(0x80, 0xff)));
      const body = p.chance(0.5)
        ? Buffer.concat([Buffer.from('{"desc":"'), junk, Buffer.from('","a":1}')])
        : Buffer.concat([junk, Buffer.from(serialize(base(resource)))]);
      requests.push({ method, path, body, contentType: contentType(), family: 'invalid UTF-8' });
      continue;
    }
    if (roll < 0.2) {
      // Deep nesting, in a field that cannot hold it or at the root.
      const depth = p.pick([64, 200, 1000, 10_000, 100_000]);
      const nest = p.chance(0.5)
        ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
        : '['.repeat(depth) + ']'.repeat(depth);
      const field = p.pick(['labels', 'desc', 'upstream', 'plugins', 'nodes', 'a']);
      const body = p.chance(0.8) ? `{${JSON.stringify(field)}:${nest},"a":1}` : nest;
      requests.push({
        method,
        path,
        body,
        contentType: contentType(),
        family: `deep nesting (${depth})`,
      });
      continue;
    }
    if (roll < 0.205) {
      // Bigger than the 1.5 MiB body limit.
      const size = p.pick([1_600_000, 2_000_000]);
      const body = `{"desc":"${'x'.repeat(size)}","a":1}`;
      requests.push({ method, path, body, contentType: contentType(), family: 'oversized body' });
      continue;
    }
    if (roll < 0.23) {
      // A root that is not an object.
      const body = p.pick(['null', '5', '"str"', 'true', '[1,2]', '[{}]', '1e400', '-0', '[]']);
      const family = 'root not an object';
      // `[]` is an empty object to APISIX (Lua table): only where {} would be invalid too.
      if (
        body === '[]' &&
        (method === 'PATCH' || resource === 'stream_routes' || resource === 'services')
      ) {
        requests.push({ method, path, body: 'null', contentType: contentType(), family });
      } else requests.push({ method, path, body, contentType: contentType(), family });
      continue;
    }
    if (method === 'PATCH' && resource !== 'stream_routes' && p.chance(0.25)) {
      // Sub-path PATCH: the raw body replaces one field, with a value that field cannot take.
      const [field, values] = p.pick<[string, Json[]]>(
        resource === 'ssls'
          ? [
              ['cert', ['short', 5, malformedPem(p, 'CERTIFICATE', 128)]],
              ['key', ['short', 5, malformedPem(p, 'PRIVATE KEY', 64)]],
              ['sni', ['a b', 5, '']],
              ['status', [2, 'on']],
            ]
          : resource === 'upstreams'
            ? [
                ['nodes', ['x', 5, { '127.0.0.1:80': -1 }, [{ host: 5 }]]],
                ['retries', [-1, 'x', raw('1e400')]],
                ['timeout', [{ connect: 0, send: 1, read: 1 }, 'x']],
                ['desc', [5, longText(p, 400)]],
                ['x_unknown', [1, 'x']],
              ]
            : [
                ['upstream', [5, 'x', { nodes: 'x' }]],
                ['desc', [5, longText(p, 400)]],
                ['hosts', [5, []]],
              ],
      );
      requests.push({
        method,
        path: `${path}/${field}`,
        body: serialize(p.pick(values)),
        contentType: contentType(),
        family: `sub-path PATCH /${field}`,
      });
      continue;
    }
    const body = base(resource);
    const candidates = INVALIDATORS.filter((invalidator) => invalidator.applies(resource, method));
    const invalidator = p.pick(candidates);
    invalidator.apply(body, p, context);
    // Sometimes a second invalid change, and often hostile material on top.
    if (p.chance(0.2)) p.pick(candidates).apply(body, p, context);
    const layers = p.int(0, 3);
    for (let layer = 0; layer < layers; layer += 1) hostileLayer(p, body);
    if (p.chance(0.3)) body.desc ??= hostileString(p);
    // PUT on the collection takes its id from the body: make sure that id is never usable.
    if (method === 'PUT' && path.endsWith(`/${resource}`) && body.id === 'other-id')
      body.id = 'a b';
    requests.push({
      method,
      path,
      body: serialize(body),
      contentType: contentType(),
      family: invalidator.family,
    });
  }
  return requests;
}

/**
 * A few bodies that are hostile but may well be VALID (prototype-ish label keys, unicode and
 * injection strings in desc and labels): accepting them is fine as long as what is stored is
 * exactly what was sent and nothing else changes. Each string comes twice: with `constructor`,
 * `toString` and `hasOwnProperty` label keys, and with a `__proto__` label key (which a service
 * may refuse outright). Ids are `hv-<n>` so they can be cleaned up.
 */
export function hostileValidRequests(context: FuzzContext): {
  path: string;
  body: string;
  resource: Resource;
  variant: 'prototype-ish keys' | '__proto__ key';
}[] {
  const out: ReturnType<typeof hostileValidRequests> = [];
  const strings = [
    ...UNICODE_SAMPLES.filter((text) => !/[\ud800-\udfff]/.test(text)),
    ...INJECTION_SAMPLES,
  ];
  strings.forEach((text, index) => {
    for (const variant of ['prototype-ish keys', '__proto__ key'] as const) {
      const labels: Body = {};
      if (variant === '__proto__ key') setOwn(labels, '__proto__', 'polluted');
      else {
        setOwn(labels, 'constructor', 'x');
        setOwn(labels, 'toString', 'y');
        setOwn(labels, 'hasOwnProperty', 'z');
      }
      setOwn(labels, text.slice(0, 30) || 'k', 'v');
      const body: Body = {
        desc: text,
        labels,
        type: 'roundrobin',
        nodes: { [`127.0.0.1:${context.streamPort}`]: 1 },
      };
      out.push({
        path: `/apisix/admin/upstreams/hv-${index}-${variant === '__proto__ key' ? 'p' : 'c'}`,
        body: serialize(body),
        resource: 'upstreams',
        variant,
      });
    }
  });
  return out;
}
