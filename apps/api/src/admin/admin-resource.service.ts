import { Injectable } from '@nestjs/common';
import { AdminError } from '../common/admin-error';
import { deepMerge, isJsonObject, setAtSubPath } from '../common/deep-merge';
import { MAX_JSON_NESTING, nestingDepth } from '../common/json-nesting';
import { ResourceStore } from '../store/resource-store';
import { storeKey, type JsonObject, type StoredObject } from '../store/resource-kind';
import type { AdminMethod, ResourcePolicy } from './resource-policy';

/** Query options shared by the write calls. */
export interface WriteQuery {
  ttl?: string;
  force?: string;
}

export interface ListQuery {
  page?: string;
  page_size?: string;
  name?: string;
  label?: string;
  filter?: string;
}

export interface Envelope {
  key: string;
  value: JsonObject;
}

export interface StoredEnvelope extends Envelope {
  createdIndex: number;
  modifiedIndex: number;
}

const TIMESTAMP_FIELDS = ['create_time', 'update_time'] as const;
const PAGE_SIZE_MIN = 10;
const PAGE_SIZE_MAX = 500;

/**
 * The APISIX v3 admin semantics shared by every resource (apisix/admin/resource.lua,
 * v3_adapter.lua): id rules, forbidden timestamps, 201/200, PATCH merge and sub-paths, DELETE with
 * reference checks, list filters and pagination. Per-resource differences come from a ResourcePolicy.
 */
@Injectable()
export class AdminResourceService {
  constructor(private readonly store: ResourceStore) {}

  async getOne(policy: ResourcePolicy, id: string): Promise<StoredEnvelope> {
    const object = await this.store.read((session) => session.get(policy.kind, id));
    if (!object) throw AdminError.keyNotFound();
    return this.toStoredEnvelope(policy, object);
  }

  async list(
    policy: ResourcePolicy,
    query: ListQuery,
  ): Promise<{ list: StoredEnvelope[]; total: number }> {
    rejectRepeatedArguments(query, ['page', 'page_size', 'name', 'label', 'filter']);
    let objects = await this.store.read((session) => session.list(policy.kind));
    objects = objects.filter(buildListFilter(policy, query));
    const page = Number(query.page);
    const pageSize = Number(query.page_size);
    const paginate =
      query.page !== undefined &&
      query.page_size !== undefined &&
      !Number.isNaN(page) &&
      !Number.isNaN(pageSize);
    if (!paginate) {
      // etcd key order: a byte-wise sort of the full key, so "10" sorts before "2".
      objects.sort((a, b) => compareBytes(storeKey(a.kind, a.id), storeKey(b.kind, b.id)));
      return {
        list: objects.map((object) => this.toStoredEnvelope(policy, object)),
        total: objects.length,
      };
    }
    if (pageSize < PAGE_SIZE_MIN || pageSize > PAGE_SIZE_MAX) {
      throw new AdminError(400, `page_size must be between ${PAGE_SIZE_MIN} and ${PAGE_SIZE_MAX}`);
    }
    objects.sort((a, b) => a.createdIndex - b.createdIndex);
    const start = (Math.max(1, Math.floor(page)) - 1) * pageSize;
    const slice = objects.slice(start, start + pageSize);
    return {
      list: slice.map((object) => this.toStoredEnvelope(policy, object)),
      total: objects.length,
    };
  }

  /** PUT /{id} (urlId set) or PUT on the collection with the id in the body. */
  async put(
    policy: ResourcePolicy,
    urlId: string | undefined,
    body: unknown,
    query: WriteQuery,
  ): Promise<{ envelope: Envelope; created: boolean }> {
    this.assertMethod(policy, 'PUT');
    const ttlSeconds = parseTtl(query.ttl);
    const conf = requireConfiguration(body);
    const id = resolveId(policy, urlId, conf, true);
    conf.id = id;
    rejectTimestamps(conf);
    return this.store.write(async (session) => {
      await this.validateOrThrow(policy, conf, session);
      const existing = await session.get(policy.kind, String(id));
      const now = epochSeconds();
      const value = policy.prepareForStorage({
        ...conf,
        create_time: (existing?.value.create_time as number | undefined) ?? now,
        update_time: now,
      });
      const { object, created } = await session.save(policy.kind, String(id), value, {
        ttlSeconds,
      });
      return { envelope: this.toEnvelope(object), created };
    });
  }

  async post(
    policy: ResourcePolicy,
    urlId: string | undefined,
    body: unknown,
    query: WriteQuery,
  ): Promise<Envelope> {
    this.assertMethod(policy, 'POST');
    const ttlSeconds = parseTtl(query.ttl);
    const conf = requireConfiguration(body);
    resolveId(policy, urlId, conf, false);
    rejectTimestamps(conf);
    return this.store.write(async (session) => {
      await this.validateOrThrow(policy, conf, session);
      // APISIX takes the etcd revision of a /gen_id write, zero-padded to 20 digits.
      const id = String(await session.nextRevision()).padStart(20, '0');
      const now = epochSeconds();
      const value = policy.prepareForStorage({ ...conf, id, create_time: now, update_time: now });
      const { object } = await session.save(policy.kind, id, value, { ttlSeconds });
      return this.toEnvelope(object);
    });
  }

  async patch(
    policy: ResourcePolicy,
    urlId: string | undefined,
    subPath: string | undefined,
    body: unknown,
    query: WriteQuery,
  ): Promise<Envelope> {
    this.assertMethod(policy, 'PATCH');
    const ttlSeconds = parseTtl(query.ttl);
    if (!urlId)
      throw AdminError.badRequest(policy.missingIdMessage ?? `missing ${policy.label} id`);
    if (body === undefined) throw AdminError.badRequest('missing new configuration');
    const segments = (subPath ?? '').split('/').filter((segment) => segment.length > 0);
    if (segments.length === 0 && !isJsonObject(body)) {
      throw AdminError.badRequest('invalid configuration');
    }
    return this.store.write(async (session) => {
      const existing = await session.get(policy.kind, urlId);
      if (!existing) throw AdminError.keyNotFound();
      let merged: JsonObject;
      if (segments.length > 0) {
        const outcome = setAtSubPath(existing.value, segments, body);
        if (!outcome.ok) throw AdminError.badRequest(`invalid sub-path: ${outcome.failedAt}`);
        // The body passed the parser's depth limit, but the path adds levels (500s past ~2000).
        if (nestingDepth(outcome.result) > MAX_JSON_NESTING) {
          throw AdminError.badRequest(
            `invalid sub-path: nesting deeper than ${MAX_JSON_NESTING} levels`,
          );
        }
        merged = { ...outcome.result, update_time: epochSeconds() };
      } else {
        const patch = body as JsonObject;
        merged = deepMerge(existing.value, patch);
        // A whole-object PATCH may set the timestamps explicitly (t/admin/ssl.t TEST 18).
        if (patch.update_time === undefined) merged.update_time = epochSeconds();
      }
      // check_conf(id, merged, need_id): a patched `id` must still name this object.
      const id = existing.value.id ?? urlId;
      if (merged.id !== undefined && String(merged.id) !== String(id)) {
        throw AdminError.badRequest(`wrong ${policy.label} id`);
      }
      merged.id = id;
      await this.validateOrThrow(policy, merged, session);
      const { object } = await session.save(policy.kind, urlId, policy.prepareForStorage(merged), {
        ttlSeconds,
      });
      return this.toEnvelope(object);
    });
  }

  async delete(
    policy: ResourcePolicy,
    urlId: string | undefined,
    query: WriteQuery,
  ): Promise<{ deleted: '1'; key: string }> {
    this.assertMethod(policy, 'DELETE');
    if (!urlId)
      throw AdminError.badRequest(policy.missingIdMessage ?? `missing ${policy.label} id`);
    return this.store.write(async (session) => {
      const existing = await session.get(policy.kind, urlId);
      if (!existing) throw AdminError.keyNotFound();
      // Only the exact string "true" skips the reference check, as in APISIX.
      if (query.force !== 'true') {
        const blocker = await policy.checkDelete(urlId, session);
        if (blocker) throw AdminError.badRequest(blocker);
      }
      await session.remove(policy.kind, urlId);
      return { deleted: '1', key: storeKey(policy.kind, urlId) };
    });
  }

  assertMethod(policy: ResourcePolicy, method: AdminMethod): void {
    if (policy.unsupportedMethods.includes(method)) {
      throw new AdminError(405, {
        error_msg: `not supported \`${method}\` method for ${policy.label}`,
      });
    }
  }

  private async validateOrThrow(
    policy: ResourcePolicy,
    value: JsonObject,
    session: Parameters<ResourcePolicy['validate']>[1],
  ): Promise<void> {
    const message = await policy.validate(value, session);
    if (message !== undefined) throw AdminError.badRequest(message);
  }

  private toEnvelope(object: StoredObject): Envelope {
    return { key: storeKey(object.kind, object.id), value: object.value };
  }

  private toStoredEnvelope(policy: ResourcePolicy, object: StoredObject): StoredEnvelope {
    return {
      key: storeKey(object.kind, object.id),
      value: policy.presentForRead(object.value),
      createdIndex: object.createdIndex,
      modifiedIndex: object.modifiedIndex,
    };
  }
}

function requireConfiguration(body: unknown): JsonObject {
  if (body === undefined || body === null) throw AdminError.badRequest('missing configurations');
  if (!isJsonObject(body)) {
    // Named in Lua's vocabulary, as api7 jsonschema reports it (a JSON array is a `table` too).
    const luaType = typeof body === 'object' ? 'table' : typeof body;
    throw AdminError.badRequest(
      `invalid configuration: wrong type: expected object, got ${luaType}`,
    );
  }
  return { ...body };
}

/** apisix/admin/resource.lua check_conf: where the id comes from and when it is an error. */
function resolveId(
  policy: ResourcePolicy,
  urlId: string | undefined,
  conf: JsonObject,
  needId: boolean,
): string | number {
  const bodyId = policy.idFromUrlOnly ? undefined : (conf.id as string | number | undefined);
  const id = urlId ?? bodyId;
  if (needId && (id === undefined || id === '')) {
    throw AdminError.badRequest(policy.missingIdMessage ?? `missing ${policy.label} id`);
  }
  if (!needId && id !== undefined) {
    throw AdminError.badRequest(`wrong ${policy.label} id, do not need it`);
  }
  if (needId && bodyId !== undefined && String(bodyId) !== String(id)) {
    throw AdminError.badRequest(`wrong ${policy.label} id`);
  }
  return id as string | number;
}

/** apisix/admin/utils.lua: timestamps are server-owned on PUT and POST (note the two spaces). */
function rejectTimestamps(conf: JsonObject): void {
  for (const field of TIMESTAMP_FIELDS) {
    if (conf[field] !== undefined) {
      throw AdminError.badRequest(`the property is forbidden:  ${field}`);
    }
  }
  for (const parent of ['upstream', 'plugins']) {
    const nested = conf[parent];
    if (!isJsonObject(nested)) continue;
    for (const field of TIMESTAMP_FIELDS) {
      if (nested[field] !== undefined) {
        throw AdminError.badRequest(`the property is forbidden:  ${parent}.${field}`);
      }
    }
  }
}

function parseTtl(ttl: unknown): number | undefined {
  if (ttl === undefined) return undefined;
  // `?ttl=1&ttl=2` or `?ttl[a]=1` arrive as an array or object (extended query parser).
  const seconds = typeof ttl === 'string' ? Number(ttl) : Number.NaN;
  if (typeof ttl !== 'string' || ttl.trim() === '' || Number.isNaN(seconds)) {
    throw AdminError.badRequest('invalid argument ttl: should be a number');
  }
  return seconds;
}

/**
 * The extended query parser turns `?filter=a&filter=b` or `?name[x]=1` into arrays and objects,
 * which the list code would otherwise crash on (500); APISIX reads one string per argument.
 */
function rejectRepeatedArguments(query: object, names: readonly string[]): void {
  for (const name of names) {
    const value = (query as Record<string, unknown>)[name];
    if (value !== undefined && typeof value !== 'string') {
      throw AdminError.badRequest(`invalid argument ${name}: should be a single value`);
    }
  }
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** v3_adapter.lua filters, AND-ed: name (regex), label (key present), filter=k=v (exact strings). */
function buildListFilter(
  policy: ResourcePolicy,
  query: ListQuery,
): (object: StoredObject) => boolean {
  const checks: ((value: JsonObject) => boolean)[] = [];
  if (query.name !== undefined) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(query.name);
    } catch {
      throw AdminError.badRequest(`invalid name filter: ${query.name}`);
    }
    checks.push((value) => typeof value.name === 'string' && pattern.test(value.name));
  }
  if (query.label !== undefined) {
    const label = query.label;
    checks.push(
      (value) => label !== '' && isJsonObject(value.labels) && Object.hasOwn(value.labels, label),
    );
  }
  if (query.filter !== undefined) {
    for (const [key, expected] of new URLSearchParams(query.filter)) {
      if (!policy.filterKeys.includes(key)) continue;
      checks.push((value) => value[key] === expected);
    }
  }
  return (object) => checks.every((check) => check(object.value));
}
