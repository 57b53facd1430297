import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const OBJECT_TABLES = ['stream_routes', 'upstreams', 'ssls', 'services', 'plugin_metadata'];

/**
 * An index on `expires_at` of every object table: the ttl sweep runs inside a write transaction
 * (every admin write queues behind it) and asks each table for rows with `expires_at <= now` and
 * for the next expiry, which without an index reads the whole table. Portable Table API.
 */
export class ExpiryIndexes1764180000000 implements MigrationInterface {
  name = 'ExpiryIndexes1764180000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of OBJECT_TABLES) {
      await queryRunner.createIndex(
        table,
        new TableIndex({ name: `IDX_${table}_expires_at`, columnNames: ['expires_at'] }),
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of OBJECT_TABLES) {
      await queryRunner.dropIndex(table, `IDX_${table}_expires_at`);
    }
  }
}
