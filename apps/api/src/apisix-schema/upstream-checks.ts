/**
 * apisix/upstream.lua `check_upstream_conf` for the upstreams resource and inline service
 * upstreams, in its order. (Inline stream-route upstreams only get the JSON schema: APISIX quirk.)
 */
import { isIpv6Host } from './ip-address';
import { checkSchema } from './json-schema-validator';
import { isJsonObject, luaNumberToString } from './lua-values';
import { parseNodeAddress } from './node-address';
import { validateCertificateAndKey, type DecryptPrivateKey } from './pem-checks';
import { sslNotFoundMessage, sslWrongTypeMessage } from './reference-messages';
import {
  upstreamHashHeaderSchema,
  upstreamHashVarsCombinationsSchema,
  upstreamHashVarsSchema,
  upstreamSchema,
} from './schemas/upstream.schema';
import {
  localStep,
  referenceStep,
  type ReferenceLookups,
  type ValidationStep,
} from './validation-pipeline';

export const BARE_IPV6_MESSAGE =
  "invalid configuration: IPv6 address must be enclosed with '[' and ']'";

/**
 * Runs before the schema: an array-form node whose host is an IPv6 literal without brackets would
 * make the `host:port` key ambiguous. Hash-form keys are not looked at (Lua `ipairs` of a hash).
 */
export function checkBareIpv6Nodes(upstream: unknown): string | undefined {
  if (!isJsonObject(upstream) || !Array.isArray(upstream.nodes)) return undefined;
  for (const node of upstream.nodes) {
    const host = isJsonObject(node) ? node.host : undefined;
    if (typeof host === 'string' && isIpv6Host(host) && !host.startsWith('[')) {
      return BARE_IPV6_MESSAGE;
    }
  }
  return undefined;
}

/** The upstream schema, writing defaults into `upstream` (a copy). */
export function checkUpstreamSchema(upstream: unknown): string | undefined {
  const error = checkSchema(upstreamSchema, upstream, { applyDefaults: true });
  return error === undefined ? undefined : `invalid configuration: ${error}`;
}

/** Hash-form node keys with a port outside 1..65535: `invalid port 70000`. */
export function checkHashNodePorts(upstream: unknown): string | undefined {
  if (!isJsonObject(upstream) || !isJsonObject(upstream.nodes)) return undefined;
  for (const address of Object.keys(upstream.nodes)) {
    const { port } = parseNodeAddress(address);
    if (port !== undefined && (port < 1 || port > 65535)) {
      return `invalid port ${luaNumberToString(port)}`;
    }
  }
  return undefined;
}

/** `tls.client_cert_id` must name an existing ssl object of type `client`. */
export async function checkClientCertReference(
  upstream: unknown,
  references: ReferenceLookups,
): Promise<string | undefined> {
  const tls = isJsonObject(upstream) ? upstream.tls : undefined;
  const sslId = isJsonObject(tls) ? tls.client_cert_id : undefined;
  if (typeof sslId !== 'string' && typeof sslId !== 'number') return undefined;
  const ssl = await references.findSsl(
    typeof sslId === 'number' ? luaNumberToString(sslId) : sslId,
  );
  if (ssl === undefined) return sslNotFoundMessage(sslId);
  return ssl.type === 'client' ? undefined : sslWrongTypeMessage(sslId);
}

/** `pass_host: rewrite` needs an `upstream_host` (an empty one already fails the schema pattern). */
export function checkPassHost(upstream: unknown): string | undefined {
  if (!isJsonObject(upstream) || upstream.pass_host !== 'rewrite') return undefined;
  if (upstream.upstream_host === undefined || upstream.upstream_host === '') {
    return "`upstream_host` can't be empty when `pass_host` is `rewrite`";
  }
  return undefined;
}

/** `tls.client_cert` / `client_key` must parse (no secret-reference skip here, as in APISIX). */
export function checkUpstreamTls(
  upstream: unknown,
  decryptPrivateKey?: DecryptPrivateKey,
): string | undefined {
  const tls = isJsonObject(upstream) ? upstream.tls : undefined;
  if (!isJsonObject(tls) || typeof tls.client_cert !== 'string') return undefined;
  const key = typeof tls.client_key === 'string' ? tls.client_key : undefined;
  return validateCertificateAndKey(tls.client_cert, key, decryptPrivateKey);
}

const CHASH_KEY_SCHEMAS = {
  vars: upstreamHashVarsSchema,
  header: upstreamHashHeaderSchema,
  cookie: upstreamHashHeaderSchema,
  vars_combinations: upstreamHashVarsCombinationsSchema,
} as const;

/**
 * `type: chash` needs a `key` (unless `hash_on: consumer`) that fits its `hash_on` (default `vars`,
 * read from the defaulted copy). The pattern failure carries the `invalid configuration: ` prefix.
 */
export function checkChashKey(upstream: unknown): string | undefined {
  if (!isJsonObject(upstream) || upstream.type !== 'chash') return undefined;
  const hashOn = upstream.hash_on ?? 'vars';
  if (hashOn !== 'consumer' && upstream.key === undefined) return 'missing key';
  if (typeof hashOn !== 'string' || !(hashOn in CHASH_KEY_SCHEMAS)) return undefined;
  const keySchema = CHASH_KEY_SCHEMAS[hashOn as keyof typeof CHASH_KEY_SCHEMAS];
  const error = checkSchema(keySchema, upstream.key);
  return error === undefined ? undefined : `invalid configuration: ${error}`;
}

/**
 * `check_upstream_conf` as steps. `readUpstream` yields the body to check; the steps after the
 * schema read the defaulted copy the schema step made, as APISIX does.
 */
export function upstreamCheckSteps(
  readUpstream: () => unknown,
  decryptPrivateKey?: DecryptPrivateKey,
): ValidationStep[] {
  let checked: unknown;
  return [
    localStep(() => checkBareIpv6Nodes(readUpstream())),
    localStep(() => {
      checked = structuredClone(readUpstream());
      return checkUpstreamSchema(checked);
    }),
    localStep(() => checkHashNodePorts(checked)),
    referenceStep((references) => checkClientCertReference(checked, references)),
    localStep(() => checkPassHost(checked)),
    localStep(() => checkUpstreamTls(checked, decryptPrivateKey)),
    localStep(() => checkChashKey(checked)),
  ];
}
