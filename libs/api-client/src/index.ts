/**
 * @strait/api-client: the typed client of the Strait admin API. Everything under generated/ is
 * produced from openapi.yaml by @hey-api/openapi-ts (`npm run generate`) and never edited; this
 * file only adds a factory for a configured client.
 *
 * ```ts
 * const client = createStraitClient({ baseUrl: 'http://127.0.0.1:9180', apiKey });
 * const { data, error } = await listStreamRoutes({ client });
 * ```
 */
import {
  createClient,
  createConfig,
  mergeHeaders,
  type Client,
  type Config,
} from './generated/client';

export * from './generated';
export type { Client, Config } from './generated/client';

export interface StraitClientOptions extends Omit<Config, 'baseUrl'> {
  /** Origin of the admin API, e.g. `http://127.0.0.1:9180`; operation paths start with /apisix. */
  baseUrl: string;
  /** A key of `deployment.admin.admin_key` (admin or viewer role), sent as the X-API-KEY header. */
  apiKey?: string;
}

/**
 * A client instance for one admin API and key; pass it to the SDK functions as `{ client }`. Each
 * call creates a separate instance, so a server rendering for several users never shares a key.
 */
export function createStraitClient(options: StraitClientOptions): Client {
  const { baseUrl, apiKey, headers, ...config } = options;
  return createClient(
    createConfig({
      ...config,
      baseUrl: baseUrl.replace(/\/+$/, ''),
      headers: mergeHeaders(headers, apiKey === undefined ? undefined : { 'X-API-KEY': apiKey }),
    }),
  );
}
