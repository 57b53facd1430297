import { Injectable } from '@nestjs/common';
import { referencedByField, type DeleteBlocker } from '../admin/delete-blockers';
import { ReferenceCheckedPolicy } from '../admin/reference-checked-policy';
import { validateServiceWithReferences } from '../apisix-schema';
import type { JsonObject } from '../store/resource-kind';

/** services (apisix/admin/services.lua), as used by stream_route.service_id (spec 3.6). */
@Injectable()
export class ServicesPolicy extends ReferenceCheckedPolicy {
  readonly kind = 'services' as const;
  readonly label = 'service';
  readonly unsupportedMethods = [] as const;
  readonly filterKeys = [] as const;
  protected readonly validator = validateServiceWithReferences;
  protected readonly deleteBlockers: readonly DeleteBlocker[] = [
    referencedByField(
      'stream_routes',
      'service_id',
      (route) =>
        `can not delete this service directly, stream_route [${route}] is still using it now`,
    ),
  ];

  prepareForStorage(value: JsonObject): JsonObject {
    return this.privateKeys.encryptInlineUpstream(value);
  }
}
