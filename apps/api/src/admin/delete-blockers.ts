import type { JsonObject, ResourceKind } from '../store/resource-kind';
import type { StoreSession } from '../store/store-session';
import { findUser } from './reference-checks';

/**
 * One kind of stored object that can keep another from being deleted by still referring to it.
 * APISIX refuses such a DELETE (unless `?force=true`) and names the referring object in the
 * error_msg, e.g. `can not delete this upstream, service [1] is still using it now`.
 */
export interface DeleteBlocker {
  /** Where the referring objects are stored. */
  referrerKind: ResourceKind;
  /**
   * An object key every referrer's stored JSON contains (`upstream_id`), so only the objects
   * that mention it are read rather than the whole table (see findUser).
   */
  mentionedKey: string;
  /** Whether the stored `referrer` refers to the object `id` about to be deleted. */
  refersTo(referrer: JsonObject, id: string): boolean;
  /** The error_msg; the exact text is APISIX's (apisix-stream-spec). */
  message(referrerId: string): string;
}

/** The common reference: a top-level id field of the referrer (`service_id`, `upstream_id`). */
export function referencedByField(
  referrerKind: ResourceKind,
  field: string,
  message: (referrerId: string) => string,
): DeleteBlocker {
  return {
    referrerKind,
    mentionedKey: field,
    // Stored ids may be numbers or strings; APISIX compares them as strings.
    refersTo: (referrer, id) => String(referrer[field]) === id,
    message,
  };
}

/**
 * The error_msg of the first blocker that still has a referrer, or undefined when the object may
 * be deleted. Blockers are tried in the given order, which is APISIX's, so that the same message
 * wins when several kinds of object refer to it; within a kind the lowest id is named.
 */
export async function checkDeleteBlockers(
  id: string,
  session: StoreSession,
  blockers: readonly DeleteBlocker[],
): Promise<string | undefined> {
  for (const blocker of blockers) {
    const referrer = await findUser(session, blocker.referrerKind, blocker.mentionedKey, (value) =>
      blocker.refersTo(value, id),
    );
    if (referrer !== undefined) return blocker.message(referrer);
  }
  return undefined;
}
