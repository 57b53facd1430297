import { Column, PrimaryColumn } from 'typeorm';

/**
 * Columns every stored admin object has. The APISIX value is kept whole as JSON text so the
 * admin API can return exactly what was written (APISIX does not write schema defaults back), and
 * the revision columns give etcd's createdIndex/modifiedIndex semantics.
 * Plain column types only, so the same entities run on PostgreSQL later.
 */
export abstract class StoredObjectColumns {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'text' })
  value!: string;

  @Column({ type: 'integer', name: 'created_index' })
  createdIndex!: number;

  @Column({ type: 'integer', name: 'modified_index' })
  modifiedIndex!: number;

  /** Epoch milliseconds after which the object no longer exists (`?ttl=`); null = forever. */
  @Column({ type: 'bigint', name: 'expires_at', nullable: true })
  expiresAt!: string | null;
}
