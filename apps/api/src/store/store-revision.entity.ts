import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The store-wide revision counter (etcd's revision): every write takes the next number. */
@Entity('store_revision')
export class StoreRevisionEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  name!: string;

  @Column({ type: 'integer' })
  value!: number;
}
