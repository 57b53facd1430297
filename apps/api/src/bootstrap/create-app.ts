import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import { DataSource } from 'typeorm';
import { AppModule } from '../app.module';
import type { StraitConfig } from '../config/strait-config';
import { adminBodyMiddleware } from '../http/admin-body.middleware';
import { adminResponseFormat } from '../http/admin-response';
import { createAdminAccessMiddleware } from '../http/admin-access.middleware';
import { AdminExceptionFilter } from '../http/admin-exception.filter';
import { AddressAllowList } from '../http/address-allow-list';
import { JsonLogger } from '../logging/json-logger';
import { AdminKeyring } from '../settings/admin-keyring';
import { setUpSwagger } from './swagger';

/** Paths served by the admin listeners (and mirrored on the dashboard listener). */
export const ADMIN_PATH_PREFIXES = ['/apisix/admin', '/strait/v1'] as const;

/**
 * Builds the Nest application for a configuration without listening on anything: the database is
 * opened and migrated, the proxy engine started with its stream listeners, and the admin HTTP
 * pipeline assembled. main.ts, the integration tests and the OpenAPI script share it.
 */
export async function createApp(
  config: StraitConfig,
  options: { logger?: JsonLogger | false } = {},
): Promise<NestExpressApplication> {
  // APISIX resource names are case-sensitive (/apisix/admin/Upstreams is an unknown resource
  // type); Express reads this setting when it creates its router, so it is set before Nest starts.
  const server = express();
  server.set('case sensitive routing', true);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), new ExpressAdapter(server), {
    bodyParser: false,
    abortOnError: false,
    logger: options.logger ?? new JsonLogger(config.logLevel),
  });
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  app.set('etag', false);
  await tuneSqlite(app.get(DataSource));

  const access = createAdminAccessMiddleware({
    allowList: new AddressAllowList(config.admin.allow),
    keyring: app.get(AdminKeyring),
    cors: config.admin.cors,
    apiVersion: config.admin.apiVersion,
  });
  for (const prefix of ADMIN_PATH_PREFIXES) app.use(prefix, adminResponseFormat, access, adminBodyMiddleware);
  app.useGlobalFilters(new AdminExceptionFilter());
  // Strait's own request models (class-validator); APISIX bodies are typed `unknown` and pass through.
  app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
  setUpSwagger(app);
  await app.init();
  return app;
}

/**
 * synchronous=FULL makes each commit durable before it is acknowledged (WAL's default, NORMAL,
 * may lose the last transactions on power loss). SQLite only: other drivers have their own knobs.
 */
async function tuneSqlite(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type === 'sqlite') await dataSource.query('PRAGMA synchronous = FULL');
}
