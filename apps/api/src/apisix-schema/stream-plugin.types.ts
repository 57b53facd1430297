import { checkSchema } from './json-schema-validator';
import type { JsonSchema } from './json-schema.types';

/** One stream plugin as APISIX loads it from apisix/stream/plugins/<name>.lua. */
export interface StreamPluginDefinition {
  readonly name: string;
  /** Plugins run, and are listed, by descending priority. */
  readonly priority: number;
  readonly version: number;
  /** The plugin schema with the injected `_meta` property and `$comment` mark. */
  readonly schema: JsonSchema;
  /** The schema `plugin_metadata/<name>` is checked against, when the plugin declares one. */
  readonly metadataSchema?: JsonSchema;
  /**
   * The plugin's `check_schema(conf)`: the schema plus any plugin-specific check, returning the raw
   * message. It writes schema defaults into `conf`, so pass a copy.
   */
  readonly checkConf: (conf: unknown) => string | undefined;
}

/** `check_schema` of plugins that only run `core.schema.check(schema, conf)`. */
export function schemaOnlyCheck(schema: JsonSchema): (conf: unknown) => string | undefined {
  return (conf) => checkSchema(schema, conf, { applyDefaults: true });
}
