import { request } from 'node:http';

/**
 * A plain HTTP call with a chosen source address (fetch cannot bind one), for allow_admin tests
 * from 127.0.0.2 and friends.
 */
export function httpCall(
  url: string,
  options: { method?: string; headers?: Record<string, string>; localAddress?: string } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const call = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: options.localAddress,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    call.setTimeout(5000, () => call.destroy(new Error(`${url} timed out`)));
    call.on('error', reject);
    call.end();
  });
}
