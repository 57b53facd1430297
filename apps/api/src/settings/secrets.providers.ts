import { Logger, type Provider } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { STRAIT_CONFIG } from '../common/strait-config.token';
import type { StraitConfig } from '../config/strait-config';
import { FieldEncryption } from '../crypto/field-encryption';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import { AdminKeyring } from './admin-keyring';
import { SettingsService } from './settings.service';

const logger = new Logger('Secrets');

/**
 * The admin keys. Deliberately better than APISIX: with no key configured Strait never runs an
 * open admin API; it generates a key on first start, stores it, and prints it once.
 */
export const adminKeyringProvider: Provider = {
  provide: AdminKeyring,
  inject: [STRAIT_CONFIG, SettingsService],
  async useFactory(config: StraitConfig, settings: SettingsService): Promise<AdminKeyring> {
    if (config.admin.keys.length > 0) {
      return new AdminKeyring(config.admin.keys, config.admin.keyRequired);
    }
    const { value, created } = await settings.getOrCreate('admin_key', () => randomBytes(16).toString('hex'));
    if (created) {
      // The only time the generated key is ever shown: the operator copies it from here.
      process.stdout.write(
        `\nNo deployment.admin.admin_key is configured, so Strait generated one.\n` +
          `Admin API key (role admin), shown only this once: ${value}\n\n`,
      );
    } else {
      logger.log({ msg: 'using the admin key generated on first start (not configured in config.yaml)' });
    }
    return new AdminKeyring([{ name: 'generated', key: value, role: 'admin' }], config.admin.keyRequired);
  },
};

/**
 * Encryption of private keys at rest. A keyring written in config.yaml wins; otherwise a random
 * keyring is generated once and kept in the store, because APISIX's published default keyring
 * would protect nothing.
 */
export const privateKeyFieldsProvider: Provider = {
  provide: PrivateKeyFields,
  inject: [STRAIT_CONFIG, SettingsService],
  async useFactory(config: StraitConfig, settings: SettingsService): Promise<PrivateKeyFields> {
    let keyring = [...config.dataEncryption.keyring];
    if (config.dataEncryption.keyringIsDefault) {
      const { value } = await settings.getOrCreate('data_encryption_keyring', () =>
        JSON.stringify([randomBytes(8).toString('hex')]),
      );
      keyring = JSON.parse(value) as string[];
    }
    return new PrivateKeyFields(new FieldEncryption(config.dataEncryption.enabled ? keyring : []));
  },
};
