import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { REPO_ROOT } from './strait-process';

/**
 * Where the reliability specs leave their measured facts, one JSON file per check;
 * tools/render-reliability.mjs turns them into docs/reliability.md after the end-to-end tier.
 * A rerun of a spec replaces all of that spec's files, so the rendered document always shows
 * each check's latest measurement (with the time it was taken).
 */
export const RELIABILITY_FACTS_DIR =
  process.env.STRAIT_RELIABILITY_DIR ?? join(REPO_ROOT, 'test/dist/reliability-facts');

export type FactValue = string | number | boolean;

export interface ReliabilityEntry {
  /** Section of docs/reliability.md: 'Real clients', 'Faults', 'Admin API', 'Resources', 'Shutdown', 'TLS'. */
  section: string;
  /** One check, e.g. 'MariaDB: mysqlslap through a stream route'. */
  title: string;
  /** What the test asserted (it records only after its assertions passed). */
  checked: string;
  /** Measured facts in display order: label → value (numbers are printed as measured). */
  facts: Record<string, FactValue>;
}

const PROCESS_STARTED = Date.now() - process.uptime() * 1000;
let previousRunForgotten = false;

/** Records one check's facts; call it after the assertions, so only passing checks appear. */
export function recordReliability(entry: ReliabilityEntry): void {
  mkdirSync(RELIABILITY_FACTS_DIR, { recursive: true });
  const spec = basename(process.argv[1] ?? 'unknown').replace(/\.js$/, '.ts');
  if (!previousRunForgotten) {
    // This spec's facts from earlier runs go, so a renamed or removed check cannot linger.
    previousRunForgotten = true;
    for (const name of readdirSync(RELIABILITY_FACTS_DIR)) {
      try {
        const old = JSON.parse(readFileSync(join(RELIABILITY_FACTS_DIR, name), 'utf8')) as {
          spec?: string;
          recordedAt?: string;
        };
        if (old.spec === spec && Date.parse(old.recordedAt ?? '') < PROCESS_STARTED) {
          unlinkSync(join(RELIABILITY_FACTS_DIR, name));
        }
      } catch {
        // not ours or half-written: leave it
      }
    }
  }
  const file = `${slug(entry.section)}--${slug(entry.title)}.json`;
  writeFileSync(
    join(RELIABILITY_FACTS_DIR, file),
    JSON.stringify({ ...entry, spec, recordedAt: new Date().toISOString() }, null, 2) + '\n',
  );
}

/** Milliseconds with one decimal, for tables. */
export function ms(value: number): string {
  return `${Math.round(value * 10) / 10} ms`;
}

export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

/** p-th percentile (0..100) of `values` by nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80);
}
