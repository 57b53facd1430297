/**
 * The stream plugins (spec 4): ip-restriction, limit-conn, mqtt-proxy, traffic-split, syslog and
 * the prometheus marker, compiled per route at apply() into the engine's preread steps.
 */
export { createPluginPipeline } from './pipeline';
export type { PluginPipeline, PluginPipelineOptions, PluginPipelineStats } from './pipeline';
export type { PluginLogger } from './plugin-types';
export type { SyslogSinkStats } from './syslog-sink';
export { parseMqttConnect } from './mqtt-connect';
export type { MqttConnectParse } from './mqtt-connect';
