import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SerialQueue } from '../store/serial-queue';
import { SettingEntity } from './setting.entity';

/** Values generated once and kept in the store: they must survive restarts and be shared by nodes. */
@Injectable()
export class SettingsService {
  /**
   * The admin key and the keyring providers ask at the same time on start; SQLite's single
   * connection cannot nest their transactions ("cannot start a transaction within a transaction").
   */
  private readonly queue = new SerialQueue();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Returns the stored value, or generates, stores and returns it (`created` tells which). */
  async getOrCreate(
    name: string,
    generate: () => string,
  ): Promise<{ value: string; created: boolean }> {
    return this.queue.run(() =>
      this.dataSource.transaction(async (manager) => {
        const existing = await manager.findOne(SettingEntity, { where: { name } });
        if (existing) return { value: existing.value, created: false };
        const value = generate();
        await manager.insert(SettingEntity, { name, value });
        return { value, created: true };
      }),
    );
  }
}
