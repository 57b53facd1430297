import { spawnSync } from 'node:child_process';
import { ADMIN_KEY } from './strait-process';

/**
 * The seed document's own curl invocation (`curl URL -H 'X-API-KEY: …' -X PUT -d '<body>'`),
 * run with the real curl so the body travels exactly as written.
 */
export function curlAdmin(
  url: string,
  method: string,
  body: string,
  key = ADMIN_KEY,
): { status: number; json: any } /* eslint-disable-line @typescript-eslint/no-explicit-any */ {
  const curl = spawnSync(
    'curl',
    ['-s', '-w', '\n%{http_code}', url, '-H', `X-API-KEY: ${key}`, '-X', method, '-d', body],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (curl.status !== 0) throw new Error(`curl failed (${curl.status}): ${curl.stderr}`);
  const lines = curl.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  const text = lines.join('\n');
  return { status, json: text === '' ? undefined : JSON.parse(text) };
}
