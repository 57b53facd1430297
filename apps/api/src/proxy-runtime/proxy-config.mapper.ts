import {
  isValidIpOrCidr,
  type CertificateSpec,
  type HealthCheckSpec,
  type ProxyConfig,
  type StreamRouteSpec,
  type UpstreamNodeSpec,
  type UpstreamSpec,
} from '@strait/proxy';
import { isJsonObject } from '../common/deep-merge';
import type { PrivateKeyFields } from '../crypto/private-key-fields';
import type { JsonObject, ResourceKind, StoredObject } from '../store/resource-kinds';

/** The part of StoreView the mapper reads. */
export interface StoreReader {
  list(kind: ResourceKind): StoredObject[];
  get(kind: ResourceKind, id: unknown): StoredObject | undefined;
}

export interface MapperContext {
  view: StoreReader;
  privateKeys: PrivateKeyFields;
  fallbackSni?: string;
  /** Objects that could not be mapped are skipped and reported, never half-applied. */
  onSkipped(kind: string, id: string, reason: string): void;
  /**
   * Mappings of earlier calls, reused for objects whose inputs are unchanged: pass the same cache
   * to every call so a re-apply maps only what changed (see MappedObjectCache).
   */
  cache?: MappedObjectCache;
}

/** One stored object's mapping and everything it was mapped from. */
interface CachedMapping<T> {
  /** The stored object mapped (StoreView replaces the object on every change). */
  source: StoredObject;
  /** Every other stored object looked up while mapping, as found (undefined: it did not exist). */
  reads: { kind: ResourceKind; id: unknown; found: StoredObject | undefined }[];
  result: { spec: T | undefined } | { error: string };
}

/**
 * Mapped specs of the previous call, by stored id. A mapping is reused (the same spec object, so
 * the engine can keep what it compiled for it) only while its own stored object and every object
 * it looked up — service, upstreams (route, service and traffic-split), client-certificate SSLs —
 * are the very objects it was mapped from, and absent ones are still absent. Any write replaces
 * the stored object in the view, so an edited upstream or service remaps every route that read
 * it, and a deleted one turns their upstream into an error again. Mapping is otherwise a pure
 * function of the stored objects (private-key decryption included).
 */
export class MappedObjectCache {
  readonly routes = new Map<string, CachedMapping<StreamRouteSpec>>();
  readonly certificates = new Map<string, CachedMapping<CertificateSpec>>();
  pluginMetadata:
    { sources: StoredObject[]; value: Record<string, unknown> | undefined } | undefined;
  /** Objects mapped (not reused) by the last call; for tests and logs. */
  lastMapped = 0;
}

/**
 * Turns stored APISIX objects into the engine's ProxyConfig: upstream references and services are
 * resolved here (spec 3.6), defaults applied, private keys decrypted. This is the only place that
 * knows both shapes.
 */
export function mapToProxyConfig(context: MapperContext): ProxyConfig {
  const cache = context.cache;
  if (cache) cache.lastMapped = 0;
  // Unchanged entries stay where they are; only misses are stored and deleted objects pruned.
  const routeCache = cache?.routes ?? new Map<string, CachedMapping<StreamRouteSpec>>();
  const routes: StreamRouteSpec[] = [];
  const storedRoutes = context.view.list('stream_routes');
  for (const route of storedRoutes) {
    const cached = routeCache.get(route.id);
    const mapping = mapCached(route, cached, context, mapRoute);
    if (mapping !== cached) routeCache.set(route.id, mapping);
    if ('error' in mapping.result) {
      context.onSkipped('stream_routes', route.id, mapping.result.error);
    } else if (mapping.result.spec) routes.push(mapping.result.spec);
  }
  pruneDeleted(routeCache, storedRoutes);
  const certificateCache = cache?.certificates ?? new Map<string, CachedMapping<CertificateSpec>>();
  const certificates: CertificateSpec[] = [];
  const storedSsls = context.view.list('ssls');
  for (const ssl of storedSsls) {
    const cached = certificateCache.get(ssl.id);
    const mapping = mapCached(ssl, cached, context, mapCertificate);
    if (mapping !== cached) certificateCache.set(ssl.id, mapping);
    if ('error' in mapping.result) context.onSkipped('ssls', ssl.id, mapping.result.error);
    else if (mapping.result.spec) certificates.push(mapping.result.spec);
  }
  pruneDeleted(certificateCache, storedSsls);
  return {
    routes,
    certificates,
    fallbackSni: context.fallbackSni,
    pluginMetadata: mapPluginMetadata(context),
  };
}

/** Drops the cache entries of objects no longer stored (the cache then holds exactly `stored`). */
function pruneDeleted<T>(cache: Map<string, CachedMapping<T>>, stored: StoredObject[]): void {
  if (cache.size === stored.length) return;
  const ids = new Set(stored.map((object) => object.id));
  for (const id of cache.keys()) if (!ids.has(id)) cache.delete(id);
}

/** The cached mapping of `source` when nothing it was mapped from changed, else a fresh one. */
function mapCached<T>(
  source: StoredObject,
  cached: CachedMapping<T> | undefined,
  context: MapperContext,
  map: (object: StoredObject, context: MapperContext) => T | undefined,
): CachedMapping<T> {
  const view = context.view;
  if (
    cached !== undefined &&
    cached.source === source &&
    cached.reads.every((read) => view.get(read.kind, read.id) === read.found)
  ) {
    return cached;
  }
  if (context.cache) context.cache.lastMapped++;
  const reads: CachedMapping<T>['reads'] = [];
  const recording: MapperContext = {
    ...context,
    view: {
      list: (kind) => view.list(kind),
      get: (kind, id) => {
        const found = view.get(kind, id);
        reads.push({ kind, id, found });
        return found;
      },
    },
  };
  try {
    return { source, reads, result: { spec: map(source, recording) } };
  } catch (error) {
    return { source, reads, result: { error: String(error) } };
  }
}

/** Stored plugin_metadata objects by plugin name (their id); undefined when there are none. */
function mapPluginMetadata(context: MapperContext): Record<string, unknown> | undefined {
  const metadata = context.view.list('plugin_metadata');
  const cached = context.cache?.pluginMetadata;
  if (
    cached !== undefined &&
    cached.sources.length === metadata.length &&
    cached.sources.every((object, index) => object === metadata[index])
  ) {
    return cached.value;
  }
  const value =
    metadata.length === 0
      ? undefined
      : Object.fromEntries(metadata.map((object) => [object.id, object.value]));
  if (context.cache) context.cache.pluginMetadata = { sources: metadata, value };
  return value;
}

function mapRoute(route: StoredObject, context: MapperContext): StreamRouteSpec | undefined {
  const value = route.value;
  // xRPC subordinates are reached only through their superior route (spec 3.4).
  if (isJsonObject(value.protocol) && value.protocol.superior_id !== undefined) return undefined;
  // Checked again with the engine's own parser: one route it cannot compile must not block the rest.
  for (const field of ['remote_addr', 'server_addr'] as const) {
    if (value[field] !== undefined && !isValidIpOrCidr(String(value[field]))) {
      throw new Error(`${field} ${String(value[field])} is not an IP or CIDR the engine accepts`);
    }
  }
  const service =
    value.service_id === undefined ? undefined : context.view.get('services', value.service_id);
  const spec: StreamRouteSpec = {
    id: route.id,
    remoteAddr: optionalString(value.remote_addr),
    serverAddr: optionalString(value.server_addr),
    serverPort: typeof value.server_port === 'number' ? value.server_port : undefined,
    sni: typeof value.sni === 'string' ? normaliseSni(value.sni) : undefined,
    plugins: mergePlugins(value.plugins, service?.value.plugins),
  };
  resolveTrafficSplit(spec.plugins, route, service, context);
  const resolved = resolveUpstream(route, service, context);
  if ('error' in resolved) spec.upstreamError = resolved.error;
  else spec.upstream = resolved.upstream;
  return spec;
}

/**
 * spec 3.6 and 3.3: the route's upstream_id, then its inline upstream, then the service's
 * upstream_id, then the service's inline upstream. A dangling id is an error the engine turns
 * into a prompt close (503).
 */
function resolveUpstream(
  route: StoredObject,
  service: StoredObject | undefined,
  context: MapperContext,
): { upstream: UpstreamSpec } | { error: string } {
  if (route.value.service_id !== undefined && !service) {
    return { error: `service ${String(route.value.service_id)} not found` };
  }
  const owners: { object: StoredObject; label: string }[] = [
    { object: route, label: 'stream_routes' },
  ];
  if (service) owners.push({ object: service, label: 'services' });
  for (const { object, label } of owners) {
    if (object.value.upstream_id !== undefined) {
      const upstream = context.view.get('upstreams', object.value.upstream_id);
      if (!upstream) return { error: `upstream ${String(object.value.upstream_id)} not found` };
      return {
        upstream: mapUpstream(
          upstream.value,
          `/apisix/upstreams/${upstream.id}`,
          String(upstream.modifiedIndex),
          context,
        ),
      };
    }
    if (isJsonObject(object.value.upstream)) {
      return {
        upstream: mapUpstream(
          object.value.upstream,
          `/apisix/${label}/${object.id}#upstream`,
          String(object.modifiedIndex),
          context,
        ),
      };
    }
  }
  return { error: 'no upstream configured' };
}

export function mapUpstream(
  stored: JsonObject,
  key: string,
  version: string,
  context: MapperContext,
): UpstreamSpec {
  const upstream = context.privateKeys.decryptUpstream(stored);
  const timeout = isJsonObject(upstream.timeout) ? upstream.timeout : undefined;
  const spec: UpstreamSpec = {
    key,
    version,
    type: typeof upstream.type === 'string' ? upstream.type : 'roundrobin',
    hashOn: (upstream.hash_on as UpstreamSpec['hashOn'] | undefined) ?? 'vars',
    hashKey: optionalString(upstream.key),
    nodes: mapNodes(upstream.nodes),
    retries: typeof upstream.retries === 'number' ? upstream.retries : undefined,
    retryTimeout: typeof upstream.retry_timeout === 'number' ? upstream.retry_timeout : undefined,
    timeout: timeout
      ? { connect: Number(timeout.connect), send: Number(timeout.send), read: Number(timeout.read) }
      : undefined,
    // In stream, APISIX turns the schema default `http` into tcp; `udp` is only a label (spec 3.8).
    scheme: upstream.scheme === 'tls' ? 'tls' : upstream.scheme === 'udp' ? 'udp' : 'tcp',
    checks: mapChecks(upstream.checks),
  };
  if (isJsonObject(upstream.tls)) {
    const tls = upstream.tls;
    let clientCert = optionalString(tls.client_cert);
    let clientKey = optionalString(tls.client_key);
    if (tls.client_cert_id !== undefined) {
      const ssl = context.view.get('ssls', tls.client_cert_id);
      if (ssl && ssl.value.type === 'client') {
        const plain = context.privateKeys.decryptSsl(ssl.value);
        clientCert = optionalString(plain.cert);
        clientKey = optionalString(plain.key);
      }
    }
    spec.tls = { clientCert, clientKey, verify: tls.verify === true, ca: optionalString(tls.ca) };
  }
  return spec;
}

/** Hash form `{"host:port": weight}` (IPv6 as `[::1]:80`) or array form with priorities. */
export function mapNodes(nodes: unknown): UpstreamNodeSpec[] {
  if (Array.isArray(nodes)) {
    return nodes.filter(isJsonObject).map((node) => ({
      host: stripBrackets(String(node.host)),
      port: Number(node.port ?? 80),
      weight: Number(node.weight),
      priority: typeof node.priority === 'number' ? node.priority : 0,
    }));
  }
  if (!isJsonObject(nodes)) return [];
  return Object.entries(nodes).map(([address, weight]) => {
    const separator = address.lastIndexOf(':');
    const hasPort = separator > address.lastIndexOf(']');
    return {
      host: stripBrackets(hasPort ? address.slice(0, separator) : address),
      port: hasPort ? Number(address.slice(separator + 1)) : 80,
      weight: Number(weight),
      priority: 0,
    };
  });
}

/** Defaults of spec 2.3.1 filled in, since the stored object keeps only what was written. */
function mapChecks(checks: unknown): HealthCheckSpec | undefined {
  if (!isJsonObject(checks)) return undefined;
  const result: HealthCheckSpec = {};
  if (isJsonObject(checks.active)) {
    const active = checks.active;
    const healthy = isJsonObject(active.healthy) ? active.healthy : {};
    const unhealthy = isJsonObject(active.unhealthy) ? active.unhealthy : {};
    result.active = {
      type: (active.type as 'tcp' | 'udp' | 'http' | 'https' | undefined) ?? 'http',
      timeout: numberOr(active.timeout, 1),
      port: typeof active.port === 'number' ? active.port : undefined,
      healthyInterval: numberOr(healthy.interval, 1),
      healthySuccesses: numberOr(healthy.successes, 2),
      unhealthyInterval: numberOr(unhealthy.interval, 1),
      unhealthyTcpFailures: numberOr(unhealthy.tcp_failures, 2),
      unhealthyTimeouts: numberOr(unhealthy.timeouts, 3),
      concurrency: numberOr(active.concurrency, 10),
      // Strait extension (type udp): UTF-8 payload sent and reply expected.
      udpSend: typeof active.udp_request === 'string' ? Buffer.from(active.udp_request) : undefined,
      udpExpect:
        typeof active.udp_response === 'string' ? Buffer.from(active.udp_response) : undefined,
    };
  }
  if (isJsonObject(checks.passive)) {
    const healthy = isJsonObject(checks.passive.healthy) ? checks.passive.healthy : {};
    const unhealthy = isJsonObject(checks.passive.unhealthy) ? checks.passive.unhealthy : {};
    result.passive = {
      healthySuccesses: numberOr(healthy.successes, 5),
      unhealthyTcpFailures: numberOr(unhealthy.tcp_failures, 2),
      unhealthyTimeouts: numberOr(unhealthy.timeouts, 7),
    };
  }
  return result;
}

function mapCertificate(ssl: StoredObject, context: MapperContext): CertificateSpec | undefined {
  const value = context.privateKeys.decryptSsl(ssl.value);
  // Only enabled server certificates take part in SNI selection (spec 3.5).
  if ((value.type ?? 'server') !== 'server' || value.status === 0) return undefined;
  const names =
    typeof value.sni === 'string' ? [value.sni] : Array.isArray(value.snis) ? value.snis : [];
  const pairs: { cert: string; key: string }[] = [];
  if (typeof value.cert === 'string' && typeof value.key === 'string') {
    pairs.push({ cert: value.cert, key: value.key });
  }
  if (Array.isArray(value.certs) && Array.isArray(value.keys)) {
    value.certs.forEach((cert: unknown, index: number) => {
      const key = (value.keys as unknown[])[index];
      if (typeof cert === 'string' && typeof key === 'string') pairs.push({ cert, key });
    });
  }
  const client = isJsonObject(value.client) ? value.client : undefined;
  return {
    id: ssl.id,
    snis: names.map((name) => normaliseSni(String(name))),
    pairs,
    clientCa: optionalString(client?.ca),
    clientDepth: typeof client?.depth === 'number' ? client.depth : client ? 1 : undefined,
    protocols: Array.isArray(value.ssl_protocols)
      ? (value.ssl_protocols as CertificateSpec['protocols'])
      : undefined,
  };
}

/**
 * traffic-split's weighted upstreams as the engine reads them (TrafficSplitWeightedUpstream):
 * `upstream_id` resolved to the stored upstream and an inline `upstream` mapped in place, both
 * into engine UpstreamSpecs. A dangling `upstream_id` is left without `upstream`; the engine then
 * closes connections reaching that rule (500), as APISIX does. The merged plugins object is a
 * fresh copy per mapping, so the conf is rewritten on a copy, never on the stored object.
 */
function resolveTrafficSplit(
  plugins: Record<string, unknown> | undefined,
  route: StoredObject,
  service: StoredObject | undefined,
  context: MapperContext,
): void {
  const conf = plugins?.['traffic-split'];
  if (!plugins || !isJsonObject(conf) || !Array.isArray(conf.rules)) return;
  // The conf is the route's unless only the service has one (spec 3.6 merge).
  const routePlugins = route.value.plugins;
  const owner =
    (isJsonObject(routePlugins) && routePlugins['traffic-split'] !== undefined) || !service
      ? { object: route, label: 'stream_routes' }
      : { object: service, label: 'services' };
  const rules = conf.rules.map((rule: unknown, ruleIndex: number) => {
    if (!isJsonObject(rule) || !Array.isArray(rule.weighted_upstreams)) return rule;
    const weighted = rule.weighted_upstreams.map((entry: unknown, entryIndex: number) => {
      if (!isJsonObject(entry)) return entry;
      if (isJsonObject(entry.upstream)) {
        const key = `/apisix/${owner.label}/${owner.object.id}#traffic-split/${ruleIndex}/${entryIndex}`;
        return {
          ...entry,
          upstream: mapUpstream(entry.upstream, key, String(owner.object.modifiedIndex), context),
        };
      }
      if (entry.upstream_id !== undefined) {
        const stored = context.view.get('upstreams', entry.upstream_id);
        if (!stored) return { ...entry };
        return {
          ...entry,
          upstream: mapUpstream(
            stored.value,
            `/apisix/upstreams/${stored.id}`,
            String(stored.modifiedIndex),
            context,
          ),
        };
      }
      return entry;
    });
    return { ...rule, weighted_upstreams: weighted };
  });
  plugins['traffic-split'] = { ...conf, rules };
}

/** spec 3.6: the route is the base; service plugins fill in only names the route lacks. */
function mergePlugins(
  routePlugins: unknown,
  servicePlugins: unknown,
): Record<string, unknown> | undefined {
  const route = isJsonObject(routePlugins) ? routePlugins : undefined;
  const service = isJsonObject(servicePlugins) ? servicePlugins : undefined;
  if (!route && !service) return undefined;
  return { ...(service ?? {}), ...(route ?? {}) };
}

/** SNIs are matched lower-cased and without one trailing dot (spec 2.4, 3.3). */
export function normaliseSni(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}
