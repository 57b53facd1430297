import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

const OBJECT_TABLES = ['stream_routes', 'upstreams', 'ssls', 'services', 'plugin_metadata'];

/**
 * The first schema: one table per admin resource (same columns as StoredObjectColumns), the
 * store-wide revision counter and generated settings. Written with TypeORM's portable Table API so
 * it runs unchanged on PostgreSQL.
 */
export class InitialSchema1764168000000 implements MigrationInterface {
  name = 'InitialSchema1764168000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const name of OBJECT_TABLES) {
      await queryRunner.createTable(
        new Table({
          name,
          columns: [
            { name: 'id', type: 'varchar', length: '64', isPrimary: true },
            { name: 'value', type: 'text' },
            { name: 'created_index', type: 'integer' },
            { name: 'modified_index', type: 'integer' },
            { name: 'expires_at', type: 'bigint', isNullable: true },
          ],
        }),
      );
    }
    await queryRunner.createTable(
      new Table({
        name: 'store_revision',
        columns: [
          { name: 'name', type: 'varchar', length: '32', isPrimary: true },
          { name: 'value', type: 'integer' },
        ],
      }),
    );
    await queryRunner.manager.insert('store_revision', { name: 'global', value: 0 });
    await queryRunner.createTable(
      new Table({
        name: 'settings',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'value', type: 'text' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of ['settings', 'store_revision', ...OBJECT_TABLES].reverse()) {
      await queryRunner.dropTable(name);
    }
  }
}
