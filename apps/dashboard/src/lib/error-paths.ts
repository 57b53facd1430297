/**
 * Where an APISIX error message belongs in a form. The admin API answers 400 with one text, e.g.
 * `invalid configuration: property "upstream" validation failed: property "timeout" validation
 * failed: property "send" is required`; this turns it into candidate field paths
 * (`upstream.timeout.send`) that the form resolves against the fields it shows.
 */
export interface LocatedError {
  /** Dotted field paths, most specific first; empty when the message names no field. */
  paths: string[];
  /** The text to show beside the field (the nesting prefix removed). */
  detail: string;
  /** The API's full text. */
  message: string;
}

const SPECIAL: Array<[RegExp, (match: RegExpExecArray) => string[]]> = [
  [/^invalid (remote_addr|server_addr): /, (match) => [match[1]]],
  [/^failed to fetch upstream info by upstream id/, () => ['upstream_id']],
  [/^failed to fetch service info by service id/, () => ['service_id']],
  [
    /^(stream route can not set itself as superior_id|failed to fetch stream routes\[|protocol mismatch)/,
    () => ['protocol.superior_id'],
  ],
  [/^unknown protocol \[/, () => ['protocol.name']],
  [
    /^(?:unknown plugin|failed to check the configuration of stream plugin|invalid plugin conf .* for plugin) \[([^\]]+)\]/,
    (match) => [`plugins.${match[1]}`, 'plugins'],
  ],
  [/^failed to fetch ssl info by ssl id/, () => ['tls.client_cert_id']],
  [/IPv6 address must be enclosed|^invalid port /, () => ['nodes']],
  [/`upstream_host` can't be empty/, () => ['upstream_host']],
  [/^missing key$/, () => ['key']],
  [/^failed to parse cert: /, () => ['cert', 'tls.client_cert']],
  [
    /^failed to parse key: |^failed to decrypt previous encrypted key/,
    () => ['key', 'tls.client_key'],
  ],
  [/^mismatched number of certs and keys/, () => ['keys', 'certs']],
  [
    /^failed to handle cert-key pair\[(\d+)\]/,
    (match) => [`certs.${Number(match[1]) - 1}`, 'certs'],
  ],
  [/^failed to validate client_cert/, () => ['client.ca']],
  [/^wrong [a-z_ ]+ id|^missing [a-z_ ]+ id/, () => ['id']],
  [/^the property is forbidden: +(\S+)/, (match) => [match[1]]],
];

export function locateError(message: string): LocatedError {
  for (const [pattern, paths] of SPECIAL) {
    const match = pattern.exec(message);
    if (match) return { paths: paths(match), detail: message, message };
  }
  let rest = message.replace(/^invalid configuration: /, '');
  const segments: string[] = [];
  for (;;) {
    const property = /^property "([^"]+)" validation failed: ([\s\S]*)$/.exec(rest);
    if (property) {
      segments.push(property[1]);
      rest = property[2];
      continue;
    }
    // Array items are numbered from 1 (Lua): item 1 is index 0.
    const item = /^failed to validate item (\d+): ([\s\S]*)$/.exec(rest);
    if (item) {
      segments.push(String(Number(item[1]) - 1));
      rest = item[2];
      continue;
    }
    break;
  }
  const required = /^property "([^"]+)" is required$/.exec(rest);
  if (required) segments.push(required[1]);
  // The chash key check reports its pattern failure with no property name.
  if (segments.length === 0 && /^failed to match pattern ".*" with "/.test(rest))
    segments.push('key');
  if (segments.length === 0) return { paths: [], detail: message, message };
  const paths: string[] = [];
  for (let length = segments.length; length > 0; length -= 1) {
    paths.push(segments.slice(0, length).join('.'));
  }
  return { paths, detail: rest, message };
}

/**
 * The field that should show the error: the registered field whose path is the longest prefix of
 * a candidate, or one that ends with it (an inline upstream's `tls.client_cert_id` is
 * `upstream.tls.client_cert_id` in a stream route form).
 */
export function resolveField(located: LocatedError, fields: Iterable<string>): string | undefined {
  const registered = new Set(fields);
  for (const path of located.paths) {
    if (registered.has(path)) return path;
  }
  for (const path of located.paths) {
    for (const field of registered) {
      if (field.endsWith(`.${path}`)) return field;
    }
  }
  return undefined;
}
