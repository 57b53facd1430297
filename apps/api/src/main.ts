import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, resolve } from 'node:path';
import { createApp } from './bootstrap/create-app';
import { createDashboardServer } from './bootstrap/dashboard-server';
import { ConfigError, loadConfig } from './config';
import { JsonLogger } from './logging/json-logger';
import { DataPlane } from './data-plane/data-plane';

const DASHBOARD_BUILD = resolve(__dirname, '../../dashboard/out');

/**
 * Starts the whole service: config, database, proxy engine with its listeners, admin API on
 * :9180 and the dashboard on :9000. A config or bind error exits non-zero before anything serves.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`strait: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = new JsonLogger(config.logLevel);
  logger.log({ msg: 'configuration loaded', file: config.file, origin: config.origin }, 'Main');
  if (config.ignoredKeys.length > 0) {
    logger.log({ msg: 'config keys not used by Strait were ignored', keys: config.ignoredKeys }, 'Main');
  }
  if (config.database.path !== ':memory:') mkdirSync(dirname(config.database.path), { recursive: true });

  const app = await createApp(config, { logger });
  const servers: Server[] = [];
  if (config.adminEnabled) {
    const { host, port } = config.admin.listen;
    await app.listen(port, host);
    servers.push(app.getHttpServer() as Server);
    logger.log({ msg: 'admin API listening', url: `http://${formatHost(host)}:${port}/apisix/admin`, docs: `http://${formatHost(host)}:${port}/docs` }, 'Main');
    if (config.dashboard.enabled) {
      const dashboard = createDashboardServer(app.getHttpAdapter().getInstance(), DASHBOARD_BUILD);
      await listen(dashboard, config.dashboard.listen.port, config.dashboard.listen.host);
      servers.push(dashboard);
      logger.log({ msg: 'dashboard listening', url: `http://${formatHost(config.dashboard.listen.host)}:${config.dashboard.listen.port}/` }, 'Main');
    }
  } else {
    logger.log({ msg: 'admin API and dashboard are off (apisix.enable_admin: false)' }, 'Main');
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log({ msg: 'stopping: no new connections, draining open ones', signal }, 'Main');
    void (async () => {
      for (const server of servers) server.close();
      await app.get(DataPlane).drain();
      await app.close();
      logger.log({ msg: 'stopped' }, 'Main');
      process.exit(0);
    })().catch((error: unknown) => {
      logger.error({ msg: 'shutdown failed', error: String(error) }, 'Main');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

main().catch((error: unknown) => {
  const code = (error as { code?: string }).code;
  process.stderr.write(`strait: failed to start${code ? ` (${code})` : ''}: ${(error as Error).message ?? String(error)}\n`);
  process.exit(1);
});
