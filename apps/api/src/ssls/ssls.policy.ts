import { Inject, Injectable } from '@nestjs/common';
import type { ResourcePolicy } from '../admin/resource-policy';
import { VALIDATION_OPTIONS } from '../admin/validation-options.provider';
import { validateSsl, type ValidationOptions } from '../apisix-schema';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import type { JsonObject } from '../store/resource-kind';

/** ssls (apisix/admin/ssl.lua): keys encrypted at rest and never returned by GET. */
@Injectable()
export class SslsPolicy implements ResourcePolicy {
  readonly kind = 'ssls' as const;
  readonly label = 'ssl';
  readonly unsupportedMethods = [] as const;
  readonly filterKeys = [] as const;

  constructor(
    private readonly privateKeys: PrivateKeyFields,
    @Inject(VALIDATION_OPTIONS) private readonly validation: ValidationOptions,
  ) {}

  validate(value: JsonObject): Promise<string | undefined> {
    const outcome = validateSsl(value, this.validation);
    return Promise.resolve(outcome.ok ? undefined : outcome.message);
  }

  prepareForStorage(value: JsonObject): JsonObject {
    return this.privateKeys.encryptSsl(value);
  }

  presentForRead(value: JsonObject): JsonObject {
    const { key: _key, keys: _keys, ...visible } = value;
    return visible;
  }

  checkDelete(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }
}
