/**
 * The per-plugin checks of apisix/plugin.lua for a resource's `plugins` object.
 */
import { cjsonEncode, isJsonObject, isLuaTable, type JsonObject } from './lua-values';
import { findEnabledStreamPlugin } from './stream-plugin-registry';

/** `_meta.disable == true` (apisix/plugin.lua check_disable): such a conf is kept even if invalid. */
function isDisabled(conf: unknown): boolean {
  return isJsonObject(conf) && isJsonObject(conf._meta) && conf._meta.disable === true;
}

function invalidConfMessage(name: string, conf: unknown): string {
  return `invalid plugin conf ${cjsonEncode(conf)} for plugin [${name}]`;
}

/**
 * `stream_check_schema` as the Admin API runs it (unknown plugins are errors there), over the
 * plugins in the order the body lists them. `plugins` must be a copy: defaults are written into it.
 */
export function checkStreamRoutePlugins(
  plugins: JsonObject,
  enabled: readonly string[],
): string | undefined {
  for (const [name, conf] of Object.entries(plugins)) {
    if (!isLuaTable(conf)) return invalidConfMessage(name, conf);
    const plugin = findEnabledStreamPlugin(name, enabled);
    if (plugin === undefined) return `unknown plugin [${name}]`;
    const error = plugin.checkConf(conf);
    if (error !== undefined && !isDisabled(conf)) {
      return `failed to check the configuration of stream plugin [${name}]: ${error}`;
    }
  }
  return undefined;
}

/**
 * Service plugins. APISIX checks them as HTTP plugins (`check_single_plugin_schema`, whose texts
 * are used here); Strait only runs stream plugins, so they are checked against the enabled stream
 * plugins instead (STRAIT DEVIATION: an HTTP-only plugin on a service is `unknown plugin [x]`).
 */
export function checkServicePlugins(
  plugins: JsonObject,
  enabled: readonly string[],
): string | undefined {
  for (const [name, conf] of Object.entries(plugins)) {
    if (!isLuaTable(conf)) return invalidConfMessage(name, conf);
    const plugin = findEnabledStreamPlugin(name, enabled);
    if (plugin === undefined) return `unknown plugin [${name}]`;
    const error = plugin.checkConf(conf);
    if (error !== undefined && !isDisabled(conf)) {
      return `failed to check the configuration of plugin ${name} err: ${error}`;
    }
  }
  return undefined;
}
