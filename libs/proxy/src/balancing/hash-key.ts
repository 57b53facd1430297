import { hostname } from 'node:os';
import type { UpstreamSpec } from '../config';
import type { ConnectionContext } from '../routing/types';

/** Produces the chash key of a connection; compiled once per upstream version. */
export type HashKeyResolver = (context: ConnectionContext) => string;

type VariableReader = (context: ConnectionContext) => string | undefined;

/** nginx stream variables the engine knows natively; anything else comes from `context.vars`. */
function variableReader(name: string): VariableReader {
  switch (name) {
    case 'remote_addr':
      return (context) => context.remoteAddr;
    case 'remote_port':
      return (context) => String(context.remotePort);
    case 'server_addr':
      return (context) => context.serverAddr;
    case 'server_port':
      return (context) => String(context.serverPort);
    case 'hostname': {
      const machineName = hostname();
      return () => machineName;
    }
    default:
      return (context) => context.vars?.[name];
  }
}

type TemplatePart = { literal: string } | { read: VariableReader };

/**
 * Parses a vars_combinations template as APISIX's core.utils.resolve_var does: `$name` or
 * `${name}` (name = word characters), with `\$` for a literal dollar.
 */
function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  const pattern = /\\\$|\$\{(\w+)\}|\$(\w+)/g;
  let lastEnd = 0;
  for (const match of template.matchAll(pattern)) {
    const start = match.index ?? 0;
    if (start > lastEnd) parts.push({ literal: template.slice(lastEnd, start) });
    const name = match[1] ?? match[2];
    parts.push(name === undefined ? { literal: '$' } : { read: variableReader(name) });
    lastEnd = start + match[0].length;
  }
  if (lastEnd < template.length) parts.push({ literal: template.slice(lastEnd) });
  return parts;
}

function combinationResolver(template: string): HashKeyResolver {
  const parts = parseTemplate(template);
  return (context) => {
    let key = '';
    let resolved = 0;
    for (const part of parts) {
      if ('literal' in part) {
        key += part.literal;
        continue;
      }
      const value = part.read(context);
      if (value !== undefined) {
        key += value;
        resolved++;
      }
    }
    // APISIX: a template whose variables are all nil counts as a nil key.
    return resolved === 0 ? context.remoteAddr : key;
  };
}

/**
 * The chash key per hash_on (spec 3.10): `vars` reads one variable, `vars_combinations` fills a
 * template; `header`, `cookie` and `consumer` have no value in stream. A nil key falls back to
 * remote_addr ("chash_key fetch is nil, use default chash_key remote_addr").
 */
export function compileHashKeyResolver(
  upstream: Pick<UpstreamSpec, 'hashOn' | 'hashKey'>,
): HashKeyResolver {
  const hashKey = upstream.hashKey;
  if (hashKey === undefined || hashKey === '') return (context) => context.remoteAddr;
  switch (upstream.hashOn) {
    case 'vars': {
      const read = variableReader(hashKey);
      return (context) => read(context) ?? context.remoteAddr;
    }
    case 'vars_combinations':
      return combinationResolver(hashKey);
    case 'header':
    case 'cookie':
    case 'consumer':
      return (context) => context.remoteAddr;
  }
  // An adapter that passed an unknown hash_on still gets a working key.
  return (context) => context.remoteAddr;
}
