import type { CertificateSpec } from '../config';
import { CertificateIndex, type CertificateSelection } from './certificate-index';
import type { CertificateContext, CertificateContexts } from './certificate-contexts';

/**
 * The certificate half of a config snapshot: the name index and a context per object. apply()
 * swaps it whole, so a handshake that has read its ClientHello selects against one consistent
 * config, and the next handshake after apply() returns already sees the new one.
 */
export class TlsTermination {
  constructor(
    private readonly index: CertificateIndex,
    private readonly contexts: ReadonlyMap<CertificateSpec, CertificateContext>,
  ) {}

  static readonly empty = new TlsTermination(new CertificateIndex([]), new Map());

  /** `serverName` normalised; undefined when neither the client nor fallback_sni gave one. */
  select(serverName: string | undefined): CertificateSelection {
    return this.index.select(serverName);
  }

  contextFor(certificate: CertificateSpec): CertificateContext | undefined {
    return this.contexts.get(certificate);
  }

  /** Objects whose certificate or key could not be loaded, for reporting after apply(). */
  problems(): { certificateId: string; error: Error }[] {
    const problems: { certificateId: string; error: Error }[] = [];
    for (const [certificate, context] of this.contexts) {
      if (context.error) problems.push({ certificateId: certificate.id, error: context.error });
    }
    return problems;
  }
}

export function buildTlsTermination(
  certificates: readonly CertificateSpec[],
  contexts: CertificateContexts,
): TlsTermination {
  return new TlsTermination(new CertificateIndex(certificates), contexts.build(certificates));
}
