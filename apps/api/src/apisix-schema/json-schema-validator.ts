/**
 * A JSON-schema checker that reports the first failure with api7 jsonschema's exact wording
 * (the library APISIX uses, lib/jsonschema.lua 0.9.x). Only the keywords APISIX schemas use.
 *
 * Order of checks inside one schema node, as api7 generates its validator code:
 *   secret-reference skip, type, object keywords (properties in schema order with inline
 *   `required` and `dependencies`, the remaining `required`, the remaining `dependencies`,
 *   patternProperties/additionalProperties over the value's keys, min/maxProperties),
 *   array keywords (minItems, maxItems, items, uniqueItems), string keywords (minLength,
 *   maxLength, pattern), number keywords (minimum, exclusiveMinimum, maximum, exclusiveMaximum,
 *   multipleOf), enum, allOf, anyOf, oneOf, if/then/else, not, format, const.
 *
 * api7 walks `properties` with Lua `pairs()`, whose order is LuaJIT's hash order; we use the order
 * the schema declares, which is what the APISIX tests observe whenever only one property fails.
 */
import { isIpv4Literal, isIpv6Literal } from './ip-address';
import type { JsonSchema, JsonSchemaType } from './json-schema.types';
import {
  cjsonEncode,
  hasOwn,
  isJsonObject,
  isLuaTable,
  jsonDeepEqual,
  luaNumberToString,
  luaQuote,
  luaTypeName,
  type JsonObject,
} from './lua-values';
import { pcreSearch } from './pcre-pattern';
import { isSecretReference } from './secret-reference';

export interface SchemaCheckOptions {
  /**
   * Write `default` values into the checked value while checking, as api7 jsonschema does. Later
   * APISIX checks read the defaulted copy (e.g. `hash_on` defaults to `vars` for the chash key
   * pattern). Only ever pass a copy: APISIX does not store defaults.
   */
  readonly applyDefaults?: boolean;
}

/** Returns the api7 jsonschema error text of the first failure, or undefined when valid. */
export function checkSchema(
  schema: JsonSchema,
  value: unknown,
  options: SchemaCheckOptions = {},
): string | undefined {
  return checkNode(schema, value, options.applyDefaults === true);
}

/** A deep copy of `value` with the schema defaults filled in, for the runtime. Not for storage. */
export function applySchemaDefaults<T>(schema: JsonSchema, value: T): T {
  const copy = structuredClone(value);
  checkNode(schema, copy, true);
  return copy;
}

function checkNode(schema: JsonSchema, value: unknown, applyDefaults: boolean): string | undefined {
  // APISIX passes `skip_validation = secret.is_secret_ref` (jsonschema 0.9.13): a `$secret://` or
  // `$env://` string is valid against any schema node whose `type` is absent or "string"
  // (t/admin/ssl.t TEST 23: a 27-character `$ENV://` cert passes the 128-character minimum).
  if (isSecretReference(value) && (schema.type === undefined || schema.type === 'string')) {
    return undefined;
  }
  return (
    checkType(schema, value) ??
    checkObjectKeywords(schema, value, applyDefaults) ??
    checkArrayKeywords(schema, value, applyDefaults) ??
    checkStringKeywords(schema, value) ??
    checkNumberKeywords(schema, value) ??
    checkEnum(schema, value) ??
    checkCombinators(schema, value, applyDefaults) ??
    checkFormat(schema, value) ??
    checkConst(schema, value)
  );
}

function matchesType(type: JsonSchemaType, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isJsonObject(value);
    case 'array':
      return Array.isArray(value);
    case 'table':
      return isLuaTable(value);
    // Lua: `type(v) == "number" and v % 1.0 == 0.0`, so 1.0 is an integer and 1.5 is not.
    case 'integer':
      return typeof value === 'number' && value % 1 === 0;
    case 'number':
      return typeof value === 'number';
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
  }
}

function checkType(schema: JsonSchema, value: unknown): string | undefined {
  const { type } = schema;
  if (type === undefined) return undefined;
  if (typeof type === 'string') {
    return matchesType(type, value)
      ? undefined
      : `wrong type: expected ${type}, got ${luaTypeName(value)}`;
  }
  const types: readonly JsonSchemaType[] = type;
  return types.some((candidate) => matchesType(candidate, value))
    ? undefined
    : `wrong type: expected one of ${types.join(', ')}, got ${luaTypeName(value)}`;
}

function hasObjectKeywords(schema: JsonSchema): boolean {
  return (
    schema.properties !== undefined ||
    schema.additionalProperties !== undefined ||
    schema.patternProperties !== undefined ||
    schema.minProperties !== undefined ||
    schema.maxProperties !== undefined ||
    schema.dependencies !== undefined ||
    schema.required !== undefined
  );
}

function isInjectableDefault(value: unknown): boolean {
  return ['number', 'string', 'boolean', 'object'].includes(typeof value) && value !== null;
}

function checkDependency(
  name: string,
  dependency: JsonSchema | readonly string[],
  object: JsonObject,
  applyDefaults: boolean,
): string | undefined {
  if (Array.isArray(dependency)) {
    const missing = dependency.find((required) => !hasOwn(object, required));
    return missing === undefined
      ? undefined
      : `property "${missing}" is required when "${name}" is set`;
  }
  const error = checkNode(dependency as JsonSchema, object, applyDefaults);
  return error === undefined
    ? undefined
    : `failed to validate dependent schema for "${name}": ${error}`;
}

function checkObjectKeywords(
  schema: JsonSchema,
  value: unknown,
  applyDefaults: boolean,
): string | undefined {
  if (!hasObjectKeywords(schema)) return undefined;
  const error = isJsonObject(value) ? checkObject(schema, value, applyDefaults) : undefined;
  if (error !== undefined) return error;
  // api7: `required: []` means "must be an empty table"; it is checked for any value.
  if (schema.required !== undefined && schema.required.length === 0) {
    const empty = isJsonObject(value) && Object.keys(value).length === 0;
    if (!empty) return 'the input data should be an empty table';
  }
  return undefined;
}

function checkObject(
  schema: JsonSchema,
  object: JsonObject,
  applyDefaults: boolean,
): string | undefined {
  const properties = schema.properties ?? {};
  const dependencies = schema.dependencies ?? {};
  const remainingRequired = new Set(schema.required ?? []);

  for (const [name, propertySchema] of Object.entries(properties)) {
    const present = hasOwn(object, name);
    if (present) {
      const error = checkNode(propertySchema, object[name], applyDefaults);
      if (error !== undefined) return `property "${name}" validation failed: ${error}`;
      const dependency = hasOwn(dependencies, name) ? dependencies[name] : undefined;
      if (dependency !== undefined) {
        const dependencyError = checkDependency(name, dependency, object, applyDefaults);
        if (dependencyError !== undefined) return dependencyError;
      }
    } else if (remainingRequired.has(name)) {
      return `property "${name}" is required`;
    }
    remainingRequired.delete(name);
    if (!present && applyDefaults && isInjectableDefault(propertySchema.default)) {
      object[name] = structuredClone(propertySchema.default);
    }
  }

  for (const name of remainingRequired) {
    if (!hasOwn(object, name)) return `property "${name}" is required`;
  }

  for (const [name, dependency] of Object.entries(dependencies)) {
    if (hasOwn(properties, name) || !hasOwn(object, name)) continue;
    const error = checkDependency(name, dependency, object, applyDefaults);
    if (error !== undefined) return error;
  }

  const additional = schema.additionalProperties;
  const checksAdditional = additional !== undefined && additional !== true;
  if (schema.patternProperties !== undefined || checksAdditional) {
    for (const key of Object.keys(object)) {
      let matched = false;
      for (const [pattern, patternSchema] of Object.entries(schema.patternProperties ?? {})) {
        if (!pcreSearch(key, pattern)) continue;
        const error = checkNode(patternSchema, object[key], applyDefaults);
        // The pattern is inlined into generated Lua source, so it reads unescaped here.
        if (error !== undefined)
          return `failed to validate ${key} (matching "${pattern}"): ${error}`;
        matched = true;
      }
      if (!checksAdditional || matched || hasOwn(properties, key)) continue;
      if (additional === false) return `additional properties forbidden, found ${key}`;
      const error = checkNode(additional as JsonSchema, object[key], applyDefaults);
      if (error !== undefined) return `failed to validate additional property ${key}: ${error}`;
    }
  }

  const count = Object.keys(object).length;
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    return `expect object to have at least ${luaNumberToString(schema.minProperties)} properties`;
  }
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    return `expect object to have at most ${luaNumberToString(schema.maxProperties)} properties`;
  }
  return undefined;
}

/** api7 `unique_item_in_array`: scalars first (by value), then tables pairwise. 1-based indexes. */
function findDuplicateItems(items: readonly unknown[]): [number, number] | undefined {
  const seenScalars = new Map<string, number>();
  const tables: Array<{ value: unknown; position: number }> = [];
  for (const [index, item] of items.entries()) {
    const position = index + 1;
    if (isLuaTable(item)) {
      tables.push({ value: item, position });
      continue;
    }
    const key = `${typeof item}:${String(item)}`;
    const first = seenScalars.get(key);
    if (first !== undefined) return [first, position];
    seenScalars.set(key, position);
  }
  for (let left = 0; left < tables.length - 1; left++) {
    for (let right = left + 1; right < tables.length; right++) {
      if (jsonDeepEqual(tables[left].value, tables[right].value)) {
        return [tables[left].position, tables[right].position];
      }
    }
  }
  return undefined;
}

function checkArrayKeywords(
  schema: JsonSchema,
  value: unknown,
  applyDefaults: boolean,
): string | undefined {
  if (!Array.isArray(value)) return undefined;
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    return `expect array to have at least ${luaNumberToString(schema.minItems)} items`;
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    return `expect array to have at most ${luaNumberToString(schema.maxItems)} items`;
  }
  if (schema.items !== undefined) {
    for (const [index, item] of value.entries()) {
      const error = checkNode(schema.items, item, applyDefaults);
      if (error !== undefined) return `failed to validate item ${index + 1}: ${error}`;
    }
  }
  if (schema.uniqueItems === true) {
    const duplicate = findDuplicateItems(value);
    if (duplicate !== undefined) {
      return `expected unique items but items ${duplicate[0]} and ${duplicate[1]} are equal`;
    }
  }
  return undefined;
}

/** api7 `utf8_len`: counts UTF-8 characters, not bytes or UTF-16 units. */
function characterCount(text: string): number {
  let count = 0;
  for (const _character of text) count++;
  return count;
}

function checkStringKeywords(schema: JsonSchema, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (schema.minLength !== undefined) {
    const count = characterCount(value);
    if (count < schema.minLength) {
      return `string too short, expected at least ${schema.minLength}, got ${count}`;
    }
  }
  if (schema.maxLength !== undefined) {
    const count = characterCount(value);
    if (count > schema.maxLength) {
      return `string too long, expected at most ${schema.maxLength}, got ${count}`;
    }
  }
  if (schema.pattern !== undefined && !pcreSearch(value, schema.pattern)) {
    // Both sides go through Lua's %q, so backslashes in the pattern show doubled.
    return `failed to match pattern ${luaQuote(schema.pattern)} with ${luaQuote(value)}`;
  }
  return undefined;
}

function isMultipleOf(value: number, divisor: number): boolean {
  if (Number.isInteger(divisor)) return value % divisor === 0;
  // api7 0.9.12: relative tolerance for IEEE 754 noise (1.13 / 0.01 = 112.99999999999999).
  const quotient = value / divisor;
  const rounded = Math.floor(quotient + 0.5);
  const tolerance = 1e-12 * (rounded === 0 ? 1 : Math.abs(rounded));
  return Math.abs(quotient - rounded) <= tolerance;
}

function checkNumberKeywords(schema: JsonSchema, value: unknown): string | undefined {
  if (typeof value !== 'number') return undefined;
  const shown = luaNumberToString(value);
  const { minimum, exclusiveMinimum, maximum, exclusiveMaximum, multipleOf } = schema;
  if (minimum !== undefined && value < minimum) {
    return `expected ${shown} to be at least ${luaNumberToString(minimum)}`;
  }
  if (exclusiveMinimum !== undefined && value <= exclusiveMinimum) {
    return `expected ${shown} to be greater than ${luaNumberToString(exclusiveMinimum)}`;
  }
  if (maximum !== undefined && value > maximum) {
    return `expected ${shown} to be at most ${luaNumberToString(maximum)}`;
  }
  if (exclusiveMaximum !== undefined && value >= exclusiveMaximum) {
    return `expected ${shown} to be smaller than ${luaNumberToString(exclusiveMaximum)}`;
  }
  if (multipleOf !== undefined && !isMultipleOf(value, multipleOf)) {
    return `expected ${shown} to be a multiple of ${luaNumberToString(multipleOf)}`;
  }
  return undefined;
}

function checkEnum(schema: JsonSchema, value: unknown): string | undefined {
  if (schema.enum === undefined) return undefined;
  return schema.enum.some((candidate) => jsonDeepEqual(value, candidate))
    ? undefined
    : 'matches none of the enum values';
}

function checkAnyOf(
  branches: readonly JsonSchema[],
  value: unknown,
  applyDefaults: boolean,
): string | undefined {
  if (branches.some((branch) => checkNode(branch, value, applyDefaults) === undefined)) {
    return undefined;
  }
  // api7 appends the `required` lists of the branches that have one, JSON-encoded by cjson:
  // `object matches none of the required: ["active"] or ["active","passive"]`.
  const requiredLists = branches
    .filter((branch) => branch.required !== undefined)
    .map((branch) => cjsonEncode(branch.required));
  return requiredLists.length > 0
    ? `object matches none of the required: ${requiredLists.join(' or ')}`
    : 'object matches none of the required';
}

function checkOneOf(
  branches: readonly JsonSchema[],
  value: unknown,
  applyDefaults: boolean,
): string | undefined {
  let matched: number | undefined;
  for (const [index, branch] of branches.entries()) {
    if (checkNode(branch, value, applyDefaults) !== undefined) continue;
    if (matched !== undefined) {
      return `value should match only one schema, but matches both schemas ${matched} and ${index + 1}`;
    }
    matched = index + 1;
  }
  return matched === undefined ? 'value should match only one schema, but matches none' : undefined;
}

function checkCombinators(
  schema: JsonSchema,
  value: unknown,
  applyDefaults: boolean,
): string | undefined {
  for (const [index, branch] of (schema.allOf ?? []).entries()) {
    const error = checkNode(branch, value, applyDefaults);
    if (error !== undefined) return `allOf ${index + 1} failed: ${error}`;
  }
  if (schema.anyOf !== undefined) {
    const error = checkAnyOf(schema.anyOf, value, applyDefaults);
    if (error !== undefined) return error;
  }
  if (schema.oneOf !== undefined) {
    const error = checkOneOf(schema.oneOf, value, applyDefaults);
    if (error !== undefined) return error;
  }
  if (schema.if !== undefined) {
    const matched = checkNode(schema.if, value, applyDefaults) === undefined;
    const branch = matched ? schema.then : schema.else;
    if (branch !== undefined && checkNode(branch, value, applyDefaults) !== undefined) {
      return matched ? 'then clause did not match' : 'else clause did not match';
    }
  }
  if (schema.not !== undefined && checkNode(schema.not, value, applyDefaults) === undefined) {
    return "value wasn't supposed to match schema";
  }
  return undefined;
}

// Under OpenResty api7 checks these two formats with inet_pton; other formats are not used by
// the stream schemas and are ignored, like api7 ignores formats it does not know.
const FORMAT_CHECKS: Readonly<Record<string, (text: string) => boolean>> = {
  ipv4: isIpv4Literal,
  ipv6: isIpv6Literal,
};

function checkFormat(schema: JsonSchema, value: unknown): string | undefined {
  if (schema.format === undefined || typeof value !== 'string') return undefined;
  const check = hasOwn(FORMAT_CHECKS, schema.format) ? FORMAT_CHECKS[schema.format] : undefined;
  if (check === undefined || check(value)) return undefined;
  return `expect valid ${schema.format} format but got: ${value}`;
}

function checkConst(schema: JsonSchema, value: unknown): string | undefined {
  if (schema.const === undefined || jsonDeepEqual(value, schema.const)) return undefined;
  return 'failed to check const value';
}
