/**
 * The subset of JSON Schema (draft 7 keywords) that APISIX's schemas use, as plain data. The
 * objects are served as-is by `GET /apisix/admin/schema/{name}` and `/plugins/{name}`.
 */

/** `table` is an api7 jsonschema extension: any Lua table (object or array). */
export type JsonSchemaType =
  'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null' | 'table';

export interface JsonSchema {
  readonly type?: JsonSchemaType | readonly JsonSchemaType[];
  readonly title?: string;
  readonly description?: string;
  readonly $comment?: string;
  readonly default?: unknown;

  readonly properties?: { readonly [name: string]: JsonSchema };
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly patternProperties?: { readonly [pattern: string]: JsonSchema };
  readonly dependencies?: { readonly [name: string]: JsonSchema | readonly string[] };
  readonly minProperties?: number;
  readonly maxProperties?: number;

  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly uniqueItems?: boolean;

  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: string;

  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly multipleOf?: number;

  readonly enum?: readonly unknown[];
  readonly const?: unknown;

  readonly allOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly not?: JsonSchema;
  readonly if?: JsonSchema;
  readonly then?: JsonSchema;
  readonly else?: JsonSchema;
}

/** Deep-freezes a schema literal so shared sub-schemas can never be changed by a caller. */
export function defineSchema(schema: JsonSchema): JsonSchema {
  return deepFreeze(schema);
}

/** Deep-freezes a list of schemas (`ip_def` is one). */
export function defineSchemaList(schemas: readonly JsonSchema[]): readonly JsonSchema[] {
  return deepFreeze(schemas);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
