import { timingSafeEqual } from 'node:crypto';

export type AdminRole = 'admin' | 'viewer';

export interface AdminKey {
  name: string;
  key: string;
  role: AdminRole;
}

/** The admin keys in force: from deployment.admin.admin_key, or the one generated on first start. */
export class AdminKeyring {
  constructor(
    private readonly keys: readonly AdminKey[],
    /** admin_key_required: false switches the check off, as in APISIX. */
    readonly required: boolean,
  ) {}

  roleOf(token: string): AdminRole | undefined {
    const presented = Buffer.from(token);
    for (const candidate of this.keys) {
      const expected = Buffer.from(candidate.key);
      // Constant-time comparison so response timing does not reveal how much of a key matched.
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) {
        return candidate.role;
      }
    }
    return undefined;
  }
}
