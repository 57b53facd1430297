/**
 * APISIX's `${{NAME}}` and `${{NAME:=default}}` references in config.yaml (`apisix/cli/file.lua`),
 * so container deployments can inject the admin key or ports. `${{` is used because nginx owns
 * `$name` and `${name}`.
 *
 * Substitution runs on the parsed YAML nodes rather than on the text, so comments are never
 * touched. A plain scalar takes the type of what it became (`port: ${{PORT}}` is a number, as
 * APISIX's `tonumber`/`true`/`false` conversion does); a quoted one stays a string
 * (`key: "${{ADMIN_KEY}}"`), which is how a digits-only secret stays a string.
 */
import { isPair, isScalar, isSeq, Scalar, visit, type Document, type LineCounter } from 'yaml';
import { ConfigError } from './config-error';
import { joinKey } from './config-values';

export type Environment = Readonly<Record<string, string | undefined>>;

const REFERENCE = /\$\{\{\s*(\w+)(?:\s*:=(.*?))?\s*\}\}/g;

/**
 * Replaces every reference in `text`. Throws a plain Error naming the variable when it is unset
 * and has no default; the caller adds the key.
 */
export function substituteText(text: string, env: Environment): { value: string; used: boolean } {
  let used = false;
  const value = text.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
    const found = env[name] ?? fallback?.trim();
    if (found === undefined) {
      throw new Error(`failed to handle configuration: can't find environment variable ${name}`);
    }
    used = true;
    return found;
  });
  return { value, used };
}

/** The type a plain scalar takes after substitution (APISIX: number, true, false, else string). */
export function inferPlainValue(text: string): string | number | boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  const trimmed = text.trim();
  if (trimmed !== '' && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^0x[0-9a-fA-F]+$/.test(trimmed)) {
    const number = Number(trimmed);
    if (Number.isFinite(number)) return number;
  }
  return text;
}

/** Substitutes in place every scalar (values and keys) of the document that holds a reference. */
export function substituteEnvironmentVariables(
  document: Document,
  env: Environment,
  location: { file?: string; lineCounter?: LineCounter } = {},
): void {
  visit(document, {
    Scalar(key, node, path) {
      if (typeof node.value !== 'string' || !node.value.includes('${{')) return undefined;
      let result: { value: string; used: boolean };
      try {
        result = substituteText(node.value, env);
      } catch (error) {
        const position =
          node.range && location.lineCounter
            ? location.lineCounter.linePos(node.range[0])
            : undefined;
        throw new ConfigError(keyPathOf(path, node), (error as Error).message, {
          file: location.file,
          line: position?.line,
          column: position?.col,
        });
      }
      if (!result.used) return undefined;
      const plain = node.type === Scalar.PLAIN || node.type === undefined;
      node.value = plain && key !== 'key' ? inferPlainValue(result.value) : result.value;
      return undefined;
    },
  });
}

/** Dotted key of a node from the visitor's ancestry: `deployment.admin.admin_key[0].key`. */
function keyPathOf(path: readonly unknown[], node: unknown): string {
  let key = '';
  const chain = [...path, node];
  for (let index = 0; index < chain.length - 1; index++) {
    const parent = chain[index];
    const child = chain[index + 1];
    if (isPair(parent)) {
      if (child === parent.key) break;
      key = joinKey(key, isScalar(parent.key) ? String(parent.key.value) : '?');
    } else if (isSeq(parent)) {
      key = joinKey(key, parent.items.indexOf(child));
    }
  }
  return key === '' ? '(document)' : key;
}
