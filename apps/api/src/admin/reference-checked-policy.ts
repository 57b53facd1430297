import { Inject } from '@nestjs/common';
import type { ReferenceLookups, ValidationOptions, ValidationResult } from '../apisix-schema';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import type { JsonObject, ResourceKind } from '../store/resource-kind';
import type { StoreSession } from '../store/store-session';
import { checkDeleteBlockers, type DeleteBlocker } from './delete-blockers';
import { storeLookups } from './reference-checks';
import type { AdminMethod, ResourcePolicy } from './resource-policy';
import { VALIDATION_OPTIONS } from './validation-options.provider';

/** An apisix-schema `validate...WithReferences`: the body's checks, store look-ups included. */
export type ReferenceValidator = (
  body: unknown,
  references: ReferenceLookups,
  options?: ValidationOptions,
) => Promise<ValidationResult>;

/**
 * The policy of a resource that takes part in references between stored objects (stream routes,
 * services, upstreams): a write is validated against the objects it names, inside the write's
 * transaction, and a DELETE is refused while other objects still name it. Subclasses declare only
 * what differs: the validator, how private keys are stored and who may refer to them.
 */
export abstract class ReferenceCheckedPolicy implements ResourcePolicy {
  abstract readonly kind: ResourceKind;
  abstract readonly label: string;
  abstract readonly unsupportedMethods: readonly AdminMethod[];
  abstract readonly filterKeys: readonly string[];
  protected abstract readonly validator: ReferenceValidator;
  /** In APISIX's check order: the first one with a referrer gives the error_msg. */
  protected abstract readonly deleteBlockers: readonly DeleteBlocker[];

  constructor(
    protected readonly privateKeys: PrivateKeyFields,
    @Inject(VALIDATION_OPTIONS) private readonly validation: ValidationOptions,
  ) {}

  async validate(value: JsonObject, session: StoreSession): Promise<string | undefined> {
    const outcome = await this.validator(value, storeLookups(session), this.validation);
    return outcome.ok ? undefined : outcome.message;
  }

  abstract prepareForStorage(value: JsonObject): JsonObject;

  /**
   * Returned as stored: a `tls.client_key` is already encrypted at rest, and APISIX withholds
   * only ssl keys from GET.
   */
  presentForRead(value: JsonObject): JsonObject {
    return value;
  }

  checkDelete(id: string, session: StoreSession): Promise<string | undefined> {
    return checkDeleteBlockers(id, session, this.deleteBlockers);
  }
}
