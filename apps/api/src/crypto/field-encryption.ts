import { createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * Encrypts private keys at rest the way APISIX does (apisix/ssl.lua aes_encrypt_pkey): AES-128-CBC
 * with each keyring entry as both key and IV, base64 output. Encryption uses the first key;
 * decryption tries every key, so a rotated keyring can still read old values.
 */
export class FieldEncryption {
  private readonly keys: Buffer[];

  /** The keyring as given (empty: encryption off); handed to data-plane workers over IPC. */
  constructor(readonly keyring: readonly string[]) {
    this.keys = keyring.map((entry) => Buffer.from(entry, 'utf8'));
    for (const key of this.keys) {
      if (key.length !== 16) throw new Error('data_encryption keyring entries must be 16 bytes');
    }
  }

  /** Only PEM text is encrypted; already-encrypted values and secret references pass unchanged. */
  encrypt(value: string): string {
    if (!value.startsWith('---') || this.keys.length === 0) return value;
    const cipher = createCipheriv('aes-128-cbc', this.keys[0], this.keys[0]);
    return Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]).toString('base64');
  }

  decrypt(value: string): string {
    if (value.startsWith('---') || value.startsWith('$')) return value;
    const data = Buffer.from(value, 'base64');
    for (const key of this.keys) {
      try {
        const decipher = createDecipheriv('aes-128-cbc', key, key);
        const text = Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
        if (text.startsWith('---')) return text;
      } catch {
        // Wrong key for this value: try the next one in the ring.
      }
    }
    throw Object.assign(new Error('cannot decrypt a stored private key with the keyring'), {
      code: 'ERR_DECRYPT',
    });
  }
}
