/**
 * @strait/proxy: the L4 engine. Create it, listen(), apply(config) on every change, close().
 * Everything else here is types and the building blocks the control plane reuses (the route
 * compiler for dry runs and the match debugger).
 */
export * from './config';
export * from './engine';
export * from './tls';
export * from './health';
export { compileRouteTable, isValidIpOrCidr, RoutingError } from './routing';
export type {
  ConnectionContext,
  MatchExplanation,
  MatchFailure,
  RouteTable,
  RoutingErrorCode,
} from './routing';
export { createBalancerRegistry } from './balancing';
export type { BalancerRegistry, ConnectFailure, NodeAttempts } from './balancing';
export {
  createPluginPipeline,
  type PluginLogger,
  type PluginPipeline,
  type PluginPipelineOptions,
  type PluginPipelineStats,
  type SyslogSinkStats,
} from './plugins';
