import { hostname } from 'node:os';
import type { ConnectionSummary } from '../engine/connection-events';
import type { PrereadSession } from '../engine/preread';

/**
 * Reads one stream variable (APISIX `ctx.var`, i.e. nginx stream variables plus what plugins set)
 * as a string, or undefined when it has no value. At preread time `summary` is undefined, so the
 * log-phase variables (`status`, `bytes_sent`, ...) read as undefined there, as in nginx.
 */
export type VarReader = (
  session: PrereadSession,
  summary: ConnectionSummary | undefined,
) => string | undefined;

const machineName = hostname();
const processId = String(process.pid);

function seconds(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : (ms / 1000).toFixed(3);
}

/** `2024-05-01T10:00:00+00:00`, nginx's $time_iso8601 (in UTC). */
function timeIso8601(now: Date): string {
  return `${now.toISOString().slice(0, 19)}+00:00`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `01/May/2024:10:00:00 +0000`, nginx's $time_local (in UTC). */
function timeLocal(now: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return (
    `${pad(now.getUTCDate())}/${MONTHS[now.getUTCMonth()]}/${now.getUTCFullYear()}:` +
    `${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())} +0000`
  );
}

/** Splits `host:port` / `[v6]:port` (summary.node) into its parts. */
function nodePart(node: string | undefined, part: 'ip' | 'port'): string | undefined {
  if (node === undefined) return undefined;
  const separator = node.lastIndexOf(':');
  if (separator < 0) return undefined;
  if (part === 'port') return node.slice(separator + 1);
  const host = node.slice(0, separator);
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/**
 * Compiles a variable name once (at apply time) into a reader. Unknown names read the variables
 * plugins set on the connection (`mqtt_client_id`).
 */
export function compileVarReader(name: string): VarReader {
  switch (name) {
    case 'remote_addr':
      return (session) => session.context.remoteAddr;
    case 'remote_port':
      return (session) => String(session.context.remotePort);
    case 'server_addr':
      return (session) => session.context.serverAddr;
    case 'server_port':
      return (session) => String(session.context.serverPort);
    case 'protocol':
      return (session) => (session.context.protocol === 'udp' ? 'UDP' : 'TCP');
    case 'ssl_server_name':
      return (session) => session.context.sni;
    case 'route_id':
      return (session) => session.route.id;
    case 'connection':
      return (session) => String(session.id);
    case 'hostname':
      return () => machineName;
    case 'pid':
      return () => processId;
    case 'msec':
      return () => (Date.now() / 1000).toFixed(3);
    case 'time_iso8601':
      return () => timeIso8601(new Date());
    case 'time_local':
      return () => timeLocal(new Date());
    case 'status':
      return (_session, summary) => (summary ? String(summary.status) : undefined);
    // nginx: bytes_sent goes to the client, bytes_received comes from it.
    case 'bytes_sent':
      return (_session, summary) => (summary ? String(summary.bytesToClient) : undefined);
    case 'bytes_received':
      return (_session, summary) => (summary ? String(summary.bytesFromClient) : undefined);
    case 'upstream_bytes_sent':
      return (_session, summary) =>
        summary?.node !== undefined ? String(summary.bytesFromClient) : undefined;
    case 'upstream_bytes_received':
      return (_session, summary) =>
        summary?.node !== undefined ? String(summary.bytesToClient) : undefined;
    case 'session_time':
      return (_session, summary) => seconds(summary?.durationMs);
    case 'upstream_connect_time':
      return (_session, summary) => seconds(summary?.connectMs);
    case 'upstream_addr':
      return (_session, summary) => summary?.node;
    case 'balancer_ip':
      return (_session, summary) => nodePart(summary?.node, 'ip');
    case 'balancer_port':
      return (_session, summary) => nodePart(summary?.node, 'port');
    default:
      return (session) => session.context.vars?.[name];
  }
}

type TemplatePart = string | VarReader;

/**
 * A `$a $b` / `${a}` template (APISIX core.utils.resolve_var, used by limit-conn's
 * `key_type: var_combination`). Returns the text and how many variables had a value.
 */
export function compileVarTemplate(
  template: string,
): (session: PrereadSession) => { text: string; resolved: number } {
  const parts: TemplatePart[] = [];
  const pattern = /\\\$|\$\{(\w+)\}|\$(\w+)/g;
  let lastEnd = 0;
  for (const match of template.matchAll(pattern)) {
    const start = match.index ?? 0;
    if (start > lastEnd) parts.push(template.slice(lastEnd, start));
    const name = match[1] ?? match[2];
    parts.push(name === undefined ? '$' : compileVarReader(name));
    lastEnd = start + match[0].length;
  }
  if (lastEnd < template.length) parts.push(template.slice(lastEnd));
  return (session) => {
    let text = '';
    let resolved = 0;
    for (const part of parts) {
      if (typeof part === 'string') {
        text += part;
        continue;
      }
      const value = part(session, undefined);
      if (value !== undefined) {
        text += value;
        resolved++;
      }
    }
    return { text, resolved };
  };
}
