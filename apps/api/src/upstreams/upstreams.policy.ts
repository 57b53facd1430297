import { Injectable } from '@nestjs/common';
import { referencedByField, type DeleteBlocker } from '../admin/delete-blockers';
import { trafficSplitUpstreamIds } from '../admin/reference-checks';
import { ReferenceCheckedPolicy } from '../admin/reference-checked-policy';
import { validateUpstreamWithReferences } from '../apisix-schema';
import type { JsonObject } from '../store/resource-kind';

/**
 * upstreams (apisix/admin/upstreams.lua). Deliberately stricter than APISIX on DELETE: stream
 * routes that still use the upstream block it too (APISIX only checks HTTP routes and services).
 */
@Injectable()
export class UpstreamsPolicy extends ReferenceCheckedPolicy {
  readonly kind = 'upstreams' as const;
  readonly label = 'upstream';
  readonly unsupportedMethods = [] as const;
  readonly filterKeys = [] as const;
  protected readonly validator = validateUpstreamWithReferences;
  protected readonly deleteBlockers: readonly DeleteBlocker[] = [
    referencedByField(
      'stream_routes',
      'upstream_id',
      (route) => `can not delete this upstream, stream_route [${route}] is still using it now`,
    ),
    referencedByField(
      'services',
      'upstream_id',
      (service) => `can not delete this upstream, service [${service}] is still using it now`,
    ),
    {
      referrerKind: 'stream_routes',
      // Every weighted upstream of a traffic-split rule names its upstream by `upstream_id`.
      mentionedKey: 'upstream_id',
      refersTo: (route, id) => trafficSplitUpstreamIds(route.plugins).includes(id),
      message: (route) =>
        `can not delete this upstream, plugin in stream_route [${route}] is still using it now`,
    },
  ];

  prepareForStorage(value: JsonObject): JsonObject {
    return this.privateKeys.encryptUpstream(value);
  }
}
