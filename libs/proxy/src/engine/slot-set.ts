/** An object a SlotSet can hold: the set keeps its place in `slot` (-1 while outside any set). */
export interface Slotted {
  slot: number;
}

/**
 * A set of objects that come and go at connection rate, without a V8 Set: a Set that every
 * connection passes through keeps the members it held alive through its outgrown tables until
 * the next full GC (see connection-registry.ts). Members are kept in an array at the index they
 * carry; a member that leaves is cleared from it, so nothing dead stays referenced. Iteration
 * order is not insertion order.
 */
export class SlotSet<T extends Slotted> {
  private readonly members: (T | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(member: T): void {
    if (member.slot >= 0 && this.members[member.slot] === member) return;
    const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.members.length;
    if (slot === this.members.length) this.members.push(member);
    else this.members[slot] = member;
    member.slot = slot;
    this.count++;
  }

  delete(member: T): boolean {
    const slot = member.slot;
    if (slot < 0 || this.members[slot] !== member) return false;
    this.members[slot] = undefined;
    this.freeSlots.push(slot);
    member.slot = -1;
    this.count--;
    return true;
  }

  /** The members now, copied (deleting while iterating the copy is safe). */
  values(): T[] {
    const all: T[] = [];
    for (const member of this.members) if (member !== undefined) all.push(member);
    return all;
  }
}
