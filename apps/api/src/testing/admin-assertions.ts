/**
 * Assertions shared by the admin API integration specs: APISIX's exact bodies (JSON followed by a
 * newline), its common headers, and small polling helpers that avoid fixed sleeps.
 */
import assert from 'node:assert/strict';
import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from './test-app';

export type Reply = Awaited<ReturnType<TestApp['request']>>;

/** spec 5.2 `[upstream]`. */
export const UPSTREAM = Object.freeze({
  nodes: Object.freeze({ '127.0.0.1:1995': 1 }),
  type: 'roundrobin',
});

/** A fresh copy of {@link UPSTREAM} (request bodies must be plain, mutable JSON). */
export function upstream(): { nodes: Record<string, number>; type: string } {
  return { nodes: { '127.0.0.1:1995': 1 }, type: 'roundrobin' };
}

/** The integration app with stream routes enabled (APISIX needs `proxy_mode` to include stream). */
export function startStreamApp(options: Parameters<typeof startTestApp>[0] = {}): Promise<TestApp> {
  return startTestApp({ apisixYaml: 'proxy_mode: http&stream', ...options });
}

/** Every admin answer: `Server: APISIX/<ver>` and `Content-Type: application/json`. */
export function assertAdminHeaders(reply: Reply): void {
  assert.match(reply.headers.get('server') ?? '', /^APISIX\//);
  assert.equal(reply.headers.get('content-type'), 'application/json');
}

/** A JSON answer: exact status, parsed body deep-equal, written with a trailing newline. */
export function assertJson(reply: Reply, status: number, body: unknown): void {
  assert.equal(reply.status, status, `status of ${reply.text}`);
  assertAdminHeaders(reply);
  assert.ok(
    reply.text.endsWith('}\n') || reply.text.endsWith(']\n'),
    `trailing newline: ${reply.text}`,
  );
  assert.deepEqual(reply.json, body);
}

/** An exact JSON body, byte for byte (key order and trailing newline included). */
export function assertExactJson(reply: Reply, status: number, body: unknown): void {
  assert.equal(reply.status, status, `status of ${reply.text}`);
  assertAdminHeaders(reply);
  assert.equal(reply.text, `${JSON.stringify(body)}\n`);
}

/** `{"error_msg":"<message>"}\n` with the given status (400 unless told). */
export function assertError(reply: Reply, message: string, status = 400): void {
  assertExactJson(reply, status, { error_msg: message });
}

/** `{"message":"Key not found"}\n` (404): the store's own shape, not error_msg. */
export function assertKeyNotFound(reply: Reply): void {
  assertExactJson(reply, 404, { message: 'Key not found' });
}

/** Integer epoch seconds close to now (create_time, update_time). */
export function assertTimestamp(value: unknown): void {
  assert.ok(Number.isInteger(value), `integer timestamp, got ${String(value)}`);
  const now = Date.now() / 1000;
  assert.ok(Math.abs((value as number) - now) < 30, `timestamp ${String(value)} near ${now}`);
}

/**
 * A write answer (`{key, value}` without indexes): checks the key, that value carries the id and
 * both timestamps, and that the rest of value equals `expected` exactly. Returns value.
 */
export function assertWriteResult(
  reply: Reply,
  status: number,
  key: string,
  expected: Record<string, unknown>,
): Record<string, unknown> {
  assert.equal(reply.status, status, `status of ${reply.text}`);
  assertAdminHeaders(reply);
  assert.ok(reply.text.endsWith('}\n'));
  assert.deepEqual(Object.keys(reply.json as object).sort(), ['key', 'value']);
  assert.equal(reply.json.key, key);
  const {
    create_time: created,
    update_time: updated,
    ...rest
  } = reply.json.value as Record<string, unknown>;
  assertTimestamp(created);
  assertTimestamp(updated);
  assert.deepEqual(rest, expected);
  return reply.json.value as Record<string, unknown>;
}

/** A GET-one answer: `{key, value, createdIndex, modifiedIndex}` with integer indexes. */
export function assertStoredItem(reply: Reply, key: string): Record<string, unknown> {
  assert.equal(reply.status, 200, reply.text);
  assertAdminHeaders(reply);
  assert.equal(reply.headers.get('x-api-version'), 'v3');
  assert.ok(reply.text.endsWith('}\n'));
  assert.deepEqual(Object.keys(reply.json as object), [
    'key',
    'value',
    'createdIndex',
    'modifiedIndex',
  ]);
  assert.equal(reply.json.key, key);
  assert.ok(Number.isInteger(reply.json.createdIndex) && reply.json.createdIndex > 0);
  assert.ok(Number.isInteger(reply.json.modifiedIndex));
  assert.ok(reply.json.modifiedIndex >= reply.json.createdIndex);
  return reply.json.value as Record<string, unknown>;
}

/** The keys of a list answer, in order (and checks the list envelope). */
export function listKeys(reply: Reply): string[] {
  assert.equal(reply.status, 200, reply.text);
  assertAdminHeaders(reply);
  assert.deepEqual(Object.keys(reply.json as object), ['list', 'total']);
  assert.ok(Array.isArray(reply.json.list));
  return (reply.json.list as { key: string }[]).map((item) => item.key);
}

/** Polls `probe` until it returns true, or fails after `timeoutMs`. */
export async function eventually(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the epoch second changes, so a new write gets a different update_time. */
export async function nextSecond(): Promise<void> {
  const current = Math.floor(Date.now() / 1000);
  await new Promise((resolve) => setTimeout(resolve, (current + 1) * 1000 - Date.now() + 5));
}

/** The raw stored JSON text of one object, straight from the SQLite table. */
export async function rawStoredValue(
  test: TestApp,
  table: string,
  id: string,
): Promise<string | undefined> {
  const rows = (await test.app
    .get(DataSource)
    .query(`SELECT value FROM ${table} WHERE id = ?`, [id])) as { value: string }[];
  return rows[0]?.value;
}
