import type { BalancedNode } from './balanced-node';
import { decayedEwma } from './ewma-score';
import type { BalancerEnvironment, NodePicker, PickerFactory, PickRequest } from './node-picker';

/**
 * Power of two choices on the decayed connect-time average, divided by weight (spec 3.10 ewma;
 * APISIX cannot run it in stream, Strait can). When a sampled node is not eligible (tried or
 * unhealthy) the best eligible node of the group is taken instead, so retries stay deterministic.
 */
class EwmaPicker implements NodePicker {
  constructor(
    private readonly nodes: readonly BalancedNode[],
    private readonly environment: BalancerEnvironment,
  ) {}

  pick(request: PickRequest): BalancedNode | undefined {
    const count = this.nodes.length;
    if (count >= 2) {
      const firstIndex = Math.floor(this.environment.random() * count);
      let secondIndex = Math.floor(this.environment.random() * (count - 1));
      if (secondIndex >= firstIndex) secondIndex++;
      const first = this.nodes[firstIndex];
      const second = this.nodes[secondIndex];
      if (request.isEligible(first) && request.isEligible(second)) {
        const now = this.environment.now();
        return this.isBetter(second, first, now) ? second : first;
      }
    }
    return this.bestEligible(request);
  }

  private bestEligible(request: PickRequest): BalancedNode | undefined {
    const now = this.environment.now();
    let best: BalancedNode | undefined;
    for (const node of this.nodes) {
      if (!request.isEligible(node)) continue;
      if (best === undefined || this.isBetter(node, best, now)) best = node;
    }
    return best;
  }

  private isBetter(candidate: BalancedNode, incumbent: BalancedNode, now: number): boolean {
    const candidateScore = decayedEwma(candidate.runtime, now) / candidate.weight;
    const incumbentScore = decayedEwma(incumbent.runtime, now) / incumbent.weight;
    if (candidateScore !== incumbentScore) return candidateScore < incumbentScore;
    return candidate.runtime.inFlight < incumbent.runtime.inFlight;
  }
}

export const createEwmaPicker: PickerFactory = (nodes, _upstream, environment) =>
  new EwmaPicker(nodes, environment);
