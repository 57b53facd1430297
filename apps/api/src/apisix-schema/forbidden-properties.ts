/**
 * apisix/admin/resource.lua `check_forbidden_properties`, run on PUT and POST bodies before any
 * resource check: `create_time` and `update_time` may not be set at the top level, nor inside
 * `upstream` or `plugins`.
 */
import { isJsonObject } from './lua-values';

const FORBIDDEN = ['create_time', 'update_time'] as const;

/** Lua truthiness of `conf[v]`: anything but nil and false (so 0 and JSON null count). */
function isSet(object: unknown, field: string): boolean {
  if (!isJsonObject(object)) return false;
  const value = object[field];
  return value !== undefined && value !== false;
}

/**
 * The error text, with APISIX's double space (`the property is forbidden:  create_time`), or
 * undefined when the body is clean.
 */
export function findForbiddenTimestamp(body: unknown): string | undefined {
  const prefix = 'the property is forbidden:  ';
  if (!isJsonObject(body)) return undefined;
  const scopes: Array<[unknown, string]> = [
    [body, ''],
    [body.upstream, 'upstream.'],
    [body.plugins, 'plugins.'],
  ];
  for (const [scope, path] of scopes) {
    const field = FORBIDDEN.find((name) => isSet(scope, name));
    if (field !== undefined) return `${prefix}${path}${field}`;
  }
  return undefined;
}
