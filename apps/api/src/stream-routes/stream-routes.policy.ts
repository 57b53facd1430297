import { Injectable } from '@nestjs/common';
import type { DeleteBlocker } from '../admin/delete-blockers';
import { ReferenceCheckedPolicy } from '../admin/reference-checked-policy';
import { validateStreamRouteWithReferences } from '../apisix-schema';
import { isJsonObject } from '../common/deep-merge';
import type { JsonObject } from '../store/resource-kind';

/** stream_routes (apisix/admin/stream_routes.lua): no PATCH; superior_id references block DELETE. */
@Injectable()
export class StreamRoutesPolicy extends ReferenceCheckedPolicy {
  readonly kind = 'stream_routes' as const;
  readonly label = 'stream route';
  readonly unsupportedMethods = ['PATCH'] as const;
  readonly filterKeys = ['service_id', 'upstream_id'] as const;
  protected readonly validator = validateStreamRouteWithReferences;
  protected readonly deleteBlockers: readonly DeleteBlocker[] = [
    {
      referrerKind: 'stream_routes',
      // An xRPC sub-route names its superior route inside `protocol`, not at the top level.
      mentionedKey: 'superior_id',
      refersTo: (route, id) =>
        isJsonObject(route.protocol) && String(route.protocol.superior_id) === id,
      message: (route) =>
        `can not delete this stream route directly, stream route [${route}] is still using it as superior_id`,
    },
  ];

  prepareForStorage(value: JsonObject): JsonObject {
    return this.privateKeys.encryptInlineUpstream(value);
  }
}
