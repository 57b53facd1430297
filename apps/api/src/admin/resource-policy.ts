import type { JsonObject, ResourceKind } from '../store/resource-kind';
import type { StoreSession } from '../store/store-session';

export type AdminMethod = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/**
 * What differs between admin resources; everything else (ids, timestamps, envelopes, PATCH,
 * pagination, filters) is the shared APISIX behaviour in AdminResourceService.
 */
export interface ResourcePolicy {
  kind: ResourceKind;
  /** Used in APISIX's messages: `missing stream route id`, ``not supported `PATCH` method for upstream``. */
  label: string;
  /** Overrides `missing <label> id` (plugin_metadata says `missing plugin name`). */
  missingIdMessage?: string;
  /**
   * The id comes from the URL only; a body `id` is neither a source nor compared (APISIX's
   * `no_id_res`: plugin_metadata, whose id is the plugin name).
   */
  idFromUrlOnly?: boolean;
  unsupportedMethods: readonly AdminMethod[];
  /** Keys allowed in `?filter=k%3Dv` (APISIX 3.13+: service_id, upstream_id on stream routes). */
  filterKeys: readonly string[];
  /**
   * Full validation of the object about to be stored (schema, extra checks, references), in
   * APISIX's order; returns the error_msg or undefined.
   */
  validate(value: JsonObject, session: StoreSession): Promise<string | undefined>;
  /** Encrypt private keys before storing. */
  prepareForStorage(value: JsonObject): JsonObject;
  /** Remove what GET must never return (ssl keys). */
  presentForRead(value: JsonObject): JsonObject;
  /** Returns an error_msg when another object still uses this one; skipped with `?force=true`. */
  checkDelete(id: string, session: StoreSession): Promise<string | undefined>;
}
