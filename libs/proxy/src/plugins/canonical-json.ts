import { crc32OfString } from '../balancing/crc32';

/** JSON with object keys sorted, so that equal confs written in another key order compare equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A short version tag of a conf: it changes when (and practically only when) the conf does. */
export function confVersion(conf: unknown): string {
  return crc32OfString(canonicalJson(conf)).toString(16).padStart(8, '0');
}
