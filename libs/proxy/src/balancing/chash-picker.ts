import type { UpstreamSpec } from '../config';
import type { BalancedNode } from './balanced-node';
import { crc32Final, crc32OfString, crc32UpdateWord } from './crc32';
import { compileHashKeyResolver } from './hash-key';
import type { HashKeyResolver } from './hash-key';
import type { NodePicker, PickerFactory, PickRequest } from './node-picker';
import { weightsDivisor } from './weights';

/** Points per unit of weight (resty.chash CONSISTENT_POINTS). */
export const POINTS_PER_WEIGHT = 160;

/**
 * Beyond APISIX: a ring never holds more points than this. resty.chash would allocate
 * sum(weight / gcd) * 160 points, which for weights like 1..1000 is tens of millions.
 */
export const MAXIMUM_RING_POINTS = 1 << 20;

/** Sort key packing: hash * 2^20 + node index stays exact in a double (2^52). */
const NODE_INDEX_LIMIT = 1 << 20;

/** The ring identity of a node: `host:port` with every ':' replaced by NUL (apisix/balancer/chash.lua). */
export function ringIdentity(host: string, port: number): string {
  return `${host}:${port}`.replaceAll(':', '\0');
}

/**
 * The point hashes of one node, chained as lua-resty-balancer's chash_point_init_crc does:
 * each point is crc32 continued from the node's crc32 over the previous point (4 bytes, little
 * endian), starting from 0.
 */
export function nodePointHashes(identity: string, count: number): Uint32Array {
  const baseHash = crc32OfString(identity);
  const hashes = new Uint32Array(count);
  let previous = 0;
  for (let index = 0; index < count; index++) {
    previous = crc32Final(crc32UpdateWord(baseHash, previous));
    hashes[index] = previous;
  }
  return hashes;
}

export interface Ring {
  /** Point hashes in ascending order. */
  readonly hashes: Uint32Array;
  /** The node index (into the picker's node list) owning each point. */
  readonly owners: Uint32Array;
}

/** Builds the ring: weights divided by their gcd, weight * 160 points per node (spec 3.10). */
export function buildRing(nodes: readonly { host: string; port: number; weight: number }[]): Ring {
  const divisor = weightsDivisor(nodes.map((node) => node.weight)) || 1;
  const reducedWeights = nodes.map((node) => node.weight / divisor);
  const totalPoints = reducedWeights.reduce((sum, weight) => sum + weight, 0) * POINTS_PER_WEIGHT;
  const scale = totalPoints > MAXIMUM_RING_POINTS ? MAXIMUM_RING_POINTS / totalPoints : 1;
  const pointCounts = reducedWeights.map((weight) =>
    weight === 0 ? 0 : Math.max(1, Math.floor(weight * POINTS_PER_WEIGHT * scale)),
  );
  const packed = new Float64Array(pointCounts.reduce((sum, count) => sum + count, 0));
  let position = 0;
  nodes.forEach((node, nodeIndex) => {
    for (const hash of nodePointHashes(
      ringIdentity(node.host, node.port),
      pointCounts[nodeIndex],
    )) {
      packed[position++] = hash * NODE_INDEX_LIMIT + nodeIndex;
    }
  });
  packed.sort();
  const hashes = new Uint32Array(packed.length);
  const owners = new Uint32Array(packed.length);
  for (let index = 0; index < packed.length; index++) {
    const owner = packed[index] % NODE_INDEX_LIMIT;
    owners[index] = owner;
    hashes[index] = (packed[index] - owner) / NODE_INDEX_LIMIT;
  }
  return { hashes, owners };
}

/** The largest point <= hash; below the first point it wraps to the first point (resty.chash _find_id). */
export function findRingPoint(hashes: Uint32Array, hash: number): number {
  let low = 0;
  let high = hashes.length - 1;
  let found = 0;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (hashes[middle] <= hash) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/**
 * Consistent hashing (spec 3.9 and 3.10): the first pick is the ring point for crc32(key); a retry,
 * or a pick that lands on an unhealthy or tried node, walks on to the next point whose node is
 * eligible.
 */
class ConsistentHashPicker implements NodePicker {
  private readonly ring: Ring;

  constructor(
    private readonly nodes: readonly BalancedNode[],
    private readonly resolveKey: HashKeyResolver,
  ) {
    if (nodes.length >= NODE_INDEX_LIMIT) throw new RangeError('too many nodes for one chash ring');
    this.ring = buildRing(
      nodes.map((node) => ({ host: node.spec.host, port: node.spec.port, weight: node.weight })),
    );
  }

  pick(request: PickRequest): BalancedNode | undefined {
    const { hashes, owners } = this.ring;
    const pointCount = hashes.length;
    if (pointCount === 0) return undefined;
    let point =
      request.cursor < 0
        ? findRingPoint(hashes, crc32OfString(this.resolveKey(request.context)))
        : (request.cursor + 1) % pointCount;
    for (let step = 0; step < pointCount; step++) {
      const node = this.nodes[owners[point]];
      if (request.isEligible(node)) {
        request.cursor = point;
        return node;
      }
      point = point + 1 === pointCount ? 0 : point + 1;
    }
    return undefined;
  }
}

export const createConsistentHashPicker: PickerFactory = (nodes, upstream: UpstreamSpec) =>
  new ConsistentHashPicker(nodes, compileHashKeyResolver(upstream));
