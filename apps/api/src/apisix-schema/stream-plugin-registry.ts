/**
 * The stream plugins Strait knows, as APISIX loads them from `stream_plugins` in config.yaml.
 */
import type { JsonSchema } from './json-schema.types';
import { ipRestrictionPlugin } from './schemas/plugins/ip-restriction.plugin';
import { limitConnPlugin } from './schemas/plugins/limit-conn.plugin';
import { mqttProxyPlugin } from './schemas/plugins/mqtt-proxy.plugin';
import { prometheusPlugin } from './schemas/plugins/prometheus.plugin';
import { syslogPlugin } from './schemas/plugins/syslog.plugin';
import { trafficSplitPlugin } from './schemas/plugins/traffic-split.plugin';
import type { StreamPluginDefinition } from './stream-plugin.types';

/**
 * The default `stream_plugins` of apisix/cli/config.lua. prometheus (500) exists but is only
 * loaded when the configuration lists it.
 */
export const DEFAULT_STREAM_PLUGINS: readonly string[] = Object.freeze([
  'ip-restriction',
  'limit-conn',
  'mqtt-proxy',
  'traffic-split',
  'syslog',
]);

const KNOWN_PLUGINS: ReadonlyMap<string, StreamPluginDefinition> = new Map(
  [
    ipRestrictionPlugin,
    limitConnPlugin,
    mqttProxyPlugin,
    trafficSplitPlugin,
    prometheusPlugin,
    syslogPlugin,
  ].map((plugin) => [plugin.name, plugin]),
);

/** Any stream plugin Strait ships, enabled or not (plugin_metadata accepts every module). */
export function findStreamPlugin(name: string): StreamPluginDefinition | undefined {
  return KNOWN_PLUGINS.get(name);
}

/** A plugin that is both shipped and enabled; what route plugin checks and GET /plugins see. */
export function findEnabledStreamPlugin(
  name: string,
  enabled: readonly string[],
): StreamPluginDefinition | undefined {
  return enabled.includes(name) ? KNOWN_PLUGINS.get(name) : undefined;
}

/** The enabled plugin definitions, highest priority first. Unknown names are dropped, as APISIX does. */
export function enabledStreamPlugins(enabled: readonly string[]): StreamPluginDefinition[] {
  const plugins = [...new Set(enabled)]
    .map((name) => KNOWN_PLUGINS.get(name))
    .filter((plugin): plugin is StreamPluginDefinition => plugin !== undefined);
  return plugins.sort((left, right) => right.priority - left.priority);
}

/** One entry of `GET /apisix/admin/plugins?all=true&subsystem=stream` (deprecated form). */
export interface StreamPluginSummary {
  version: number;
  priority: number;
  schema: JsonSchema;
  metadata_schema?: JsonSchema;
}
