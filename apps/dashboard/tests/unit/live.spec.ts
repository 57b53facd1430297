import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  denseSeries,
  explainFailure,
  fieldErrors,
  formatAge,
  formatBytes,
  formatCount,
  hostPort,
  niceByteCeiling,
  niceCeiling,
  nodeAddress,
  secondsAgoLabel,
  upstreamOwner,
} from '../../src/lib/live';

describe('live units', () => {
  it('writes bytes in binary units', () => {
    assert.deepEqual(
      [0, 1, 512, 1023, 1024, 1536, 12_000, 40_000, 5 * 1024 ** 2, 3.5 * 1024 ** 3].map(
        formatBytes,
      ),
      ['0 B', '1 B', '512 B', '1023 B', '1 KiB', '1.5 KiB', '12 KiB', '39 KiB', '5 MiB', '3.5 GiB'],
    );
  });

  it('writes counts and ages', () => {
    assert.deepEqual([0, 7, 999, 1200, 34_000, 1_500_000].map(formatCount), [
      '0',
      '7',
      '999',
      '1.2k',
      '34k',
      '1.5M',
    ]);
    assert.deepEqual(
      [0, 999, 42_000, 185_000, 2 * 3600_000 + 14 * 60_000, 76 * 3600_000].map(formatAge),
      ['0 s', '0 s', '42 s', '3 min 5 s', '2 h 14 min', '3 d 4 h'],
    );
  });

  it('writes addresses as the API does', () => {
    assert.equal(hostPort('10.0.0.1', 3306), '10.0.0.1:3306');
    assert.equal(hostPort('::1', 53), '[::1]:53');
    assert.equal(hostPort('[::1]', 53), '[::1]:53');
    assert.equal(nodeAddress('db.internal', ''), 'db.internal:80');
    assert.equal(nodeAddress(' fe80::1 ', '5432'), '[fe80::1]:5432');
  });
});

describe('denseSeries', () => {
  it('fills the seconds the API left out and adds up two ticks in one second', () => {
    const series = denseSeries(
      [
        { time: 98, connections: 1, bytesFromClient: 10, bytesToClient: 20 },
        { time: 100, connections: 2, bytesFromClient: 5, bytesToClient: 0 },
        { time: 100, connections: 1, bytesFromClient: 1, bytesToClient: 1 },
        { time: 90, connections: 9, bytesFromClient: 9, bytesToClient: 9 },
      ],
      4,
      100,
    );
    assert.deepEqual(series, {
      times: [97, 98, 99, 100],
      connections: [0, 1, 0, 3],
      bytesFromClient: [0, 10, 0, 6],
      bytesToClient: [0, 20, 0, 1],
    });
  });
});

describe('axis scales', () => {
  it('rounds count axes up to 2, 5 or 10 times a power of ten', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 6, 11, 20, 21, 450, 999].map(niceCeiling),
      [2, 2, 2, 5, 10, 20, 20, 50, 500, 1000],
    );
  });

  it('rounds byte axes up within a binary unit', () => {
    assert.equal(niceByteCeiling(0), 1024);
    assert.equal(niceByteCeiling(7), 10);
    assert.equal(niceByteCeiling(300), 500);
    assert.equal(niceByteCeiling(900), 1024);
    assert.equal(niceByteCeiling(1001), 1024);
    assert.equal(niceByteCeiling(1500), 2 * 1024);
    assert.equal(niceByteCeiling(40_000), 50 * 1024);
    assert.equal(niceByteCeiling(3 * 1024 ** 2), 5 * 1024 ** 2);
    assert.equal(niceByteCeiling(999 * 1024), 1024 ** 2);
  });

  it('labels the time axis in seconds, then minutes', () => {
    assert.deepEqual([0, 30, 60, 150, 300].map(secondsAgoLabel), [
      'now',
      '−30 s',
      '−60 s',
      '−2.5 min',
      '−5 min',
    ]);
  });
});

describe('fieldErrors', () => {
  const fields = ['remote_addr', 'remote_port', 'server_addr', 'server_port', 'sni', 'protocol'];

  it('puts each of the API messages beside its field', () => {
    assert.deepEqual(
      fieldErrors(
        'remote_addr must be an IPv4 or IPv6 address; server_port must be an integer; server_port must be at most 65535',
        fields,
      ),
      {
        byField: {
          remote_addr: 'remote_addr must be an IPv4 or IPv6 address',
          server_port: 'server_port must be an integer; server_port must be at most 65535',
        },
        rest: [],
      },
    );
  });

  it('does not take remote_port for a prefix of another field, and keeps the rest', () => {
    assert.deepEqual(fieldErrors('remote_port must be at least 1; body is not JSON', fields), {
      byField: { remote_port: 'remote_port must be at least 1' },
      rest: ['body is not JSON'],
    });
  });
});

describe('match debugger words', () => {
  it('explains a failure with the route own field', () => {
    assert.equal(explainFailure('sni', { sni: 'a.test' }, '1'), 'wants SNI a.test');
    assert.equal(
      explainFailure('remote_addr', { remote_addr: '10.0.0.0/8' }, null),
      'the client is not in 10.0.0.0/8',
    );
    assert.equal(explainFailure('server_port', { server_port: 3306 }, '1'), 'wants port 3306');
    assert.equal(explainFailure('shadowed', {}, 'echo'), 'matches too, but route echo comes first');
  });

  it('reads whose upstream a checker probes', () => {
    assert.deepEqual(upstreamOwner('/apisix/upstreams/echo'), { kind: 'upstream', id: 'echo' });
    assert.deepEqual(upstreamOwner('/apisix/stream_routes/7#upstream'), {
      kind: 'stream_route',
      id: '7',
    });
    assert.deepEqual(upstreamOwner('/apisix/services/s1#upstream'), { kind: 'service', id: 's1' });
    assert.equal(upstreamOwner('something else'), undefined);
  });
});
