/**
 * api7 jsonschema matches `pattern` and `patternProperties` with `ngx.re.find(subject, pattern, "jo")`:
 * an unanchored PCRE search in byte mode. The APISIX patterns are plain enough for JavaScript's
 * RegExp once three PCRE semantics are carried over:
 * - `$` (no multiline flag) also matches before a final newline, so `^\S+$` accepts "v\n";
 * - `\s`/`\S` are the ASCII whitespace set only (JavaScript adds U+00A0, U+2028, ...);
 * - a `]` right after `[` or `[^` is a literal, not an empty class.
 */

const compiled = new Map<string, RegExp | null>();

const PCRE_SPACE = '\\t\\n\\v\\f\\r ';

function translate(pattern: string): string {
  let translated = '';
  let inClass = false;
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index];
    if (character === '\\') {
      const next = pattern[index + 1] ?? '';
      index++;
      if (next === 's') translated += inClass ? PCRE_SPACE : `[${PCRE_SPACE}]`;
      else if (next === 'S' && !inClass) translated += `[^${PCRE_SPACE}]`;
      else translated += `\\${next}`;
      continue;
    }
    if (inClass) {
      if (character === ']') inClass = false;
      translated += character;
      continue;
    }
    if (character === '[') {
      inClass = true;
      translated += '[';
      if (pattern[index + 1] === '^') {
        translated += '^';
        index++;
      }
      if (pattern[index + 1] === ']') {
        translated += '\\]';
        index++;
      }
      continue;
    }
    translated += character === '$' ? '(?=\\n?$)' : character;
  }
  return translated;
}

function compile(pattern: string): RegExp | null {
  let regexp = compiled.get(pattern);
  if (regexp === undefined) {
    try {
      regexp = new RegExp(translate(pattern));
    } catch {
      regexp = null;
    }
    compiled.set(pattern, regexp);
  }
  return regexp;
}

/** `ngx.re.find(subject, pattern, "jo") ~= nil`. A pattern that does not compile matches nothing. */
export function pcreSearch(subject: string, pattern: string): boolean {
  const regexp = compile(pattern);
  return regexp !== null && regexp.test(subject);
}
