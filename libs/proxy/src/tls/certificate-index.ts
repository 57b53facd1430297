import type { CertificateSpec } from '../config';
import { normaliseServerName } from './server-name';

/** Why no certificate could be chosen for a handshake. */
export type CertificateMissReason =
  /** The client sent no SNI and no fallback_sni is configured ("failed to find SNI"). */
  | 'no_sni'
  /** No certificate name covers the SNI ("failed to match any SSL certificate by SNI"). */
  | 'no_match'
  /**
   * The longest wildcard matched as a suffix but the name is more than one label deeper; there is
   * no fallback to shorter wildcards or `*` (spec 3.5, scenario 39).
   */
  | 'wildcard_too_deep';

export type CertificateSelection =
  | { readonly ok: true; readonly certificate: CertificateSpec; readonly matchedName: string }
  | { readonly ok: false; readonly reason: CertificateMissReason; readonly matchedName?: string };

const NO_SNI: CertificateSelection = { ok: false, reason: 'no_sni' };
const NO_MATCH: CertificateSelection = { ok: false, reason: 'no_match' };

/**
 * The certificate names of one config, compiled once per apply() so a handshake costs at most one
 * map lookup per distinct wildcard suffix length (a handful), never a scan of every certificate.
 *
 * Semantics of apisix/ssl/router/radixtree_sni.lua (spec 3.5): names go into a radix tree under
 * their reversed spelling, so
 * - an exact name wins over any wildcard;
 * - among `*suffix` wildcards the longest matching suffix wins, `*` alone is the shortest;
 * - only then is the one-label rule checked: `*.api7.dev` covers `x.api7.dev` but rejects
 *   `a.b.api7.dev`, and the handshake fails instead of falling back to `*` or a shorter wildcard;
 * - when several certificates claim the same name, the first in config order wins (the radix tree
 *   keeps the first route inserted for a path).
 *
 * APISIX's check for an object with several `snis` compares against every name of that object,
 * which lets a long sibling name hide a too-deep wildcard match; that accident is not copied: the
 * rule is applied to the name that matched.
 */
export class CertificateIndex {
  private readonly exact = new Map<string, SelectionHit>();
  /** Keyed by the suffix after `*` (`.api7.dev`; `` for `*`). */
  private readonly wildcards = new Map<string, SelectionHit>();
  /** Distinct wildcard suffix lengths, longest first: the lookup order of the radix tree. */
  private readonly suffixLengths: number[];

  constructor(certificates: readonly CertificateSpec[]) {
    for (const certificate of certificates) {
      for (const rawName of certificate.snis) {
        const name = normaliseServerName(rawName);
        if (name.length === 0) continue;
        const target = name.charCodeAt(0) === 42 /* '*' */ ? this.wildcards : this.exact;
        const key = target === this.wildcards ? name.slice(1) : name;
        if (!target.has(key)) target.set(key, { ok: true, certificate, matchedName: name });
      }
    }
    this.suffixLengths = [...new Set([...this.wildcards.keys()].map((key) => key.length))].sort(
      (a, b) => b - a,
    );
  }

  get size(): number {
    return this.exact.size + this.wildcards.size;
  }

  /** `serverName` must already be normalised (normaliseServerName); undefined = no SNI. */
  select(serverName: string | undefined): CertificateSelection {
    if (serverName === undefined || serverName.length === 0) return NO_SNI;
    const exact = this.exact.get(serverName);
    if (exact) return exact;
    for (const length of this.suffixLengths) {
      if (length > serverName.length) continue;
      const hit = this.wildcards.get(length === 0 ? '' : serverName.slice(-length));
      if (!hit) continue;
      // `*` alone covers any name; `*.suffix` covers exactly one more label.
      if (length === 0 || serverName.lastIndexOf('.', serverName.length - length - 1) === -1) {
        return hit;
      }
      return { ok: false, reason: 'wildcard_too_deep', matchedName: hit.matchedName };
    }
    return NO_MATCH;
  }
}

type SelectionHit = Extract<CertificateSelection, { ok: true }>;

/**
 * The certificate a TLS handshake for `serverName` would be given, by the rules of CertificateIndex.
 * `serverName` is normalised here. For many lookups against one config, build a CertificateIndex.
 */
export function selectCertificate(
  certificates: readonly CertificateSpec[],
  serverName: string | undefined,
): CertificateSelection {
  return new CertificateIndex(certificates).select(
    serverName === undefined ? undefined : normaliseServerName(serverName),
  );
}
