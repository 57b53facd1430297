export { createProxyEngine, ProxyEngine } from './proxy-engine';
export type { CloseOptions, CreateProxyEngineOptions } from './proxy-engine';
export type {
  ConnectionInfo,
  ConnectionPhase,
  ConnectionStatus,
  ConnectionSummary,
  ListenerErrorEvent,
  LiveConnection,
  ProxyEngineEvents,
} from './connection-events';
export { ProxyError } from './errors';
export type { ProxyErrorCode } from './errors';
export type {
  PrereadOutcome,
  PrereadPipelineFactory,
  PrereadRejection,
  PrereadSession,
  PrereadStep,
} from './preread';
export type { UpstreamConnector } from './upstream-connector';
export { formatHostPort, listenerId } from './addresses';
