import { ADMIN_KEY } from './strait-process';

export interface AdminAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A curl-like call against the admin API; the body is sent as given (string or bytes) or as JSON.
 * Bounded: rejects after `timeoutMs` (30 s by default).
 */
export async function admin(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  options: { key?: string | null; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<AdminAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? ADMIN_KEY : options.key;
  if (key !== null) headers['X-API-KEY'] = key;
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body:
      body === undefined
        ? undefined
        : typeof body === 'string' || Buffer.isBuffer(body)
          ? body
          : JSON.stringify(body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** `admin()` that fails the test unless the answer is 2xx; for setup steps. */
export async function adminOk(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<AdminAnswer> {
  const answer = await admin(baseUrl, method, path, body);
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text}`);
  }
  return answer;
}

/**
 * Closes every open connection and UDP session through the admin API. UDP sessions live until
 * their idle timeout and a SIGTERM drain waits for them, so UDP specs call this before stop().
 */
export async function closeAllConnections(baseUrl: string): Promise<void> {
  const listed = await adminOk(baseUrl, 'GET', '/strait/v1/connections');
  for (const connection of listed.json.list as { id: number }[]) {
    await admin(baseUrl, 'DELETE', `/strait/v1/connections/${connection.id}`);
  }
}
