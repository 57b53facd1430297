import { Inject, Injectable } from '@nestjs/common';
import { findUser, storeLookups } from '../admin/reference-checks';
import type { ResourcePolicy } from '../admin/resource-policy';
import { VALIDATION_OPTIONS } from '../admin/validation-options.provider';
import { validateServiceWithReferences, type ValidationOptions } from '../apisix-schema';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import type { JsonObject } from '../store/resource-kind';
import type { StoreSession } from '../store/store-session';

/** services (apisix/admin/services.lua), as used by stream_route.service_id (spec 3.6). */
@Injectable()
export class ServicesPolicy implements ResourcePolicy {
  readonly kind = 'services' as const;
  readonly label = 'service';
  readonly unsupportedMethods = [] as const;
  readonly filterKeys = [] as const;

  constructor(
    private readonly privateKeys: PrivateKeyFields,
    @Inject(VALIDATION_OPTIONS) private readonly validation: ValidationOptions,
  ) {}

  async validate(value: JsonObject, session: StoreSession): Promise<string | undefined> {
    const outcome = await validateServiceWithReferences(
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
    const route = await findUser(
      session,
      'stream_routes',
      'service_id',
      (value) => String(value.service_id) === id,
    );
    return route === undefined
      ? undefined
      : `can not delete this service directly, stream_route [${route}] is still using it now`;
  }
}
