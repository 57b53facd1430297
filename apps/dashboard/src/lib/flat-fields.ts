/**
 * Scalar form fields described by their API path (`timeout.connect`, `checks.active.healthy.interval`):
 * one description drives the input, the conversion from the stored object and back, and where an
 * API error about that path is shown.
 */
export type FlatValue = string | boolean;
export type FlatValues = Record<string, FlatValue>;

export type SpecKind =
  | 'text'
  | 'textarea'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'select'
  | 'integerList'
  | 'lines'
  | 'json';

export interface FieldSpec {
  path: string;
  label: string;
  kind: SpecKind;
  options?: ReadonlyArray<{ value: string; label: string }>;
  hint?: string;
  placeholder?: string;
  /** For booleans: the schema default, which is not written back. */
  defaultValue?: boolean;
  mono?: boolean;
}

/** A value the form itself cannot turn into the API's shape; shown like an API error. */
export class FieldError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export function getPath(source: unknown, path: string): unknown {
  let current: unknown = source;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  let current = target;
  for (const segment of segments.slice(0, -1)) {
    const next = current[segment];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) current[segment] = {};
    current = current[segment] as Record<string, unknown>;
  }
  current[segments[segments.length - 1]] = value;
}

export function readFlat(source: unknown, specs: readonly FieldSpec[]): FlatValues {
  const values: FlatValues = {};
  for (const spec of specs) {
    const value = getPath(source, spec.path);
    values[spec.path] = toFlat(spec, value);
  }
  return values;
}

function toFlat(spec: FieldSpec, value: unknown): FlatValue {
  switch (spec.kind) {
    case 'boolean':
      return value === undefined ? (spec.defaultValue ?? false) : value === true;
    case 'integerList':
      return Array.isArray(value) ? value.join(', ') : '';
    case 'lines':
      return Array.isArray(value) ? value.join('\n') : '';
    case 'json':
      return value === undefined ? '' : JSON.stringify(value, null, 2);
    case 'text':
    case 'textarea':
    case 'number':
    case 'integer':
    case 'select':
      return value === undefined || value === null ? '' : String(value);
  }
}

/** Writes the fields that are set into `target`; `prefix` only qualifies error paths. */
export function writeFlat(
  target: Record<string, unknown>,
  values: FlatValues,
  specs: readonly FieldSpec[],
  prefix = '',
): void {
  for (const spec of specs) {
    const parsed = fromFlat(spec, values[spec.path], `${prefix}${spec.path}`);
    if (parsed !== undefined) setPath(target, spec.path, parsed);
  }
}

function fromFlat(spec: FieldSpec, value: FlatValue | undefined, errorPath: string): unknown {
  if (spec.kind === 'boolean') {
    const checked = value === true;
    return checked === (spec.defaultValue ?? false) ? undefined : checked;
  }
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '') return undefined;
  switch (spec.kind) {
    case 'number':
    case 'integer':
      return parseNumber(text, errorPath);
    case 'integerList':
      return text
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((part) => parseNumber(part, errorPath));
    case 'lines':
      return text
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean);
    case 'json':
      return parseJson(text, errorPath);
    case 'text':
    case 'textarea':
    case 'select':
      return spec.kind === 'textarea' ? (value as string) : text;
  }
}

export function parseNumber(text: string, errorPath: string): number {
  const number = Number(text);
  if (!Number.isFinite(number)) throw new FieldError(errorPath, `"${text}" is not a number`);
  return number;
}

export function parseJson(text: string, errorPath: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new FieldError(errorPath, `Not valid JSON: ${(error as Error).message}`);
  }
}

export function pathsOf(specs: readonly FieldSpec[]): string[] {
  return specs.map((spec) => spec.path);
}
