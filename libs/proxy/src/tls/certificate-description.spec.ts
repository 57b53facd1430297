import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeCertificate } from './certificate-description';
import { testPki } from './testing/test-pki';

describe('describeCertificate', () => {
  it('reads names, issuer, fingerprint, validity and key type', () => {
    const pki = testPki();
    const description = describeCertificate(pki.dualRsa.cert);
    assert.deepEqual(description.names, ['dual.test']);
    assert.equal(description.subject, 'CN=dual.test');
    assert.equal(description.issuer, 'CN=Strait Test CA');
    assert.equal(description.fingerprint256, pki.dualRsa.fingerprint256);
    assert.equal(description.keyType, 'rsa');
    assert.equal(description.isCa, false);
    const from = Date.parse(description.validFrom);
    const to = Date.parse(description.validTo);
    assert.ok(
      from <= Date.now() && Date.now() < to,
      `${description.validFrom}..${description.validTo}`,
    );
    assert.equal(describeCertificate(pki.ca.cert).isCa, true);
    assert.deepEqual(describeCertificate(pki.wildcardApi7.cert).names, ['*.api7.dev']);
    // No subjectAltName: the CN is the name.
    assert.deepEqual(describeCertificate(pki.client.cert).names, ['client.strait']);
  });

  it('throws ERR_TLS_CERTIFICATE_INVALID for something that is not a certificate', () => {
    assert.throws(() => describeCertificate('-----BEGIN CERTIFICATE-----\nnope\n'), {
      code: 'ERR_TLS_CERTIFICATE_INVALID',
    });
  });
});
