import type { ConnectionSample, LiveConnection } from './connection-events';

/** What the registry needs from a TCP connection or a UDP session. */
export interface TrackedConnection {
  readonly id: number;
  /** `host:port` of the node once one was chosen. */
  readonly nodeLabel: string | undefined;
  describe(now: number): LiveConnection;
  /** Fills `into` with the id, route and byte counts as they are now. */
  readSample(into: ConnectionSample): void;
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

const NO_SLOT = -1;
const EMPTY_KEY = 0; // ids are positive integers

/**
 * The live connection table: listing, closing by id or by node, and waiting for it to empty when
 * the engine drains. Insertion-ordered, so listings come out oldest first.
 *
 * Built from arrays instead of a Map: every connection is added and removed once, and a V8 Map
 * with that churn keeps each backing table it outgrew linked to the next one; once one of them is
 * in the old generation, every connection that passed through the Map since is kept alive by that
 * chain until the next full GC (measured: half of the per-connection garbage was promoted, and
 * scavenges took ten times longer). Here a connection lives in a slot of `connections` (cleared
 * when it leaves, so nothing dead stays referenced), the insertion order is a doubly linked list
 * over slots, and ids find their slot through an open-addressing hash table of typed arrays.
 */
export class ConnectionRegistry {
  private connections: (TrackedConnection | undefined)[] = [];
  private slotIds = new Float64Array(16);
  private prevSlot = new Int32Array(16);
  private nextSlot = new Int32Array(16);
  private freeSlots = new Int32Array(16);
  private freeCount = 0;
  private slotCount = 0;
  private head = NO_SLOT;
  private tail = NO_SLOT;
  private count = 0;
  /** id → slot: linear probing with backward-shift deletion (no tombstones), load ≤ 1/2. */
  private keys = new Float64Array(32);
  private values = new Int32Array(32);
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
    return this.count;
  }

  /** Adds a connection; one already registered under that id is replaced in its place. */
  add(connection: TrackedConnection): void {
    const id = connection.id;
    const existing = this.find(id);
    if (existing !== NO_SLOT) {
      this.connections[existing] = connection;
      return;
    }
    const slot = this.takeSlot();
    this.connections[slot] = connection;
    this.slotIds[slot] = id;
    this.prevSlot[slot] = this.tail;
    this.nextSlot[slot] = NO_SLOT;
    if (this.tail === NO_SLOT) this.head = slot;
    else this.nextSlot[this.tail] = slot;
    this.tail = slot;
    this.count++;
    if (this.count * 2 > this.keys.length) this.growIndex();
    this.insertKey(id, slot);
  }

  remove(id: number): void {
    const slot = this.find(id);
    if (slot === NO_SLOT) return;
    this.deleteKey(id);
    const prev = this.prevSlot[slot];
    const next = this.nextSlot[slot];
    if (prev === NO_SLOT) this.head = next;
    else this.nextSlot[prev] = next;
    if (next === NO_SLOT) this.tail = prev;
    else this.prevSlot[next] = prev;
    this.connections[slot] = undefined;
    this.freeSlots[this.freeCount++] = slot;
    this.count--;
    if (this.count > 0 || this.emptyWaiters.length === 0) return;
    const waiters = this.emptyWaiters;
    this.emptyWaiters = [];
    for (const resolve of waiters) resolve();
  }

  list(now = Date.now()): LiveConnection[] {
    const rows: LiveConnection[] = [];
    for (let slot = this.head; slot !== NO_SLOT; slot = this.nextSlot[slot]) {
      rows.push(this.connections[slot]!.describe(now));
    }
    return rows;
  }

  /** Calls `visit` once per connection, oldest first; `visit` must not add or remove any. */
  forEach(visit: (connection: TrackedConnection) => void): void {
    for (let slot = this.head; slot !== NO_SLOT; slot = this.nextSlot[slot]) {
      visit(this.connections[slot]!);
    }
  }

  abort(id: number): boolean {
    const slot = this.find(id);
    if (slot === NO_SLOT) return false;
    this.connections[slot]!.abort();
    return true;
  }

  /** Closes every connection currently relaying to `node` (`host:port`); returns how many. */
  abortByNode(node: string): number {
    const matching = this.snapshot().filter((connection) => connection.nodeLabel === node);
    for (const connection of matching) connection.abort();
    return matching.length;
  }

  abortAll(): void {
    for (const connection of this.snapshot()) connection.abort();
  }

  whenEmpty(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  /** The connections in insertion order, copied: aborting may remove them from the table. */
  private snapshot(): TrackedConnection[] {
    const all: TrackedConnection[] = [];
    for (let slot = this.head; slot !== NO_SLOT; slot = this.nextSlot[slot]) {
      all.push(this.connections[slot]!);
    }
    return all;
  }

  private takeSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount];
    const slot = this.slotCount++;
    if (slot === this.slotIds.length) {
      const capacity = slot * 2;
      this.slotIds = grown(this.slotIds, new Float64Array(capacity));
      this.prevSlot = grown(this.prevSlot, new Int32Array(capacity));
      this.nextSlot = grown(this.nextSlot, new Int32Array(capacity));
      this.freeSlots = new Int32Array(capacity); // empty whenever a new slot is needed
    }
    this.connections.push(undefined);
    return slot;
  }

  private home(id: number, mask: number): number {
    // Ids are sequential (with a stride): a multiplicative hash spreads them over the table.
    return (Math.imul((id | 0) ^ ((id / 4294967296) | 0), 0x9e3779b1) >>> 0) & mask;
  }

  private find(id: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    for (let index = this.home(id, mask); ; index = (index + 1) & mask) {
      const key = keys[index];
      if (key === id) return this.values[index];
      if (key === EMPTY_KEY) return NO_SLOT;
    }
  }

  private insertKey(id: number, slot: number): void {
    const keys = this.keys;
    const mask = keys.length - 1;
    let index = this.home(id, mask);
    while (keys[index] !== EMPTY_KEY) index = (index + 1) & mask;
    keys[index] = id;
    this.values[index] = slot;
  }

  private deleteKey(id: number): void {
    const keys = this.keys;
    const values = this.values;
    const mask = keys.length - 1;
    let hole = this.home(id, mask);
    while (keys[hole] !== id) hole = (hole + 1) & mask;
    // Backward-shift: move later entries of the probe run into the hole when their home allows.
    for (let index = (hole + 1) & mask; keys[index] !== EMPTY_KEY; index = (index + 1) & mask) {
      const home = this.home(keys[index], mask);
      const stays = hole <= index ? hole < home && home <= index : hole < home || home <= index;
      if (stays) continue;
      keys[hole] = keys[index];
      values[hole] = values[index];
      hole = index;
    }
    keys[hole] = EMPTY_KEY;
  }

  private growIndex(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Float64Array(oldKeys.length * 2);
    this.values = new Int32Array(oldKeys.length * 2);
    for (let index = 0; index < oldKeys.length; index++) {
      if (oldKeys[index] !== EMPTY_KEY) this.insertKey(oldKeys[index], oldValues[index]);
    }
  }
}

function grown<T extends Float64Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
