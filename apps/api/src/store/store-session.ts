import { IsNull, LessThanOrEqual, Like, Not, type EntityManager } from 'typeorm';
import { storeEventName, type StoreChangeEvent } from '../events/strait-events';
import {
  RESOURCE_ENTITIES,
  type JsonObject,
  type ResourceKind,
  type StoredObject,
} from './resource-kind';
import { StoreRevisionEntity } from './store-revision.entity';
import type { StoredObjectColumns } from './stored-object-columns';

const GLOBAL_REVISION = 'global';

export interface SaveOptions {
  /** Seconds until the object expires (`?ttl=`). */
  ttlSeconds?: number;
}

/**
 * Store operations bound to one unit of work (a transaction for writes). Every write takes the next
 * store-wide revision, like etcd, which gives createdIndex/modifiedIndex and 20-digit POST ids.
 * Changes are collected and published by ResourceStore only after the transaction commits.
 */
export class StoreSession {
  readonly changes: { name: ReturnType<typeof storeEventName>; event: StoreChangeEvent }[] = [];
  /** The earliest expiry (epoch ms) this session wrote, for the store's expiry timer. */
  earliestExpiryWritten: number | undefined;

  constructor(
    private readonly manager: EntityManager,
    private readonly now: () => number,
  ) {}

  async get(kind: ResourceKind, id: string): Promise<StoredObject | undefined> {
    const row = await this.manager.findOne(RESOURCE_ENTITIES[kind], { where: { id } });
    return row && !this.isExpired(row) ? toStoredObject(kind, row) : undefined;
  }

  async list(kind: ResourceKind): Promise<StoredObject[]> {
    const rows = await this.manager.find(RESOURCE_ENTITIES[kind]);
    return rows.filter((row) => !this.isExpired(row)).map((row) => toStoredObject(kind, row));
  }

  /**
   * The objects of `kind` whose stored JSON text contains `text` (a superset filter done by the
   * database, so reference checks do not parse every object of a table). `%` and `_` in `text`
   * act as LIKE wildcards, which only widens the result; SQLite's LIKE also ignores ASCII case.
   */
  async listContaining(kind: ResourceKind, text: string): Promise<StoredObject[]> {
    const rows = await this.manager.find(RESOURCE_ENTITIES[kind], {
      where: { value: Like(`%${text}%`) },
    });
    return rows.filter((row) => !this.isExpired(row)).map((row) => toStoredObject(kind, row));
  }

  async nextRevision(): Promise<number> {
    await this.manager
      .createQueryBuilder()
      .update(StoreRevisionEntity)
      .set({ value: () => 'value + 1' })
      .where('name = :name', { name: GLOBAL_REVISION })
      .execute();
    const row = await this.manager.findOneOrFail(StoreRevisionEntity, {
      where: { name: GLOBAL_REVISION },
    });
    return row.value;
  }

  async save(
    kind: ResourceKind,
    id: string,
    value: JsonObject,
    options: SaveOptions = {},
  ): Promise<{ object: StoredObject; created: boolean }> {
    // Only the revision columns of the current row are needed (not its value); an expired row
    // that the sweep has not removed yet is replaced as if it were absent.
    const current = await this.manager.findOne(RESOURCE_ENTITIES[kind], {
      select: { id: true, createdIndex: true, expiresAt: true },
      where: { id },
    });
    const existing = current && !this.isExpired(current) ? current : undefined;
    const revision = await this.nextRevision();
    const expiresAt =
      options.ttlSeconds === undefined
        ? undefined
        : this.now() + Math.round(options.ttlSeconds * 1000);
    if (expiresAt !== undefined && expiresAt < (this.earliestExpiryWritten ?? Infinity)) {
      this.earliestExpiryWritten = expiresAt;
    }
    const row: StoredObjectColumns = {
      id,
      value: JSON.stringify(value),
      createdIndex: existing?.createdIndex ?? revision,
      modifiedIndex: revision,
      expiresAt: expiresAt === undefined ? null : String(expiresAt),
    };
    // insert/update directly: save() would select the row once more to choose between them.
    if (current) {
      await this.manager.update(
        RESOURCE_ENTITIES[kind],
        { id },
        {
          value: row.value,
          createdIndex: row.createdIndex,
          modifiedIndex: row.modifiedIndex,
          expiresAt: row.expiresAt,
        },
      );
    } else {
      await this.manager.insert(RESOURCE_ENTITIES[kind], row);
    }
    const object = toStoredObject(kind, row);
    this.record(existing ? 'updated' : 'created', kind, id, revision, object);
    return { object, created: !existing };
  }

  async remove(kind: ResourceKind, id: string): Promise<boolean> {
    const existing = await this.get(kind, id);
    if (!existing) return false;
    const revision = await this.nextRevision();
    await this.manager.delete(RESOURCE_ENTITIES[kind], { id });
    this.record('deleted', kind, id, revision);
    return true;
  }

  /** Deletes objects whose ttl has passed, publishing them as deletions. */
  async removeExpired(kind: ResourceKind): Promise<void> {
    const expired = await this.manager.find(RESOURCE_ENTITIES[kind], {
      where: { expiresAt: LessThanOrEqual(String(this.now())) },
    });
    for (const row of expired) {
      const revision = await this.nextRevision();
      await this.manager.delete(RESOURCE_ENTITIES[kind], { id: row.id });
      this.record('deleted', kind, row.id, revision);
    }
  }

  /** When the next object of `kind` expires (epoch ms), if any has a ttl. */
  async nextExpiry(kind: ResourceKind): Promise<number | undefined> {
    const row = await this.manager.findOne(RESOURCE_ENTITIES[kind], {
      select: { id: true, expiresAt: true },
      where: { expiresAt: Not(IsNull()) },
      order: { expiresAt: 'ASC' },
    });
    return row?.expiresAt ? Number(row.expiresAt) : undefined;
  }

  private record(
    action: StoreChangeEvent['action'],
    kind: ResourceKind,
    id: string,
    revision: number,
    object?: StoredObject,
  ): void {
    this.changes.push({
      name: storeEventName(kind, action),
      event: { kind, id, action, revision, object },
    });
  }

  private isExpired(row: StoredObjectColumns): boolean {
    return row.expiresAt !== null && Number(row.expiresAt) <= this.now();
  }
}

function toStoredObject(kind: ResourceKind, row: StoredObjectColumns): StoredObject {
  return {
    kind,
    id: row.id,
    value: JSON.parse(row.value) as JsonObject,
    createdIndex: row.createdIndex,
    modifiedIndex: row.modifiedIndex,
  };
}
