import type { UpstreamNodeSpec } from '../config';

/**
 * Per-node state that outlives a config version: it is keyed by the upstream key and the node's
 * address, so a rebuilt picker continues with the same counts (APISIX #12217 for least_conn).
 */
export class NodeRuntime {
  /** Connections picked for this node and not yet released (least_conn, spec 3.10). */
  inFlight = 0;
  /** Smooth weighted round robin's current weight. */
  smoothCurrentWeight = 0;
  /** Decayed moving average of connect time in milliseconds (ewma). */
  ewmaMilliseconds = 0;
  ewmaUpdatedAt = 0;
  hasEwmaSample = false;
}

/** One node of one config version, as the pickers see it. */
export class BalancedNode {
  constructor(
    readonly spec: UpstreamNodeSpec,
    /** `host:port`, suffixed with `#n` when the same address is listed more than once. */
    readonly id: string,
    /** The weight pickers use: the configured weight, or 1 when every node of its group has weight 0. */
    readonly weight: number,
    readonly runtime: NodeRuntime,
  ) {}
}
