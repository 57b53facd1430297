import type { BalancerRegistry } from '../balancing/types';
import type { ConnectionInfo, ConnectionSummary, ConnectionTally } from './connection-events';
import type { ConnectionRegistry } from './connection-registry';
import type { RuntimeState } from './route-plans';
import type { UpstreamConnector } from './upstream-connector';

/** Something the observers can count and that can describe itself for the opened/closed events. */
export interface ReportableConnection extends ConnectionTally {
  info(): ConnectionInfo;
  summary(): ConnectionSummary;
}

/**
 * What connection handlers share with the engine. `state` is read once per new connection and
 * replaced wholesale by apply(), which is how open connections keep their route and upstream.
 */
export interface EngineRuntime {
  state: RuntimeState;
  readonly balancers: BalancerRegistry;
  readonly registry: ConnectionRegistry;
  readonly connectUpstream: UpstreamConnector;
  connectionOpened(connection: ReportableConnection): void;
  connectionClosed(connection: ReportableConnection): void;
}
