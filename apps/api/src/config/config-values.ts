/**
 * Typed reads of the parsed YAML with key paths in every error. A `ConfigSection` remembers which
 * keys were read, so the keys nobody read can be reported (APISIX sections) or rejected (Strait's
 * own section, where an unknown key is a typo).
 */
import { isIP } from 'node:net';
import { ConfigError } from './config-error';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** A value for an error message: strings quoted, containers named rather than dumped. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === null || value === undefined) return 'nothing';
  return describeType(value);
}

/** The kind of a value without its content (for secrets). */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (isPlainObject(value)) return 'a mapping';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `a ${name}` : 'an object';
  }
  return `a ${typeof value}`;
}

export function joinKey(parent: string, name: string | number): string {
  if (typeof name === 'number') return `${parent}[${name}]`;
  return parent === '' ? name : `${parent}.${name}`;
}

/** An IP literal as a bind address; `[v6]` brackets are accepted and removed. */
export function parseIpLiteral(value: string): string | undefined {
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  return isIP(bare) === 0 ? undefined : bare.toLowerCase();
}

export interface IntegerRange {
  readonly min: number;
  readonly max: number;
}

export class ConfigSection {
  private readonly read = new Set<string>();

  private constructor(
    /** Dotted key of this section ('' for the document). */
    readonly key: string,
    private readonly value: Readonly<Record<string, unknown>>,
    /** True when the section was absent (or null) in the file. */
    readonly absent: boolean,
  ) {}

  /** A section from a value that must be a mapping; absent or null reads as empty. */
  static of(key: string, value: unknown): ConfigSection {
    if (value === undefined || value === null) return new ConfigSection(key, {}, true);
    if (!isPlainObject(value)) {
      throw new ConfigError(key || '(document)', `must be a mapping, got ${describeValue(value)}`);
    }
    return new ConfigSection(key, value, false);
  }

  keyOf(name: string): string {
    return joinKey(this.key, name);
  }

  /** The raw value, marked as used. Null reads as undefined: YAML `key:` means "default". */
  raw(name: string): unknown {
    this.read.add(name);
    const value = this.value[name];
    return value === null ? undefined : value;
  }

  section(name: string): ConfigSection {
    return ConfigSection.of(this.keyOf(name), this.raw(name));
  }

  boolean(name: string, fallback: boolean): boolean {
    return this.optionalBoolean(name) ?? fallback;
  }

  optionalBoolean(name: string): boolean | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') {
      throw new ConfigError(this.keyOf(name), `must be true or false, got ${describeValue(value)}`);
    }
    return value;
  }

  optionalString(name: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      throw new ConfigError(this.keyOf(name), `must be a string, got ${describeValue(value)}`);
    }
    if (value.trim() === '') throw new ConfigError(this.keyOf(name), 'must not be empty');
    return value;
  }

  optionalInteger(name: string, range: IntegerRange): number | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new ConfigError(this.keyOf(name), `must be an integer, got ${describeValue(value)}`);
    }
    if (value < range.min || value > range.max) {
      throw new ConfigError(
        this.keyOf(name),
        `must be between ${range.min} and ${range.max}, got ${value}`,
      );
    }
    return value;
  }

  optionalEnum<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      throw new ConfigError(
        this.keyOf(name),
        `must be ${formatChoices(allowed)}, got ${describeValue(value)}`,
      );
    }
    return value as T;
  }

  optionalList(name: string): readonly unknown[] | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) {
      throw new ConfigError(this.keyOf(name), `must be a list, got ${describeValue(value)}`);
    }
    return value;
  }

  /** Keys present in the file and never read, as dotted paths. */
  unreadKeys(): string[] {
    return Object.keys(this.value)
      .filter((name) => !this.read.has(name))
      .map((name) => this.keyOf(name));
  }

  /** For sections Strait owns: an unread key is a typo, not someone else's setting. */
  rejectUnreadKeys(): void {
    const [first] = Object.keys(this.value).filter((name) => !this.read.has(name));
    if (first !== undefined) {
      const known = [...this.read].sort().join(', ');
      throw new ConfigError(this.keyOf(first), `unknown key (expected one of: ${known})`);
    }
  }
}

/** `"a"`, `"a" or "b"`, `one of "a", "b", "c"`. */
export function formatChoices(allowed: readonly string[]): string {
  const quoted = allowed.map((choice) => JSON.stringify(choice));
  if (quoted.length === 1) return quoted[0];
  if (quoted.length === 2) return `${quoted[0]} or ${quoted[1]}`;
  return `one of ${quoted.join(', ')}`;
}
