import type { BalancedNode } from './balanced-node';
import type { NodePicker, PickerFactory, PickRequest } from './node-picker';

/**
 * Smooth weighted round robin (nginx's ngx_http_upstream_get_peer). Spec 3.10 allows it in place
 * of APISIX's interleaved WRR: each cycle of sum(weights) picks still gives every node exactly its
 * weight, the sequence interleaves better, and a pick costs one pass over the group even when
 * heavy nodes are tried or unhealthy (interleaved WRR can loop max_weight / gcd times then).
 *
 * Ineligible nodes neither gain nor lose current weight, like nginx's tried and down peers.
 * The current weights live in NodeRuntime, so a config change does not restart the sequence.
 */
class SmoothWeightedRoundRobinPicker implements NodePicker {
  constructor(private readonly nodes: readonly BalancedNode[]) {}

  pick(request: PickRequest): BalancedNode | undefined {
    let best: BalancedNode | undefined;
    let totalWeight = 0;
    for (const node of this.nodes) {
      if (!request.isEligible(node)) continue;
      const runtime = node.runtime;
      runtime.smoothCurrentWeight += node.weight;
      totalWeight += node.weight;
      if (best === undefined || runtime.smoothCurrentWeight > best.runtime.smoothCurrentWeight) {
        best = node;
      }
    }
    if (best !== undefined) best.runtime.smoothCurrentWeight -= totalWeight;
    return best;
  }
}

export const createRoundRobinPicker: PickerFactory = (nodes) =>
  new SmoothWeightedRoundRobinPicker(nodes);
