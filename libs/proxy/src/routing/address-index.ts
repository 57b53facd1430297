import type { CompiledRoute, ParsedConnection } from './compiled-route';
import type { IpAddress } from './ip-address';
import { leadingBitsMask } from './ip-matcher';
import type { IpNetwork } from './ip-matcher';

/** Anything that can name the earliest route (by array order) among its routes that match. */
export interface RouteCandidateSource {
  /** Order of the earliest route below this source; lets a lookup skip subtrees that cannot win. */
  readonly firstOrder: number;
  /** `best` if nothing below beats it, else the better route. */
  firstMatch(
    connection: ParsedConnection,
    best: CompiledRoute | undefined,
  ): CompiledRoute | undefined;
}

export type AddressDimension = 'server' | 'remote';

interface Ipv4Bucket<T> {
  readonly prefixLength: number;
  readonly mask: number;
  readonly entries: Map<number, T>;
}

interface Ipv6Bucket<T> {
  readonly prefixLength: number;
  readonly mask0: number;
  readonly mask1: number;
  readonly mask2: number;
  readonly mask3: number;
  readonly entries: Map<string, T>;
}

function ipv6Key(word0: number, word1: number, word2: number, word3: number): string {
  return `${word0}.${word1}.${word2}.${word3}`;
}

/**
 * Routes grouped by one address filter (server_addr or remote_addr). Every distinct prefix length
 * gets a hash map keyed by the masked network, so a lookup costs one map probe per prefix length
 * in use (at most 33 + 129), never one comparison per route. Routes without the filter sit in
 * `anyAddress`.
 */
export class AddressIndex<T extends RouteCandidateSource> implements RouteCandidateSource {
  private readonly ipv4Buckets: Ipv4Bucket<T>[] = [];
  private readonly ipv6Buckets: Ipv6Bucket<T>[] = [];
  private anyAddress: T | undefined;

  constructor(
    private readonly dimension: AddressDimension,
    /** Routes are added in array order, so the route that creates an index is its earliest. */
    readonly firstOrder: number,
  ) {}

  /** The child for `network` (undefined = the filter is not set), created on first use. */
  childFor(network: IpNetwork | undefined, create: () => T): T {
    if (network === undefined) {
      this.anyAddress ??= create();
      return this.anyAddress;
    }
    if (network.family === 4) {
      const bucket = this.ipv4BucketFor(network.prefixLength);
      let child = bucket.entries.get(network.word3);
      if (child === undefined) {
        child = create();
        bucket.entries.set(network.word3, child);
      }
      return child;
    }
    const bucket = this.ipv6BucketFor(network.prefixLength);
    const key = ipv6Key(network.word0, network.word1, network.word2, network.word3);
    let child = bucket.entries.get(key);
    if (child === undefined) {
      child = create();
      bucket.entries.set(key, child);
    }
    return child;
  }

  firstMatch(
    connection: ParsedConnection,
    best: CompiledRoute | undefined,
  ): CompiledRoute | undefined {
    if (best !== undefined && best.order <= this.firstOrder) return best;
    if (this.anyAddress !== undefined) best = this.anyAddress.firstMatch(connection, best);
    const address =
      this.dimension === 'remote' ? connection.remoteAddress : connection.serverAddress;
    if (address === undefined) return best;
    return address.family === 4
      ? this.firstMatchIpv4(address, connection, best)
      : this.firstMatchIpv6(address, connection, best);
  }

  private firstMatchIpv4(
    address: IpAddress,
    connection: ParsedConnection,
    best: CompiledRoute | undefined,
  ): CompiledRoute | undefined {
    for (const bucket of this.ipv4Buckets) {
      const child = bucket.entries.get((address.word3 & bucket.mask) >>> 0);
      if (child !== undefined) best = child.firstMatch(connection, best);
    }
    return best;
  }

  private firstMatchIpv6(
    address: IpAddress,
    connection: ParsedConnection,
    best: CompiledRoute | undefined,
  ): CompiledRoute | undefined {
    for (const bucket of this.ipv6Buckets) {
      const key = ipv6Key(
        (address.word0 & bucket.mask0) >>> 0,
        (address.word1 & bucket.mask1) >>> 0,
        (address.word2 & bucket.mask2) >>> 0,
        (address.word3 & bucket.mask3) >>> 0,
      );
      const child = bucket.entries.get(key);
      if (child !== undefined) best = child.firstMatch(connection, best);
    }
    return best;
  }

  private ipv4BucketFor(prefixLength: number): Ipv4Bucket<T> {
    let bucket = this.ipv4Buckets.find((candidate) => candidate.prefixLength === prefixLength);
    if (bucket === undefined) {
      bucket = { prefixLength, mask: leadingBitsMask(prefixLength), entries: new Map() };
      this.ipv4Buckets.push(bucket);
    }
    return bucket;
  }

  private ipv6BucketFor(prefixLength: number): Ipv6Bucket<T> {
    let bucket = this.ipv6Buckets.find((candidate) => candidate.prefixLength === prefixLength);
    if (bucket === undefined) {
      bucket = {
        prefixLength,
        mask0: leadingBitsMask(prefixLength),
        mask1: leadingBitsMask(prefixLength - 32),
        mask2: leadingBitsMask(prefixLength - 64),
        mask3: leadingBitsMask(prefixLength - 96),
        entries: new Map(),
      };
      this.ipv6Buckets.push(bucket);
    }
    return bucket;
  }
}
