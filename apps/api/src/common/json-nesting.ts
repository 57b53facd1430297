/**
 * lua-cjson's `decode_max_depth` (1000), which APISIX's admin API inherits: deeper JSON is refused.
 * Node's own recursion (JSON.parse revivers, validators, structuredClone) overflows the stack a
 * little past 2000 levels, so without this limit such a body was a 500 instead of a 400.
 */
export const MAX_JSON_NESTING = 1000;

/**
 * Scans JSON text for the first array or object opened beyond `MAX_JSON_NESTING` levels and
 * returns lua-cjson's message for it (`Found too many nested data structures (1001) at character
 * N`, N being the 1-based offset of that bracket), or undefined. Strings are skipped, escapes
 * included; the scan is iterative, so it cannot overflow itself.
 */
export function findExcessiveNesting(text: string): string | undefined {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index++;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === '{' || char === '[') {
      depth++;
      if (depth > MAX_JSON_NESTING) {
        return `Found too many nested data structures (${depth}) at character ${index + 1}`;
      }
    } else if (char === '}' || char === ']') {
      depth--;
    }
  }
  return undefined;
}

/** How many arrays and objects are nested in `value` (a scalar is 0), without recursion. */
export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return deepest;
}
