import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CertificateSpec } from '../config';
import { CertificateIndex, selectCertificate } from './certificate-index';
import { protocolVersionOptions } from './protocol-versions';
import { normaliseServerName } from './server-name';

function certificate(id: string, ...snis: string[]): CertificateSpec {
  return { id, snis, pairs: [{ cert: `cert-${id}`, key: `key-${id}` }] };
}

function selectedId(certificates: CertificateSpec[], sni: string | undefined): string | undefined {
  const selection = selectCertificate(certificates, sni);
  return selection.ok ? selection.certificate.id : `!${selection.reason}`;
}

describe('selectCertificate (spec 3.5)', () => {
  it('prefers an exact name, then the longest wildcard, then *', () => {
    const certificates = [
      certificate('star', '*'),
      certificate('wild', '*.api7.dev'),
      certificate('exact', 'specific.api7.dev'),
      certificate('short', '*.dev'),
    ];
    assert.equal(selectedId(certificates, 'specific.api7.dev'), 'exact');
    assert.equal(selectedId(certificates, 'x.api7.dev'), 'wild');
    assert.equal(selectedId(certificates, 'api7.dev'), 'short');
    assert.equal(selectedId(certificates, 'example.com'), 'star');
  });

  it('scenario 39: a wildcard covers one label and a deeper name fails without fallback', () => {
    const certificates = [
      certificate('star', '*'),
      certificate('wild', '*.api7.dev'),
      certificate('short', '*.dev'),
    ];
    const selection = selectCertificate(certificates, 'a.b.api7.dev');
    assert.deepEqual(selection, {
      ok: false,
      reason: 'wildcard_too_deep',
      matchedName: '*.api7.dev',
    });
    // Without the longer wildcard the same name goes to the next candidate, here *.dev, which
    // is too shallow as well; with only * it is served.
    assert.equal(selectedId(certificates.slice(0, 1), 'a.b.api7.dev'), 'star');
    assert.equal(
      selectedId([certificates[0], certificates[2]], 'a.b.api7.dev'),
      '!wildcard_too_deep',
    );
  });

  it('normalises case and one trailing dot on both sides', () => {
    const certificates = [certificate('exact', 'A.Test.COM.'), certificate('wild', '*.Test.com')];
    assert.equal(selectedId(certificates, 'a.test.com'), 'exact');
    assert.equal(selectedId(certificates, 'A.TEST.COM.'), 'exact');
    assert.equal(selectedId(certificates, 'B.test.com.'), 'wild');
    assert.equal(normaliseServerName('X.Y.'), 'x.y');
    assert.equal(normaliseServerName('x.y..'), 'x.y.');
    assert.equal(normaliseServerName('plain'), 'plain');
  });

  it('reports no_sni and no_match', () => {
    const certificates = [certificate('exact', 'a.test.com'), certificate('wild', '*.test.com')];
    assert.equal(selectedId(certificates, undefined), '!no_sni');
    assert.equal(selectedId(certificates, ''), '!no_sni');
    assert.equal(selectedId(certificates, 'test.com'), '!no_match');
    assert.equal(selectedId(certificates, 'a.test.org'), '!no_match');
    assert.equal(selectedId([], 'a.test.com'), '!no_match');
  });

  it('gives a name claimed twice to the first object in config order', () => {
    const certificates = [
      certificate('first', 'a.test.com', '*.x.com'),
      certificate('second', 'a.test.com', '*.x.com'),
    ];
    assert.equal(selectedId(certificates, 'a.test.com'), 'first');
    assert.equal(selectedId(certificates, 'y.x.com'), 'first');
  });

  it('serves every name of a multi-name object and reports the name that matched', () => {
    const index = new CertificateIndex([certificate('multi', 'a.test.com', '*.b.test.com')]);
    assert.equal(index.size, 2);
    const selection = index.select('z.b.test.com');
    assert.ok(selection.ok);
    assert.equal(selection.matchedName, '*.b.test.com');
    // APISIX would accept this because the sibling name is longer; the rule here is per name.
    assert.equal(index.select('y.z.b.test.com').ok, false);
  });
});

describe('protocolVersionOptions', () => {
  it('defaults to TLS 1.2..1.3 and turns lists into bounds plus holes', () => {
    assert.deepEqual(protocolVersionOptions(undefined), {
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      secureOptions: 0,
    });
    assert.deepEqual(protocolVersionOptions(['TLSv1.2']), {
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      secureOptions: 0,
    });
    const holey = protocolVersionOptions(['TLSv1.3', 'TLSv1.1']);
    assert.equal(holey.minVersion, 'TLSv1.1');
    assert.equal(holey.maxVersion, 'TLSv1.3');
    assert.notEqual(holey.secureOptions, 0);
  });
});
