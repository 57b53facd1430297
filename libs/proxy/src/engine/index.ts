export { createProxyEngine, ProxyEngine } from './proxy-engine';
export type { CloseOptions, CreateProxyEngineOptions } from './proxy-engine';
export type { ConnectionIdSequence } from './connection-registry';
export type {
  CertificateErrorEvent,
  ConnectionInfo,
  ConnectionObserver,
  ConnectionTally,
  ConnectionPhase,
  ConnectionStatus,
  ConnectionSummary,
  HandshakeErrorEvent,
  HandshakeStats,
  ListenerErrorEvent,
  LiveConnection,
  ConnectionSample,
  ProxyEngineEvents,
  ProxyProtocolInfo,
  TlsConnectionInfo,
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
export { openSharedListenSocket } from './shared-listen-socket';
export { scanProxyHeader, MAX_PROXY_V1_LENGTH, MAX_PROXY_V2_LENGTH } from './proxy-protocol';
export type { ProxiedAddresses, ProxyHeaderScan } from './proxy-protocol';
