import type { UpstreamNodeSpec, UpstreamSpec } from '../config';
import { BalancedNode, NodeRuntime } from './balanced-node';
import type { BalancerEnvironment, NodePicker, PickerFactory } from './node-picker';

/** Nodes of one priority, with the picker that chooses among them. */
export interface PriorityGroup {
  readonly priority: number;
  readonly nodes: readonly BalancedNode[];
  readonly picker: NodePicker;
}

export type HealthFilter = (upstreamKey: string, node: UpstreamNodeSpec) => boolean;

/** Everything a connection needs to walk one upstream version's nodes. */
export class UpstreamBalancer {
  constructor(
    readonly key: string,
    readonly version: string,
    /** Retries after the first attempt (spec 3.9: unset or < 0 means nodes - 1). */
    readonly retries: number,
    /** 0 when there is no retry deadline. */
    readonly retryTimeoutMilliseconds: number,
    /** Highest priority first. */
    readonly groups: readonly PriorityGroup[],
    /**
     * Set when the upstream has exactly one node and is not least_conn: APISIX returns it without a
     * picker, so a retry connects to the same node again (spec 3.9).
     */
    readonly singleNode: BalancedNode | undefined,
    readonly nodeCount: number,
    /** NodeRuntime by node id, handed on to the next version (least_conn counts, ewma, rr position). */
    readonly runtimes: ReadonlyMap<string, NodeRuntime>,
  ) {}

  /** Whether some node a picker could return is healthy; scanned only when the groups are exhausted. */
  hasHealthyNode(isHealthy: HealthFilter): boolean {
    for (const group of this.groups) {
      for (const node of group.nodes) {
        if (isHealthy(this.key, node.spec)) return true;
      }
    }
    return false;
  }
}

/** Integer weights >= 0, as the admin schema guarantees; anything else counts as 0. */
function configuredWeight(node: UpstreamNodeSpec): number {
  return Number.isFinite(node.weight) && node.weight > 0 ? Math.floor(node.weight) : 0;
}

function nodeIds(nodes: readonly UpstreamNodeSpec[]): string[] {
  const seen = new Map<string, number>();
  return nodes.map((node) => {
    const address = `${node.host}:${node.port}`;
    const occurrences = seen.get(address) ?? 0;
    seen.set(address, occurrences + 1);
    return occurrences === 0 ? address : `${address}#${occurrences}`;
  });
}

/**
 * Builds the balancer for one upstream version, reusing `previous`'s NodeRuntime objects for nodes
 * that are still there.
 */
export function buildUpstreamBalancer(
  upstream: UpstreamSpec,
  createPicker: PickerFactory,
  previous: UpstreamBalancer | undefined,
  environment: BalancerEnvironment,
): UpstreamBalancer {
  const ids = nodeIds(upstream.nodes);
  const runtimes = new Map<string, NodeRuntime>();
  for (const id of ids) runtimes.set(id, previous?.runtimes.get(id) ?? new NodeRuntime());

  const specsByPriority = new Map<number, { spec: UpstreamNodeSpec; id: string }[]>();
  upstream.nodes.forEach((spec, index) => {
    const priority = Number.isFinite(spec.priority) ? spec.priority : 0;
    const members = specsByPriority.get(priority) ?? [];
    members.push({ spec, id: ids[index] });
    specsByPriority.set(priority, members);
  });

  const groups: PriorityGroup[] = [...specsByPriority.entries()]
    .sort(([left], [right]) => right - left)
    .map(([priority, members]) => {
      // Weight 0 is never picked unless every node of the group has weight 0 (spec 3.10).
      const allZero = members.every((member) => configuredWeight(member.spec) === 0);
      const nodes = members
        .filter((member) => allZero || configuredWeight(member.spec) > 0)
        .map(
          (member) =>
            new BalancedNode(
              member.spec,
              member.id,
              allZero ? 1 : configuredWeight(member.spec),
              runtimes.get(member.id) ?? new NodeRuntime(),
            ),
        );
      return { priority, nodes, picker: createPicker(nodes, upstream, environment) };
    });

  const nodeCount = upstream.nodes.length;
  const singleNode =
    nodeCount === 1 && upstream.type !== 'least_conn'
      ? new BalancedNode(upstream.nodes[0], ids[0], 1, runtimes.get(ids[0]) ?? new NodeRuntime())
      : undefined;
  const retries =
    upstream.retries === undefined || upstream.retries < 0
      ? Math.max(0, nodeCount - 1)
      : upstream.retries;
  const retryTimeout = upstream.retryTimeout ?? 0;

  return new UpstreamBalancer(
    upstream.key,
    upstream.version,
    retries,
    retryTimeout > 0 ? retryTimeout * 1000 : 0,
    groups,
    singleNode,
    nodeCount,
    runtimes,
  );
}
