/**
 * The full check sequence of each admin resource, in APISIX's order, as pipeline steps.
 * Every sequence checks a deep copy of the body: APISIX validates `tbl_deepcopy(conf)`, so schema
 * defaults steer the later checks but are never stored.
 */
import { checkSchema } from './json-schema-validator';
import type { JsonSchema } from './json-schema.types';
import { isJsonObject } from './lua-values';
import type { DecryptPrivateKey } from './pem-checks';
import { checkServicePlugins, checkStreamRoutePlugins } from './plugin-checks';
import { serviceSchema } from './schemas/service.schema';
import { sslSchema } from './schemas/ssl.schema';
import { streamRouteSchema } from './schemas/stream-route.schema';
import { checkSslCertificates } from './ssl-checks';
import {
  checkRouteAddresses,
  checkServiceReference,
  checkSuperiorReference,
  checkUpstreamReference,
  checkXrpcProtocol,
} from './stream-route-checks';
import { upstreamCheckSteps } from './upstream-checks';
import { localStep, referenceStep, stepsWhen, type ValidationStep } from './validation-pipeline';

export interface ResolvedValidationOptions {
  readonly enabledPlugins: readonly string[];
  readonly xrpcProtocols: readonly string[];
  readonly decryptPrivateKey?: DecryptPrivateKey;
}

/** A step that checks `schema` on a fresh copy of `body` and hands the defaulted copy on. */
function schemaStep(
  schema: JsonSchema,
  body: unknown,
  keep: (copy: unknown) => void,
): ValidationStep {
  return localStep(() => {
    const copy = structuredClone(body);
    keep(copy);
    const error = checkSchema(schema, copy, { applyDefaults: true });
    return error === undefined ? undefined : `invalid configuration: ${error}`;
  });
}

/** apisix/admin/stream_routes.lua check_conf, then ip_port.lua stream_route_checker. */
export function streamRouteSteps(
  body: unknown,
  options: ResolvedValidationOptions,
): ValidationStep[] {
  let conf: unknown;
  return [
    schemaStep(streamRouteSchema, body, (copy) => (conf = copy)),
    // QUIRK: an inline `upstream` gets the schema only (no IPv6-bracket, port, chash or PEM check).
    referenceStep((references) => checkUpstreamReference(conf, references)),
    referenceStep((references) => checkServiceReference(conf, references)),
    referenceStep((references) => checkSuperiorReference(conf, references)),
    localStep(() =>
      isJsonObject(conf) && isJsonObject(conf.plugins)
        ? checkStreamRoutePlugins(conf.plugins, options.enabledPlugins)
        : undefined,
    ),
    localStep(() => checkRouteAddresses(conf)),
    localStep(() => checkXrpcProtocol(conf, options.xrpcProtocols)),
  ];
}

/** apisix/admin/upstreams.lua: `check_upstream_conf`. */
export function upstreamSteps(body: unknown, options: ResolvedValidationOptions): ValidationStep[] {
  return upstreamCheckSteps(() => body, options.decryptPrivateKey);
}

/** apisix/admin/ssl.lua: `check_ssl_conf`. */
export function sslSteps(body: unknown, options: ResolvedValidationOptions): ValidationStep[] {
  let conf: unknown;
  return [
    schemaStep(sslSchema, body, (copy) => (conf = copy)),
    localStep(() => checkSslCertificates(conf, options.decryptPrivateKey)),
  ];
}

/**
 * apisix/admin/services.lua check_conf. An inline upstream gets the full upstream checks here
 * (unlike in a stream route). A `script` is accepted unchecked: APISIX `loadstring`s it as Lua,
 * which Strait cannot do (it is an HTTP dashboard feature).
 */
export function serviceSteps(body: unknown, options: ResolvedValidationOptions): ValidationStep[] {
  let conf: unknown;
  const inlineUpstream = () => (isJsonObject(conf) ? conf.upstream : undefined);
  return [
    schemaStep(serviceSchema, body, (copy) => (conf = copy)),
    ...stepsWhen(
      () => inlineUpstream() !== undefined,
      upstreamCheckSteps(inlineUpstream, options.decryptPrivateKey),
    ),
    referenceStep((references) => checkUpstreamReference(conf, references)),
    localStep(() =>
      isJsonObject(conf) && isJsonObject(conf.plugins)
        ? checkServicePlugins(conf.plugins, options.enabledPlugins)
        : undefined,
    ),
  ];
}
