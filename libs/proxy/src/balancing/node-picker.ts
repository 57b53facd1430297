import type { UpstreamSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import type { BalancedNode } from './balanced-node';

/** Clock and randomness, injectable so that tests need neither sleeps nor luck. */
export interface BalancerEnvironment {
  /** Monotonic milliseconds. */
  now(): number;
  /** Uniform in [0, 1). */
  random(): number;
}

/** What a picker may know about the connection it picks for. */
export interface PickRequest {
  readonly context: ConnectionContext;
  /** Not tried yet by this connection, and healthy unless the health filter is suspended. */
  isEligible(node: BalancedNode): boolean;
  /**
   * Picker-private position kept across retries within one priority group (the chash ring index);
   * -1 before the group's first pick.
   */
  cursor: number;
}

/** Chooses among the nodes of one priority group; undefined when no eligible node is left. */
export interface NodePicker {
  pick(request: PickRequest): BalancedNode | undefined;
}

export type PickerFactory = (
  nodes: readonly BalancedNode[],
  upstream: UpstreamSpec,
  environment: BalancerEnvironment,
) => NodePicker;
