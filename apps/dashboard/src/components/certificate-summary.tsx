'use client';

import { formatDate } from '../lib/format';
import { daysUntil, type CertificateInfo } from '../lib/x509';

export function expiryTone(days: number): 'danger' | 'warning' | 'ok' {
  if (days < 14) return 'danger';
  if (days < 30) return 'warning';
  return 'ok';
}

export function ExpiryBadge({ notAfter }: { notAfter: Date }) {
  const days = daysUntil(notAfter);
  const text =
    days < 0 ? `expired ${-days} d ago` : days === 0 ? 'expires today' : `${days} d left`;
  return (
    <span className={`badge badge--${expiryTone(days)}`} title={notAfter.toUTCString()}>
      {text}
    </span>
  );
}

/** Names, validity, issuer and key of the certificates read from a PEM text in the browser. */
export function CertificateSummary({ certificates }: { certificates: CertificateInfo[] }) {
  return (
    <div className="cert-summary">
      {certificates.map((certificate, index) => (
        <div className="cert" key={index}>
          <div className="cert-head">
            <strong>{index === 0 ? 'Certificate' : `Chain certificate ${index}`}</strong>
            <ExpiryBadge notAfter={certificate.notAfter} />
            {certificate.selfSigned && <span className="badge">self-signed</span>}
            {certificate.isCertificateAuthority && <span className="badge">CA</span>}
          </div>
          <dl className="cert-facts">
            <dt>Names</dt>
            <dd>
              {certificate.names.length > 0 ? (
                certificate.names.map((name) => (
                  <code className="chip" key={name}>
                    {name}
                  </code>
                ))
              ) : (
                <span className="muted">none</span>
              )}
            </dd>
            <dt>Valid</dt>
            <dd>
              {formatDate(certificate.notBefore)} → {formatDate(certificate.notAfter)}
            </dd>
            <dt>Issuer</dt>
            <dd>{certificate.issuer || '—'}</dd>
            <dt>Key</dt>
            <dd>{certificate.keyAlgorithm}</dd>
          </dl>
        </div>
      ))}
    </div>
  );
}
