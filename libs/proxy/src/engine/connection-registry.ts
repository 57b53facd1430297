import type { LiveConnection } from './connection-events';

/** What the registry needs from a TCP connection or a UDP session. */
export interface TrackedConnection {
  readonly id: number;
  /** `host:port` of the node once one was chosen. */
  readonly nodeLabel: string | undefined;
  describe(now: number): LiveConnection;
  /** Tear the connection down now (FIN, not RST); the session reports itself closed later. */
  abort(): void;
}

/**
 * How connection ids are handed out: `first`, `first + stride`, `first + 2 * stride`, ... Several
 * engines (one per data-plane worker process) keep their ids apart with the same stride and a
 * different first id, so an id names one connection across all of them. Default: 1, 2, 3, ...
 */
export interface ConnectionIdSequence {
  /** The first id handed out; a positive integer. */
  first: number;
  /** The step between ids; a positive integer. */
  stride: number;
}

/**
 * The live connection table: listing, closing by id or by node, and waiting for it to empty when
 * the engine drains. Insertion-ordered, so listings come out oldest first.
 */
export class ConnectionRegistry {
  private readonly live = new Map<number, TrackedConnection>();
  private emptyWaiters: (() => void)[] = [];
  private readonly stride: number;
  private lastId: number;

  constructor(ids: ConnectionIdSequence = { first: 1, stride: 1 }) {
    if (!Number.isSafeInteger(ids.first) || ids.first < 1) {
      throw new RangeError(`connection ids: first must be a positive integer, got ${ids.first}`);
    }
    if (!Number.isSafeInteger(ids.stride) || ids.stride < 1) {
      throw new RangeError(`connection ids: stride must be a positive integer, got ${ids.stride}`);
    }
    this.stride = ids.stride;
    this.lastId = ids.first - ids.stride;
  }

  nextId(): number {
    this.lastId += this.stride;
    return this.lastId;
  }

  get size(): number {
    return this.live.size;
  }

  add(connection: TrackedConnection): void {
    this.live.set(connection.id, connection);
  }

  remove(id: number): void {
    if (!this.live.delete(id) || this.live.size > 0 || this.emptyWaiters.length === 0) return;
    const waiters = this.emptyWaiters;
    this.emptyWaiters = [];
    for (const resolve of waiters) resolve();
  }

  list(now = Date.now()): LiveConnection[] {
    const rows: LiveConnection[] = [];
    for (const connection of this.live.values()) rows.push(connection.describe(now));
    return rows;
  }

  abort(id: number): boolean {
    const connection = this.live.get(id);
    if (!connection) return false;
    connection.abort();
    return true;
  }

  /** Closes every connection currently relaying to `node` (`host:port`); returns how many. */
  abortByNode(node: string): number {
    let count = 0;
    for (const connection of [...this.live.values()]) {
      if (connection.nodeLabel === node) {
        connection.abort();
        count++;
      }
    }
    return count;
  }

  abortAll(): void {
    for (const connection of [...this.live.values()]) connection.abort();
  }

  whenEmpty(): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }
}
