import { Injectable } from '@nestjs/common';
import type { ResourcePolicy } from '../admin/resource-policy';
import { validatePluginMetadata } from '../apisix-schema';
import type { JsonObject } from '../store/resource-kind';

/** plugin_metadata/{plugin} (apisix/admin/plugin_metadata.lua): the id is the plugin name. */
@Injectable()
export class PluginMetadataPolicy implements ResourcePolicy {
  readonly kind = 'plugin_metadata' as const;
  readonly label = 'plugin_metadata';
  readonly missingIdMessage = 'missing plugin name';
  readonly idFromUrlOnly = true;
  readonly unsupportedMethods = ['POST', 'PATCH'] as const;
  readonly filterKeys = [] as const;

  validate(value: JsonObject): Promise<string | undefined> {
    const { id, create_time: _created, update_time: _updated, ...metadata } = value;
    const outcome = validatePluginMetadata(String(id), metadata);
    return Promise.resolve(outcome.ok ? undefined : outcome.message);
  }

  prepareForStorage(value: JsonObject): JsonObject {
    return value;
  }

  presentForRead(value: JsonObject): JsonObject {
    return value;
  }

  checkDelete(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }
}
