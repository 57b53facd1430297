import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../bootstrap/create-app';
import { parseConfigText } from '../config';
import type { StraitConfig } from '../config/strait-config';

export const TEST_ADMIN_KEY = 'edd1c9f034335f136f87ad84b625c8f1';
export const TEST_VIEWER_KEY = '4054f7cf07e344346cd3f287985e76a2';

export interface TestApp {
  app: NestExpressApplication;
  config: StraitConfig;
  baseUrl: string;
  databasePath: string;
  /** curl-like call; `key: null` sends no key. Body strings are sent verbatim. */
  request(
    method: string,
    path: string,
    body?: unknown,
    options?: { key?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; text: string; json: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

/**
 * The real AppModule on a temporary SQLite file, listening on an ephemeral loopback port: the
 * integration tier. `yaml` is placed under the top level of config.yaml, after a default
 * `deployment.admin` with an admin and a viewer key (pass `replaceDeployment` to write your own).
 */
export async function startTestApp(
  options: { apisixYaml?: string; extraYaml?: string; replaceDeployment?: string; databasePath?: string } = {},
): Promise<TestApp> {
  const directory = mkdtempSync(join(tmpdir(), 'strait-it-'));
  const databasePath = options.databasePath ?? join(directory, 'strait.db');
  const text = [
    'apisix:',
    ...(options.apisixYaml ?? '').split('\n').map((line) => (line ? `  ${line}` : line)),
    options.replaceDeployment ??
      [
        'deployment:',
        '  admin:',
        '    admin_key:',
        `      - { name: admin, key: ${TEST_ADMIN_KEY}, role: admin }`,
        `      - { name: viewer, key: ${TEST_VIEWER_KEY}, role: viewer }`,
      ].join('\n'),
    'strait:',
    `  database: { type: sqlite, path: ${databasePath} }`,
    '  log: { level: error }',
    options.extraYaml ?? '',
  ].join('\n');
  const config = parseConfigText(text, { homeDir: directory });
  const app = await createApp(config, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    app,
    config,
    baseUrl,
    databasePath,
    async request(method, path, body, requestOptions = {}) {
      const headers: Record<string, string> = { ...requestOptions.headers };
      const key = requestOptions.key === undefined ? TEST_ADMIN_KEY : requestOptions.key;
      if (key !== null) headers['X-API-KEY'] = key;
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const responseText = await response.text();
      let json: unknown;
      try {
        json = responseText === '' ? undefined : JSON.parse(responseText);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text: responseText, json };
    },
    close: () => app.close(),
  };
}
