import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIPv6 } from 'node:net';
import type { StreamRouteSpec } from '../config';
import { compileRouteTable, createRouteTableCompiler } from './route-table';
import type { ConnectionContext } from './types';

function route(id: string, filters: Omit<StreamRouteSpec, 'id'> = {}): StreamRouteSpec {
  return { id, ...filters };
}

function connection(overrides: Partial<ConnectionContext> = {}): ConnectionContext {
  return {
    protocol: 'tcp',
    remoteAddr: '127.0.0.1',
    remotePort: 40000,
    serverAddr: '127.0.0.1',
    serverPort: 9100,
    ...overrides,
  };
}

function matchedId(routes: StreamRouteSpec[], context: ConnectionContext): string | undefined {
  return compileRouteTable(routes).match(context)?.id;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Spec 3.4 written as plainly as possible, with net.BlockList as the address matcher, to check the
 * indexed table against.
 */
function referenceMatch(routes: StreamRouteSpec[], context: ConnectionContext): string | undefined {
  const addressMatches = (rule: string | undefined, address: string) => {
    if (rule === undefined) return true;
    const [base, prefix] = rule.split('/');
    const family = isIPv6(base) ? 'ipv6' : 'ipv4';
    if (family !== (isIPv6(address) ? 'ipv6' : 'ipv4')) return false;
    const list = new BlockList();
    list.addSubnet(
      base,
      prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix),
      family,
    );
    return list.check(address, family);
  };
  const addressesMatch = (candidate: StreamRouteSpec) =>
    addressMatches(candidate.remoteAddr, context.remoteAddr) &&
    addressMatches(candidate.serverAddr, context.serverAddr) &&
    (candidate.serverPort === undefined || candidate.serverPort === context.serverPort);
  const sni = context.protocol === 'udp' ? undefined : context.sni;
  if (sni !== undefined) {
    const keys = [
      ...new Set(routes.flatMap((candidate) => (candidate.sni ? [candidate.sni] : []))),
    ];
    const exact = keys.filter((key) => !key.startsWith('*') && key === sni);
    const wildcards = keys
      .filter((key) => key.startsWith('*') && sni.endsWith(key.slice(1)))
      .sort((left, right) => right.length - left.length);
    for (const key of [...exact, ...wildcards]) {
      const winner = routes.find((candidate) => candidate.sni === key && addressesMatch(candidate));
      if (winner) return winner.id;
    }
  }
  return routes.find((candidate) => candidate.sni === undefined && addressesMatch(candidate))?.id;
}

describe('compileRouteTable: plain routes (spec 3.4)', () => {
  it('matches everything with a filterless route and nothing with an empty table', () => {
    assert.equal(
      matchedId([route('1')], connection({ remoteAddr: '10.9.8.7', serverPort: 1 })),
      '1',
    );
    assert.equal(matchedId([], connection()), undefined);
    assert.equal(compileRouteTable([route('1'), route('2')]).size, 2);
  });

  it('filters by remote_addr, and a changed filter stops matching (scenario 35)', () => {
    assert.equal(matchedId([route('1', { remoteAddr: '127.0.0.1' })], connection()), '1');
    assert.equal(matchedId([route('1', { remoteAddr: '127.0.0.2' })], connection()), undefined);
    assert.equal(
      matchedId(
        [route('1', { remoteAddr: '127.0.0.1/26' })],
        connection({ remoteAddr: '127.0.0.60' }),
      ),
      '1',
    );
  });

  it('filters by server_port and server_addr (scenario 36)', () => {
    const routes = [
      route('A', { serverPort: 9100 }),
      route('B', { serverPort: 9101 }),
      route('C', { serverAddr: '127.0.0.10' }),
    ];
    assert.equal(matchedId(routes, connection({ serverPort: 9100 })), 'A');
    assert.equal(matchedId(routes, connection({ serverPort: 9101 })), 'B');
    assert.equal(matchedId(routes, connection({ serverPort: 9102 })), undefined);
    assert.equal(
      matchedId(routes, connection({ serverPort: 9102, serverAddr: '127.0.0.10' })),
      'C',
    );
  });

  it('ANDs the filters of one route', () => {
    const routes = [
      route('1', { remoteAddr: '10.0.0.0/8', serverAddr: '127.0.0.10', serverPort: 9100 }),
    ];
    const context = connection({
      remoteAddr: '10.1.1.1',
      serverAddr: '127.0.0.10',
      serverPort: 9100,
    });
    assert.equal(matchedId(routes, context), '1');
    assert.equal(matchedId(routes, { ...context, remoteAddr: '11.1.1.1' }), undefined);
    assert.equal(matchedId(routes, { ...context, serverAddr: '127.0.0.11' }), undefined);
    assert.equal(matchedId(routes, { ...context, serverPort: 9101 }), undefined);
  });

  it('lets the first route in array order win even over a more specific later one', () => {
    const routes = [
      route('broad'),
      route('specific', { serverPort: 9100, remoteAddr: '127.0.0.1' }),
    ];
    assert.equal(matchedId(routes, connection()), 'broad');
    assert.equal(matchedId([...routes].reverse(), connection()), 'specific');
    const sameFilters = [
      route('first', { serverPort: 9100 }),
      route('second', { serverPort: 9100 }),
    ];
    assert.equal(matchedId(sameFilters, connection()), 'first');
  });

  it('matches IPv4-mapped and IPv6 connection addresses', () => {
    const routes = [route('v4', { remoteAddr: '127.0.0.0/8' }), route('v6', { remoteAddr: '::1' })];
    assert.equal(matchedId(routes, connection({ remoteAddr: '::ffff:127.0.0.1' })), 'v4');
    assert.equal(matchedId(routes, connection({ remoteAddr: '::1' })), 'v6');
    assert.equal(matchedId(routes, connection({ remoteAddr: '::2' })), undefined);
    const byServer = [route('local6', { serverAddr: '::1' })];
    assert.equal(matchedId(byServer, connection({ serverAddr: '::1' })), 'local6');
    assert.equal(matchedId(byServer, connection({ serverAddr: '127.0.0.1' })), undefined);
  });

  it('treats an unparseable connection address as matching no address filter', () => {
    const routes = [route('filtered', { remoteAddr: '0.0.0.0/0' }), route('open')];
    assert.equal(matchedId(routes, connection({ remoteAddr: '' })), 'open');
  });

  it('refuses routes with invalid addresses or ports (ERR_INVALID_ROUTE)', () => {
    assert.throws(() => compileRouteTable([route('1', { remoteAddr: ':/8' })]), {
      code: 'ERR_INVALID_ROUTE',
    });
    assert.throws(() => compileRouteTable([route('1', { serverAddr: '1.2.3.4/40' })]), {
      code: 'ERR_INVALID_ROUTE',
    });
    assert.throws(() => compileRouteTable([route('1', { serverPort: 70000 })]), {
      code: 'ERR_INVALID_ROUTE',
    });
  });
});

describe('compileRouteTable: SNI routes (spec 3.4, scenarios 37-39)', () => {
  it('prefers exact, then longer wildcard suffixes, then `*`, whatever the array order', () => {
    const routes = [
      route('any', { sni: '*' }),
      route('short', { sni: '*.com' }),
      route('wild', { sni: '*.test.com' }),
      route('deeper', { sni: '*.b.test.com' }),
      route('exact', { sni: 'a.b.test.com' }),
    ];
    assert.equal(matchedId(routes, connection({ sni: 'a.b.test.com' })), 'exact');
    assert.equal(matchedId(routes, connection({ sni: 'x.b.test.com' })), 'deeper');
    assert.equal(matchedId(routes, connection({ sni: 'x.test.com' })), 'wild');
    assert.equal(matchedId(routes, connection({ sni: 'example.com' })), 'short');
    assert.equal(matchedId(routes, connection({ sni: 'example.org' })), 'any');
  });

  it('lets a wildcard match deeper labels but not the bare suffix (scenario 39)', () => {
    const routes = [
      route('exact', { sni: 'specific.api7.dev' }),
      route('wild', { sni: '*.api7.dev' }),
    ];
    assert.equal(matchedId(routes, connection({ sni: 'specific.api7.dev' })), 'exact');
    assert.equal(matchedId(routes, connection({ sni: 'x.api7.dev' })), 'wild');
    assert.equal(matchedId(routes, connection({ sni: 'a.b.api7.dev' })), 'wild');
    assert.equal(matchedId(routes, connection({ sni: 'api7.dev' })), undefined);
  });

  it('runs scenario 37: exact, wildcard, plain; then fallthrough on address and on deletion', () => {
    const route1 = route('1', { sni: 'a.test.com' });
    const route2 = route('2', { sni: '*.test.com' });
    const route3 = route('3');
    let routes = [route1, route2, route3];
    assert.equal(matchedId(routes, connection({ sni: 'a.test.com' })), '1');
    assert.equal(matchedId(routes, connection({ sni: 'b.test.com' })), '2');
    assert.equal(matchedId(routes, connection()), '3', 'plain TCP without SNI');

    routes = [{ ...route1, remoteAddr: '127.0.0.3' }, route2, route3];
    assert.equal(
      matchedId(routes, connection({ sni: 'a.test.com' })),
      '2',
      'falls back to the wildcard',
    );
    assert.equal(
      matchedId(routes, connection({ sni: 'a.test.com', remoteAddr: '127.0.0.3' })),
      '1',
    );

    routes = [route1, route3];
    assert.equal(
      matchedId(routes, connection({ sni: 'b.test.com' })),
      '3',
      'falls back to a plain route',
    );
  });

  it('falls through every SNI key to plain routes when all address filters fail', () => {
    const routes = [
      route('exact', { sni: 'a.test.com', serverPort: 1 }),
      route('wild', { sni: '*.test.com', serverPort: 2 }),
      route('star', { sni: '*', serverPort: 3 }),
      route('plain-miss', { serverPort: 4 }),
      route('plain'),
    ];
    assert.equal(matchedId(routes, connection({ sni: 'a.test.com', serverPort: 3 })), 'star');
    assert.equal(matchedId(routes, connection({ sni: 'a.test.com', serverPort: 2 })), 'wild');
    assert.equal(matchedId(routes, connection({ sni: 'a.test.com', serverPort: 9 })), 'plain');
  });

  it('keeps array order within one SNI key', () => {
    const routes = [
      route('first', { sni: 'a.test.com', remoteAddr: '10.0.0.0/8' }),
      route('second', { sni: 'a.test.com' }),
      route('third', { sni: 'a.test.com' }),
    ];
    assert.equal(
      matchedId(routes, connection({ sni: 'a.test.com', remoteAddr: '10.0.0.1' })),
      'first',
    );
    assert.equal(matchedId(routes, connection({ sni: 'a.test.com' })), 'second');
  });

  it('never lets a connection without SNI (or a UDP session) match an SNI route', () => {
    const routes = [route('sni', { sni: '*' })];
    assert.equal(matchedId(routes, connection()), undefined);
    assert.equal(matchedId(routes, connection({ protocol: 'udp', sni: 'a.test.com' })), undefined);
    // Spec 3.4 quirk: with fallback_sni, a plain TCP connection arrives with an SNI and may match.
    assert.equal(matchedId(routes, connection({ sni: 'fallback.test.com' })), 'sni');
  });

  it('lower-cases route SNI keys', () => {
    assert.equal(
      matchedId([route('1', { sni: 'A.Test.COM' })], connection({ sni: 'a.test.com' })),
      '1',
    );
  });
});

describe('RouteTable.explain', () => {
  it('names the winner and the first failed criterion of every other route', () => {
    const routes = [
      route('sni-miss', { sni: 'other.com', serverPort: 1 }),
      route('port-miss', { serverPort: 1, serverAddr: '10.0.0.1', remoteAddr: '10.0.0.1' }),
      route('server-miss', { serverAddr: '10.0.0.1', remoteAddr: '10.0.0.1' }),
      route('remote-miss', { remoteAddr: '10.0.0.1' }),
      route('winner', { sni: '*.test.com' }),
      route('shadowed-plain'),
      route('shadowed-sni', { sni: '*.test.com' }),
    ];
    const explanation = compileRouteTable(routes).explain(connection({ sni: 'a.test.com' }));
    assert.equal(explanation.matched?.id, 'winner');
    assert.deepEqual(
      explanation.others.map((other) => [other.route.id, other.failed]),
      [
        ['sni-miss', 'sni'],
        ['port-miss', 'server_port'],
        ['server-miss', 'server_addr'],
        ['remote-miss', 'remote_addr'],
        ['shadowed-plain', 'shadowed'],
        ['shadowed-sni', 'shadowed'],
      ],
    );
  });

  it('reports no winner and every failure when nothing matches', () => {
    const explanation = compileRouteTable([route('1', { remoteAddr: '127.0.0.2' })]).explain(
      connection(),
    );
    assert.equal(explanation.matched, undefined);
    assert.deepEqual(explanation.others, [
      { route: route('1', { remoteAddr: '127.0.0.2' }), failed: 'remote_addr' },
    ]);
  });
});

describe('compileRouteTable: agreement with a plain reading of spec 3.4', () => {
  it('matches like the reference on random overlapping routes', () => {
    const random = seededRandom(42);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
    const remoteRules = [
      undefined,
      undefined,
      '10.0.0.0/8',
      '10.1.0.0/16',
      '10.1.2.3',
      '0.0.0.0/0',
      '::1',
      '2001:db8::/32',
      '::/0',
    ];
    const serverRules = [
      undefined,
      undefined,
      undefined,
      '127.0.0.1',
      '127.0.0.0/8',
      '127.0.0.10',
      '::1',
    ];
    const ports = [undefined, undefined, 9100, 9101];
    const snis = [
      undefined,
      undefined,
      undefined,
      'a.test.com',
      '*.test.com',
      '*test.com',
      '*.com',
      '*',
      'b.test.com',
    ];
    const remotes = [
      '10.1.2.3',
      '10.1.9.9',
      '10.2.0.1',
      '192.168.0.1',
      '::1',
      '2001:db8::5',
      '::ffff:10.1.2.3',
    ];
    const servers = ['127.0.0.1', '127.0.0.10', '::1'];
    const connectionSnis = [
      undefined,
      'a.test.com',
      'b.test.com',
      'x.a.test.com',
      'test.com',
      'atest.com',
      'a.org',
    ];
    for (let round = 0; round < 300; round++) {
      const routes = Array.from({ length: 1 + Math.floor(random() * 12) }, (_, index) =>
        route(String(index), {
          remoteAddr: pick(remoteRules),
          serverAddr: pick(serverRules),
          serverPort: pick(ports),
          sni: pick(snis),
        }),
      );
      const table = compileRouteTable(routes);
      for (let probe = 0; probe < 30; probe++) {
        const remote = pick(remotes);
        const context = connection({
          protocol: random() < 0.1 ? 'udp' : 'tcp',
          remoteAddr: remote,
          serverAddr: pick(servers),
          serverPort: pick([9100, 9101, 9102]),
          sni: pick(connectionSnis),
        });
        // The reference has no notion of mapped addresses: give it the unwrapped form.
        const referenceContext = { ...context, remoteAddr: remote.replace('::ffff:', '') };
        const expected = referenceMatch(routes, referenceContext);
        assert.equal(table.match(context)?.id, expected, JSON.stringify({ routes, context }));
        assert.equal(table.explain(context).matched?.id, expected);
      }
    }
  });
});

describe('createRouteTableCompiler: reuse across compilations', () => {
  it('matches like the reference while specs are kept, replaced, moved, added and removed', () => {
    const random = seededRandom(7);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
    const newRoute = (id: string) =>
      route(id, {
        remoteAddr: pick([undefined, '10.0.0.0/8', '10.1.2.3', '::1']),
        serverAddr: pick([undefined, '127.0.0.1', '127.0.0.0/8']),
        serverPort: pick([undefined, 9100, 9101]),
        sni: pick([undefined, undefined, 'a.test.com', '*.test.com', '*']),
      });
    const compile = createRouteTableCompiler();
    let routes: StreamRouteSpec[] = [];
    let next = 0;
    for (let round = 0; round < 200; round++) {
      routes = routes.filter(() => random() > 0.15); // deletions shift the later routes' order
      routes = routes.map((spec) => (random() < 0.1 ? newRoute(spec.id) : spec)); // updates in place
      while (random() < 0.5) routes.push(newRoute(String(next++))); // new keys are appended
      if (random() < 0.1 && routes.length > 1) routes.reverse(); // order changes too
      const table = compile(routes);
      assert.equal(table.size, routes.length);
      for (let probe = 0; probe < 20; probe++) {
        const context = connection({
          remoteAddr: pick(['10.1.2.3', '10.9.9.9', '192.168.0.1', '::1']),
          serverAddr: pick(['127.0.0.1', '127.0.0.10']),
          serverPort: pick([9100, 9101, 9102]),
          sni: pick([undefined, 'a.test.com', 'b.test.com']),
        });
        const expected = referenceMatch(routes, context);
        assert.equal(table.match(context)?.id, expected, JSON.stringify({ routes, context }));
        assert.equal(table.explain(context).matched?.id, expected);
      }
    }
  });

  it('refuses an invalid route as compileRouteTable does, and compiles the next table normally', () => {
    const compile = createRouteTableCompiler();
    const good = route('good', { serverPort: 9100 });
    compile([good]);
    assert.throws(() => compile([good, route('bad', { remoteAddr: 'nope' })]), {
      code: 'ERR_INVALID_ROUTE',
    });
    assert.equal(compile([good]).match(connection())?.id, 'good');
  });
});

describe('compileRouteTable: match cost does not grow with the number of routes', () => {
  function candidatesPerMatch(routes: StreamRouteSpec[], contexts: ConnectionContext[]): number {
    const table = compileRouteTable(routes);
    for (const context of contexts) table.match(context);
    return table.candidatesExamined / contexts.length;
  }

  function shapes(count: number): Record<string, StreamRouteSpec[]> {
    const ids = Array.from({ length: count }, (_, index) => index);
    return {
      'one port each': ids.map((index) => route(`p${index}`, { serverPort: 1 + index })),
      'one remote address each on a shared port': ids.map((index) =>
        route(`r${index}`, {
          serverPort: 9100,
          remoteAddr: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
        }),
      ),
      'one /24 each': ids.map((index) =>
        route(`c${index}`, { remoteAddr: `11.${(index >> 8) & 255}.${index & 255}.0/24` }),
      ),
      'one IPv6 address each': ids.map((index) =>
        route(`v${index}`, { remoteAddr: `2001:db8::${index.toString(16)}` }),
      ),
      'one server address and port each': ids.map((index) =>
        route(`s${index}`, {
          serverAddr: `127.1.${(index >> 8) & 255}.${index & 255}`,
          serverPort: 20000 + (index % 1000),
        }),
      ),
      'one SNI each': ids.map((index) => route(`n${index}`, { sni: `host${index}.test.com` })),
      'one wildcard SNI each': ids.map((index) =>
        route(`w${index}`, { sni: `*.zone${index}.test.com` }),
      ),
    };
  }

  function probes(count: number): ConnectionContext[] {
    const random = seededRandom(count);
    return Array.from({ length: 200 }, () => {
      const index = Math.floor(random() * count);
      return connection({
        serverPort: random() < 0.5 ? 1 + index : 9100,
        remoteAddr:
          random() < 0.3
            ? `2001:db8::${index.toString(16)}`
            : `10.0.${(index >> 8) & 255}.${index & 255}`,
        serverAddr: `127.1.${(index >> 8) & 255}.${index & 255}`,
        sni: random() < 0.5 ? `host${index}.test.com` : `a.zone${index}.test.com`,
      });
    });
  }

  it('examines a bounded number of candidates with 100, 1,000 and 10,000 routes', () => {
    const small = shapes(100);
    const large = shapes(10_000);
    const middle = shapes(1_000);
    for (const shape of Object.keys(large)) {
      const costSmall = candidatesPerMatch(small[shape], probes(100));
      const costMiddle = candidatesPerMatch(middle[shape], probes(1_000));
      const costLarge = candidatesPerMatch(large[shape], probes(10_000));
      assert.ok(costLarge <= 2, `${shape}: ${costLarge} candidates per match with 10,000 routes`);
      assert.ok(
        costLarge <= costSmall + 0.5 && costMiddle <= costSmall + 0.5,
        `${shape}: ${costSmall} -> ${costMiddle} -> ${costLarge}`,
      );
    }
  });

  it('still finds the right route among 10,000 (so the counter is not trivially zero)', () => {
    const routes = shapes(10_000)['one remote address each on a shared port'];
    const table = compileRouteTable(routes);
    assert.equal(table.match(connection({ remoteAddr: '10.0.39.15' }))?.id, `r${39 * 256 + 15}`);
    assert.equal(table.candidatesExamined, 1);
    assert.equal(
      table.match(connection({ remoteAddr: '10.0.39.15', serverPort: 9101 })),
      undefined,
    );
  });

  it('skips branches whose earliest route cannot beat the current best', () => {
    const routes = [
      route('port-only', { serverPort: 9100 }),
      ...Array.from({ length: 50 }, (_, index) =>
        route(`later${index}`, {
          serverPort: 9100,
          serverAddr: '127.0.0.1',
          remoteAddr: `127.0.0.${index % 2 === 0 ? 1 : 0}/${24 + (index % 8)}`,
        }),
      ),
    ];
    const table = compileRouteTable(routes);
    assert.equal(table.match(connection())?.id, 'port-only');
    assert.equal(table.candidatesExamined, 1);
  });

  it('examines one leaf per distinct prefix length when all 10,000 routes match', () => {
    // 10,000 routes that all match: the index still examines only the earliest leaf.
    const routes = Array.from({ length: 10_000 }, (_, index) =>
      route(`all${index}`, { remoteAddr: `10.0.0.0/${8 + (index % 17)}` }),
    );
    const table = compileRouteTable(routes);
    assert.equal(table.match(connection({ remoteAddr: '10.0.0.1' }))?.id, 'all0');
    assert.ok(table.candidatesExamined <= 17, `${table.candidatesExamined}`);
  });
});
