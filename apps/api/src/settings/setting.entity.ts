import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Values the service generates once and must keep across restarts (admin key, keyring). */
@Entity('settings')
export class SettingEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'text' })
  value!: string;
}
