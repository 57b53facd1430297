import type { StoreChangeEvent } from '../events/strait-events';
import { RESOURCE_KINDS, type ResourceKind, type StoredObject } from '../store/resource-kinds';

/**
 * The proxy adapter's in-memory copy of the store, kept in APISIX's array order (spec 3.2): a full
 * load is in key order, an update keeps its slot, a new key is appended. Route order decides which
 * of two equally specific routes wins, so it must be stable across updates.
 */
export class StoreView {
  private readonly objects = new Map<ResourceKind, Map<string, StoredObject>>(
    RESOURCE_KINDS.map((kind) => [kind, new Map()]),
  );

  load(kind: ResourceKind, objects: StoredObject[]): void {
    const sorted = [...objects].sort((a, b) =>
      Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)),
    );
    this.objects.set(kind, new Map(sorted.map((object) => [object.id, object])));
  }

  /**
   * Takes a table in the order given: another view's `list()`, so a data-plane worker started
   * later has the same route order as the view it copies (load() would sort it by key).
   */
  replace(kind: ResourceKind, objects: readonly StoredObject[]): void {
    this.objects.set(kind, new Map(objects.map((object) => [object.id, object])));
  }

  applyChange(change: StoreChangeEvent): void {
    const table = this.table(change.kind);
    if (change.action === 'deleted' || !change.object) table.delete(change.id);
    else table.set(change.id, change.object); // Map.set keeps the slot of an existing key.
  }

  list(kind: ResourceKind): StoredObject[] {
    return [...this.table(kind).values()];
  }

  get(kind: ResourceKind, id: unknown): StoredObject | undefined {
    return id === undefined ? undefined : this.table(kind).get(String(id));
  }

  private table(kind: ResourceKind): Map<string, StoredObject> {
    return this.objects.get(kind) as Map<string, StoredObject>;
  }
}
