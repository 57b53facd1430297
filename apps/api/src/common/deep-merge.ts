import type { JsonObject } from '../store/resource-kinds';

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * APISIX PATCH semantics (apisix/core/table.lua merge): objects merge recursively, arrays and
 * scalars replace, JSON null deletes the key. Returns a new object; inputs are not modified.
 */
export function deepMerge(target: JsonObject, patch: JsonObject): JsonObject {
  const result: JsonObject = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else if (isJsonObject(value) && isJsonObject(result[key])) {
      result[key] = deepMerge(result[key], value);
    } else {
      result[key] = value;
    }
  }
  return result;
}

/**
 * Sets `value` at a `/`-separated sub-path, creating missing objects on the way (APISIX
 * `PATCH /upstreams/1/nodes`). Walking through a non-object fails with the first segment that
 * could not be entered, as APISIX reports it (`invalid sub-path: /a`).
 */
export function setAtSubPath(
  target: JsonObject,
  segments: string[],
  value: unknown,
): { ok: true; result: JsonObject } | { ok: false; failedAt: string } {
  const result = structuredClone(target);
  let cursor: JsonObject = result;
  for (const [index, segment] of segments.entries()) {
    // `__proto__` would walk into (and then write to) Object.prototype: refused like in bodies.
    if (segment === '__proto__') {
      return { ok: false, failedAt: `/${segments.slice(0, index + 1).join('/')}` };
    }
    if (index === segments.length - 1) {
      cursor[segment] = value;
      break;
    }
    // Own properties only: an inherited `constructor` is not part of the stored object.
    const next = Object.hasOwn(cursor, segment) ? cursor[segment] : undefined;
    if (next === undefined) {
      cursor[segment] = {};
    } else if (!isJsonObject(next)) {
      return { ok: false, failedAt: `/${segments.slice(0, index + 1).join('/')}` };
    }
    cursor = cursor[segment] as JsonObject;
  }
  return { ok: true, result };
}
