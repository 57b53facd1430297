import { Inject, Injectable } from '@nestjs/common';
import { findUser, storeLookups, trafficSplitUpstreamIds } from '../admin/reference-checks';
import type { ResourcePolicy } from '../admin/resource-policy';
import { VALIDATION_OPTIONS } from '../admin/validation-options.provider';
import { validateUpstreamWithReferences, type ValidationOptions } from '../apisix-schema';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import type { JsonObject } from '../store/resource-kind';
import type { StoreSession } from '../store/store-session';

/**
 * upstreams (apisix/admin/upstreams.lua). Deliberately stricter than APISIX on DELETE: stream
 * routes that still use the upstream block it too (APISIX only checks HTTP routes and services).
 */
@Injectable()
export class UpstreamsPolicy implements ResourcePolicy {
  readonly kind = 'upstreams' as const;
  readonly label = 'upstream';
  readonly unsupportedMethods = [] as const;
  readonly filterKeys = [] as const;

  constructor(
    private readonly privateKeys: PrivateKeyFields,
    @Inject(VALIDATION_OPTIONS) private readonly validation: ValidationOptions,
  ) {}

  async validate(value: JsonObject, session: StoreSession): Promise<string | undefined> {
    const outcome = await validateUpstreamWithReferences(
      value,
      storeLookups(session),
      this.validation,
    );
    return outcome.ok ? undefined : outcome.message;
  }

  prepareForStorage(value: JsonObject): JsonObject {
    return this.privateKeys.encryptUpstream(value);
  }

  presentForRead(value: JsonObject): JsonObject {
    return value;
  }

  async checkDelete(id: string, session: StoreSession): Promise<string | undefined> {
    const route = await findUser(
      session,
      'stream_routes',
      'upstream_id',
      (value) => String(value.upstream_id) === id,
    );
    if (route !== undefined)
      return `can not delete this upstream, stream_route [${route}] is still using it now`;
    const service = await findUser(
      session,
      'services',
      'upstream_id',
      (value) => String(value.upstream_id) === id,
    );
    if (service !== undefined)
      return `can not delete this upstream, service [${service}] is still using it now`;
    const splitter = await findUser(session, 'stream_routes', 'upstream_id', (value) =>
      trafficSplitUpstreamIds(value.plugins).includes(id),
    );
    if (splitter !== undefined) {
      return `can not delete this upstream, plugin in stream_route [${splitter}] is still using it now`;
    }
    return undefined;
  }
}
