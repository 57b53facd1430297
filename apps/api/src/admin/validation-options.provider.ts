import type { Provider } from '@nestjs/common';
import type { ValidationOptions } from '../apisix-schema';
import { STRAIT_CONFIG } from '../common/strait-config.token';
import type { StraitConfig } from '../config/strait-config';
import { PrivateKeyFields } from '../crypto/private-key-fields';

/** Injection token of the admin API's ValidationOptions (enabled plugins, key decryption). */
export const VALIDATION_OPTIONS = Symbol('VALIDATION_OPTIONS');

export const validationOptionsProvider: Provider = {
  provide: VALIDATION_OPTIONS,
  inject: [STRAIT_CONFIG, PrivateKeyFields],
  useFactory: (config: StraitConfig, privateKeys: PrivateKeyFields): ValidationOptions => ({
    enabledPlugins: config.streamPlugins,
    // A PATCH merges into the stored value, whose private keys are encrypted.
    decryptPrivateKey: (value) => privateKeys.decrypt(value),
  }),
};
