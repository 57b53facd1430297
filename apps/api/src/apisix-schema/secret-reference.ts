/**
 * `$secret://manager/id/key` and `$env://VAR` references (apisix/secret.lua). They are resolved at
 * use time, so the admin API neither length-checks nor PEM-parses them.
 */

const SECRET_PREFIX = '$secret://';
// apisix/core/env.lua compares `upper(value)` against "$ENV://", so any case is accepted.
const ENV_PREFIX = '$ENV://';

/** `secret.check_secret_uri`: `$secret://` (case-sensitive) or `$env://` (any case). */
export function isSecretReference(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    (value.startsWith(SECRET_PREFIX) || value.toUpperCase().startsWith(ENV_PREFIX))
  );
}
