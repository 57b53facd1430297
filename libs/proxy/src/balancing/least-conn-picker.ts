import type { BalancedNode } from './balanced-node';
import type { NodePicker, PickerFactory, PickRequest } from './node-picker';

/**
 * APISIX least_conn (spec 3.10): score = (1 + in_flight) / weight, lowest wins; ties go to the
 * earlier node. The counts are kept by the connection attempts (up on pick, down on release) in
 * NodeRuntime, which survives picker rebuilds. A linear scan replaces APISIX's binary heap: it
 * is cheaper for the group sizes seen in practice and needs no heap repair on release.
 */
class LeastConnectionsPicker implements NodePicker {
  constructor(private readonly nodes: readonly BalancedNode[]) {}

  pick(request: PickRequest): BalancedNode | undefined {
    let best: BalancedNode | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const node of this.nodes) {
      if (!request.isEligible(node)) continue;
      const score = (1 + node.runtime.inFlight) / node.weight;
      if (best === undefined || score < bestScore) {
        best = node;
        bestScore = score;
      }
    }
    return best;
  }
}

export const createLeastConnectionsPicker: PickerFactory = (nodes) =>
  new LeastConnectionsPicker(nodes);
