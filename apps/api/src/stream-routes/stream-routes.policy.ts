import { Inject, Injectable } from '@nestjs/common';
import { findUser, storeLookups } from '../admin/reference-checks';
import type { ResourcePolicy } from '../admin/resource-policy';
import { VALIDATION_OPTIONS } from '../admin/validation-options.provider';
import { validateStreamRouteWithReferences, type ValidationOptions } from '../apisix-schema';
import { isJsonObject } from '../common/deep-merge';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import type { JsonObject } from '../store/resource-kind';
import type { StoreSession } from '../store/store-session';

/** stream_routes (apisix/admin/stream_routes.lua): no PATCH; superior_id references block DELETE. */
@Injectable()
export class StreamRoutesPolicy implements ResourcePolicy {
  readonly kind = 'stream_routes' as const;
  readonly label = 'stream route';
  readonly unsupportedMethods = ['PATCH'] as const;
  readonly filterKeys = ['service_id', 'upstream_id'] as const;

  constructor(
    private readonly privateKeys: PrivateKeyFields,
    @Inject(VALIDATION_OPTIONS) private readonly validation: ValidationOptions,
  ) {}

  async validate(value: JsonObject, session: StoreSession): Promise<string | undefined> {
    const outcome = await validateStreamRouteWithReferences(
      value,
      storeLookups(session),
      this.validation,
    );
    return outcome.ok ? undefined : outcome.message;
  }

  prepareForStorage(value: JsonObject): JsonObject {
    return this.privateKeys.encryptInlineUpstream(value);
  }

  presentForRead(value: JsonObject): JsonObject {
    return value;
  }

  async checkDelete(id: string, session: StoreSession): Promise<string | undefined> {
    const user = await findUser(
      session,
      'stream_routes',
      'superior_id',
      (value) => isJsonObject(value.protocol) && String(value.protocol.superior_id) === id,
    );
    return user === undefined
      ? undefined
      : `can not delete this stream route directly, stream route [${user}] is still using it as superior_id`;
  }
}
