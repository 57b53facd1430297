import { isJsonObject } from '../common/deep-merge';
import type { JsonObject } from '../store/resource-kinds';
import type { FieldEncryption } from './field-encryption';

/**
 * Where private keys live in stored objects, and their encryption at rest: `key` and `keys[]` of
 * SSL objects, `tls.client_key` of upstreams (inline in stream routes and services too).
 */
export class PrivateKeyFields {
  constructor(private readonly encryption: FieldEncryption) {}

  /** The effective keyring (configured or generated): data-plane workers decrypt with it too. */
  get keyring(): readonly string[] {
    return this.encryption.keyring;
  }

  /** One stored key in plain PEM, or undefined when no key of the keyring opens it. */
  decrypt(value: string): string | undefined {
    try {
      return this.encryption.decrypt(value);
    } catch {
      return undefined;
    }
  }

  encryptSsl(value: JsonObject): JsonObject {
    const result = { ...value };
    if (typeof result.key === 'string') result.key = this.encryption.encrypt(result.key);
    if (Array.isArray(result.keys)) {
      result.keys = result.keys.map((key: unknown) =>
        typeof key === 'string' ? this.encryption.encrypt(key) : key,
      );
    }
    return result;
  }

  decryptSsl(value: JsonObject): JsonObject {
    const result = { ...value };
    if (typeof result.key === 'string') result.key = this.encryption.decrypt(result.key);
    if (Array.isArray(result.keys)) {
      result.keys = result.keys.map((key: unknown) =>
        typeof key === 'string' ? this.encryption.decrypt(key) : key,
      );
    }
    return result;
  }

  /** For an upstream object itself. */
  encryptUpstream(upstream: JsonObject): JsonObject {
    return this.mapClientKey(upstream, (key) => this.encryption.encrypt(key));
  }

  decryptUpstream(upstream: JsonObject): JsonObject {
    return this.mapClientKey(upstream, (key) => this.encryption.decrypt(key));
  }

  /** For stream routes and services, whose upstream is inline under `upstream`. */
  encryptInlineUpstream(value: JsonObject): JsonObject {
    if (!isJsonObject(value.upstream)) return value;
    return { ...value, upstream: this.encryptUpstream(value.upstream) };
  }

  private mapClientKey(upstream: JsonObject, transform: (key: string) => string): JsonObject {
    if (!isJsonObject(upstream.tls) || typeof upstream.tls.client_key !== 'string') return upstream;
    return {
      ...upstream,
      tls: { ...upstream.tls, client_key: transform(upstream.tls.client_key) },
    };
  }
}
