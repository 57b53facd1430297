import sqlite3 from 'sqlite3';
import type { DataSourceOptions } from 'typeorm';
import { ExpiryIndexes1764180000000 } from '../migrations/1764180000000-expiry-indexes';
import { InitialSchema1764168000000 } from '../migrations/1764168000000-initial-schema';
import { PluginMetadataEntity } from '../plugin-metadata/plugin-metadata.entity';
import { ServiceEntity } from '../services/service.entity';
import { SettingEntity } from '../settings/setting.entity';
import { SslEntity } from '../ssls/ssl.entity';
import { StreamRouteEntity } from '../stream-routes/stream-route.entity';
import { UpstreamEntity } from '../upstreams/upstream.entity';
import { StoreRevisionEntity } from './store-revision.entity';

export const ENTITIES = [
  StreamRouteEntity,
  UpstreamEntity,
  SslEntity,
  ServiceEntity,
  PluginMetadataEntity,
  StoreRevisionEntity,
  SettingEntity,
];

export const MIGRATIONS = [InitialSchema1764168000000, ExpiryIndexes1764180000000];

/**
 * TypeORM options for the embedded store. The schema is owned by checked-in migrations (never
 * `synchronize`), which run on start; WAL lets readers proceed during a write, and
 * synchronous=FULL (set after connecting) makes every commit durable before it is acknowledged.
 */
export function sqliteDataSourceOptions(databasePath: string): DataSourceOptions {
  return {
    type: 'sqlite',
    database: databasePath,
    // TypeORM calls driver.verbose(), which wraps every sqlite3 call to capture a stack trace
    // (5.6% of CPU under admin-write load in bench/); it gets the plain module instead.
    driver: { ...sqlite3, verbose: () => sqlite3 },
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    synchronize: false,
    enableWAL: true,
    busyErrorRetry: 100,
    logging: false,
  };
}
