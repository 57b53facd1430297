'use client';

import type { SslDto, UpstreamDto, UpstreamDtoWritable } from '@strait/api-client';
import { sslApi } from '../../lib/api';
import {
  readFlat,
  writeFlat,
  type FieldSpec,
  type FlatValue,
  type FlatValues,
} from '../../lib/flat-fields';
import { CheckboxField, Field, Section, SpecField, SpecFields } from './fields';
import { LabelsEditor, readLabels, writeLabels, type LabelRow } from './labels-editor';
import { NodesEditor, emptyNode, readNodes, writeNodes, type NodeRow } from './nodes-editor';
import { PemInput } from './pem-input';
import { ResourceSelect } from './resource-select';

const PROBE_TYPES = [
  { value: '', label: 'Default (http)' },
  { value: 'tcp', label: 'tcp (connect only)' },
  { value: 'http', label: 'http' },
  { value: 'https', label: 'https' },
];

const BASIC: FieldSpec[] = [
  { path: 'name', label: 'Name', kind: 'text', placeholder: 'e.g. mysql-primary' },
  { path: 'desc', label: 'Description', kind: 'text' },
];

const DISCOVERY: FieldSpec[] = [
  {
    path: 'discovery_type',
    label: 'Discovery type',
    kind: 'text',
    placeholder: 'e.g. dns, consul, nacos',
  },
  { path: 'service_name', label: 'Service name', kind: 'text' },
  { path: 'discovery_args.namespace_id', label: 'Namespace id', kind: 'text' },
  { path: 'discovery_args.group_name', label: 'Group name', kind: 'text' },
];

const TYPE: FieldSpec = {
  path: 'type',
  label: 'Algorithm',
  kind: 'select',
  options: [
    { value: '', label: 'Default (roundrobin)' },
    { value: 'roundrobin', label: 'roundrobin: weighted round robin' },
    { value: 'chash', label: 'chash: consistent hashing' },
    { value: 'least_conn', label: 'least_conn: fewest active connections' },
    { value: 'ewma', label: 'ewma: lowest latency (moving average)' },
  ],
};

const HASH: FieldSpec[] = [
  {
    path: 'hash_on',
    label: 'Hash on',
    kind: 'select',
    options: [
      { value: '', label: 'Default (vars)' },
      { value: 'vars', label: 'vars: a variable' },
      { value: 'vars_combinations', label: 'vars_combinations: a template of variables' },
      { value: 'header', label: 'header (HTTP only)' },
      { value: 'cookie', label: 'cookie (HTTP only)' },
      { value: 'consumer', label: 'consumer (HTTP only)' },
    ],
  },
  {
    path: 'key',
    label: 'Hash key',
    kind: 'text',
    placeholder: 'remote_addr',
    hint: 'Stream variables: remote_addr, server_addr, remote_port, server_name (SNI), mqtt_client_id.',
  },
];

const RETRIES: FieldSpec[] = [
  {
    path: 'retries',
    label: 'Retries',
    kind: 'integer',
    placeholder: 'nodes − 1',
    hint: 'Other nodes tried after a failed connect.',
  },
  {
    path: 'retry_timeout',
    label: 'Retry timeout (s)',
    kind: 'number',
    placeholder: '0',
    hint: '0: no deadline for retries.',
  },
];

const CONNECTION: FieldSpec[] = [
  {
    path: 'scheme',
    label: 'Scheme',
    kind: 'select',
    options: [
      { value: '', label: 'Default (tcp)' },
      { value: 'tcp', label: 'tcp' },
      { value: 'tls', label: 'tls: TLS to the nodes' },
      { value: 'udp', label: 'udp' },
      { value: 'http', label: 'http (means tcp for stream routes)' },
      { value: 'https', label: 'https (HTTP routes only)' },
      { value: 'grpc', label: 'grpc (HTTP routes only)' },
      { value: 'grpcs', label: 'grpcs (HTTP routes only)' },
      { value: 'kafka', label: 'kafka (HTTP routes only)' },
    ],
  },
  { path: 'timeout.connect', label: 'Connect timeout (s)', kind: 'number', placeholder: '60' },
  { path: 'timeout.send', label: 'Send timeout (s)', kind: 'number', placeholder: '600' },
  { path: 'timeout.read', label: 'Read timeout (s)', kind: 'number', placeholder: '600' },
];

const TLS_VERIFY: FieldSpec = {
  path: 'tls.verify',
  label: 'Verify the node certificate',
  kind: 'boolean',
  defaultValue: false,
  hint: 'APISIX applies it to kafka upstreams only.',
};

const HTTP_PROBE = (path: string) => (values: FlatValues) =>
  ['', 'http', 'https'].includes(String(values[path] ?? ''));

interface ConditionalSpec extends FieldSpec {
  when?(values: FlatValues): boolean;
}

const ACTIVE: ConditionalSpec[] = [
  { path: 'checks.active.type', label: 'Probe', kind: 'select', options: PROBE_TYPES },
  { path: 'checks.active.timeout', label: 'Probe timeout (s)', kind: 'number', placeholder: '1' },
  {
    path: 'checks.active.concurrency',
    label: 'Concurrent probes',
    kind: 'integer',
    placeholder: '10',
  },
  { path: 'checks.active.port', label: 'Probe port', kind: 'integer', placeholder: 'node port' },
  {
    path: 'checks.active.healthy.interval',
    label: 'Healthy: interval (s)',
    kind: 'integer',
    placeholder: '1',
  },
  {
    path: 'checks.active.healthy.successes',
    label: 'Healthy: successes',
    kind: 'integer',
    placeholder: '2',
  },
  {
    path: 'checks.active.unhealthy.interval',
    label: 'Unhealthy: interval (s)',
    kind: 'integer',
    placeholder: '1',
  },
  {
    path: 'checks.active.unhealthy.tcp_failures',
    label: 'Unhealthy: TCP failures',
    kind: 'integer',
    placeholder: '2',
  },
  {
    path: 'checks.active.unhealthy.timeouts',
    label: 'Unhealthy: timeouts',
    kind: 'integer',
    placeholder: '3',
  },
  {
    path: 'checks.active.host',
    label: 'HTTP host',
    kind: 'text',
    when: HTTP_PROBE('checks.active.type'),
  },
  {
    path: 'checks.active.http_path',
    label: 'HTTP path',
    kind: 'text',
    placeholder: '/',
    when: HTTP_PROBE('checks.active.type'),
  },
  {
    path: 'checks.active.http_method',
    label: 'HTTP method',
    kind: 'select',
    options: [
      '',
      'GET',
      'POST',
      'PUT',
      'DELETE',
      'PATCH',
      'HEAD',
      'OPTIONS',
      'CONNECT',
      'TRACE',
      'PURGE',
    ].map((value) => ({
      value,
      label: value || 'Default (GET)',
    })),
    when: HTTP_PROBE('checks.active.type'),
  },
  {
    path: 'checks.active.http_req_body',
    label: 'HTTP request body',
    kind: 'text',
    when: HTTP_PROBE('checks.active.type'),
  },
  {
    path: 'checks.active.healthy.http_statuses',
    label: 'Healthy: HTTP statuses',
    kind: 'integerList',
    placeholder: '200, 302',
    when: HTTP_PROBE('checks.active.type'),
  },
  {
    path: 'checks.active.unhealthy.http_failures',
    label: 'Unhealthy: HTTP failures',
    kind: 'integer',
    placeholder: '5',
    when: HTTP_PROBE('checks.active.type'),
  },
  {
    path: 'checks.active.unhealthy.http_statuses',
    label: 'Unhealthy: HTTP statuses',
    kind: 'integerList',
    placeholder: '429, 404, 500, 501, 502, 503, 504, 505',
    when: HTTP_PROBE('checks.active.type'),
  },
  {
    path: 'checks.active.req_headers',
    label: 'HTTP request headers',
    kind: 'lines',
    placeholder: 'User-Agent: strait-health',
    hint: 'One "Name: value" per line.',
    when: HTTP_PROBE('checks.active.type'),
  },
  {
    path: 'checks.active.https_verify_certificate',
    label: 'Verify the certificate of https probes',
    kind: 'boolean',
    defaultValue: true,
    when: (values) => values['checks.active.type'] === 'https',
  },
];

const PASSIVE: ConditionalSpec[] = [
  { path: 'checks.passive.type', label: 'Observe', kind: 'select', options: PROBE_TYPES },
  {
    path: 'checks.passive.healthy.successes',
    label: 'Healthy: successes',
    kind: 'integer',
    placeholder: '5',
  },
  {
    path: 'checks.passive.unhealthy.tcp_failures',
    label: 'Unhealthy: TCP failures',
    kind: 'integer',
    placeholder: '2',
  },
  {
    path: 'checks.passive.unhealthy.timeouts',
    label: 'Unhealthy: timeouts',
    kind: 'integer',
    placeholder: '7',
  },
  {
    path: 'checks.passive.healthy.http_statuses',
    label: 'Healthy: HTTP statuses',
    kind: 'integerList',
    placeholder: '200, 201, …, 308',
    when: HTTP_PROBE('checks.passive.type'),
  },
  {
    path: 'checks.passive.unhealthy.http_failures',
    label: 'Unhealthy: HTTP failures',
    kind: 'integer',
    placeholder: '5',
    when: HTTP_PROBE('checks.passive.type'),
  },
  {
    path: 'checks.passive.unhealthy.http_statuses',
    label: 'Unhealthy: HTTP statuses',
    kind: 'integerList',
    placeholder: '429, 500, 503',
    when: HTTP_PROBE('checks.passive.type'),
  },
];

const HTTP_ONLY: FieldSpec[] = [
  {
    path: 'pass_host',
    label: 'Pass host',
    kind: 'select',
    options: [
      { value: '', label: 'Default (pass)' },
      { value: 'pass', label: 'pass' },
      { value: 'node', label: 'node' },
      { value: 'rewrite', label: 'rewrite' },
    ],
  },
  {
    path: 'upstream_host',
    label: 'Upstream host',
    kind: 'text',
    hint: 'Required when pass host is rewrite.',
  },
  {
    path: 'keepalive_pool.size',
    label: 'Keepalive pool size',
    kind: 'integer',
    placeholder: '320',
  },
  {
    path: 'keepalive_pool.idle_timeout',
    label: 'Keepalive idle timeout (s)',
    kind: 'number',
    placeholder: '60',
  },
  {
    path: 'keepalive_pool.requests',
    label: 'Keepalive requests',
    kind: 'integer',
    placeholder: '1000',
  },
];

const ALL_SPECS: FieldSpec[] = [
  ...BASIC,
  ...DISCOVERY,
  TYPE,
  ...HASH,
  ...RETRIES,
  ...CONNECTION,
  TLS_VERIFY,
  ...ACTIVE,
  ...PASSIVE,
  ...HTTP_ONLY,
];

const KNOWN_KEYS = new Set([
  'name',
  'desc',
  'labels',
  'nodes',
  'retries',
  'retry_timeout',
  'timeout',
  'tls',
  'keepalive_pool',
  'type',
  'checks',
  'hash_on',
  'key',
  'scheme',
  'discovery_type',
  'discovery_args',
  'pass_host',
  'upstream_host',
  'service_name',
  'create_time',
  'update_time',
]);

export interface UpstreamState {
  values: FlatValues;
  labels: LabelRow[];
  source: 'nodes' | 'discovery';
  nodes: NodeRow[];
  nodesAsMap: boolean;
  tlsMode: 'none' | 'pem' | 'ssl';
  clientCert: string;
  /** A newly pasted key; empty keeps `storedClientKey`. */
  clientKey: string;
  /** The stored key as the API returns it (encrypted at rest): sent back unchanged. */
  storedClientKey?: string;
  clientCertId: string;
  activeChecks: boolean;
  passiveChecks: boolean;
  /** Fields the form has no input for (e.g. an inline upstream's id): kept as they were. */
  extra: Record<string, unknown>;
}

export function emptyUpstream(): UpstreamState {
  return {
    ...upstreamFromDto({}),
    nodes: [emptyNode()],
  };
}

export function upstreamFromDto(
  dto: UpstreamDto | Record<string, unknown>,
  keepId = false,
): UpstreamState {
  const source = dto as Record<string, unknown>;
  const nodes = readNodes(source.nodes);
  const tls = (source.tls ?? {}) as {
    client_cert?: string;
    client_key?: string;
    client_cert_id?: string | number;
  };
  const checks = (source.checks ?? {}) as { active?: unknown; passive?: unknown };
  const extra = Object.fromEntries(
    Object.entries(source).filter(([key]) => !KNOWN_KEYS.has(key) && (keepId || key !== 'id')),
  );
  const storedKey = tls.client_key;
  return {
    values: readFlat(source, ALL_SPECS),
    labels: readLabels(source.labels as Record<string, string> | undefined),
    source:
      source.discovery_type !== undefined || source.service_name !== undefined
        ? 'discovery'
        : 'nodes',
    nodes: nodes.rows,
    nodesAsMap: nodes.asMap,
    tlsMode:
      tls.client_cert_id !== undefined ? 'ssl' : tls.client_cert !== undefined ? 'pem' : 'none',
    clientCert: tls.client_cert ?? '',
    // A PEM key is shown; an encrypted one stays hidden and is sent back as it is.
    clientKey: storedKey?.startsWith('-----') ? storedKey : '',
    storedClientKey: storedKey?.startsWith('-----') ? undefined : storedKey,
    clientCertId: tls.client_cert_id === undefined ? '' : String(tls.client_cert_id),
    activeChecks: checks.active !== undefined,
    passiveChecks: checks.passive !== undefined,
    extra,
  };
}

/** The upstream object; `prefix` (`upstream.`) only qualifies the paths of local errors. */
export function upstreamToDto(state: UpstreamState, prefix = ''): UpstreamDtoWritable {
  const out: Record<string, unknown> = {};
  const values = state.values;
  writeFlat(out, values, BASIC, prefix);
  const labels = writeLabels(state.labels, `${prefix}labels`);
  if (labels) out.labels = labels;
  writeFlat(out, values, [TYPE], prefix);
  if (values.type === 'chash') writeFlat(out, values, HASH, prefix);
  if (state.source === 'nodes') {
    out.nodes = writeNodes(state.nodes, state.nodesAsMap, `${prefix}nodes`);
  } else {
    writeFlat(out, values, DISCOVERY, prefix);
  }
  writeFlat(out, values, RETRIES, prefix);
  writeFlat(out, values, CONNECTION, prefix);
  const tls: Record<string, unknown> = {};
  if (state.tlsMode === 'pem') {
    if (state.clientCert.trim() !== '') tls.client_cert = state.clientCert;
    const key = state.clientKey.trim() !== '' ? state.clientKey : state.storedClientKey;
    if (key !== undefined) tls.client_key = key;
  }
  if (state.tlsMode === 'ssl' && state.clientCertId !== '') tls.client_cert_id = state.clientCertId;
  writeFlat(
    tls,
    { verify: values['tls.verify'] },
    [{ ...TLS_VERIFY, path: 'verify' }],
    `${prefix}tls.`,
  );
  if (Object.keys(tls).length > 0) out.tls = tls;
  if (state.activeChecks) {
    out.checks = state.passiveChecks ? { active: {}, passive: {} } : { active: {} };
    writeFlat(out, values, visible(ACTIVE, values), prefix);
    if (state.passiveChecks) writeFlat(out, values, visible(PASSIVE, values), prefix);
  }
  writeFlat(out, values, HTTP_ONLY, prefix);
  return { ...out, ...state.extra } as UpstreamDtoWritable;
}

function visible(specs: readonly ConditionalSpec[], values: FlatValues): ConditionalSpec[] {
  return specs.filter((spec) => !spec.when || spec.when(values));
}

/** An inline upstream as a one-line summary (lists). */
export function describeUpstream(upstream: UpstreamDto | undefined): string {
  if (!upstream) return '';
  const nodes = readNodes(upstream.nodes).rows;
  if (upstream.service_name) return `discovery: ${upstream.service_name}`;
  const first = nodes
    .slice(0, 2)
    .map((node) => (node.port ? `${node.host}:${node.port}` : node.host));
  return `${first.join(', ')}${nodes.length > 2 ? ` +${nodes.length - 2}` : ''}` || 'no nodes';
}

export function UpstreamEditor({
  state,
  onChange,
  prefix = '',
  inline = false,
}: {
  state: UpstreamState;
  onChange(state: UpstreamState): void;
  prefix?: string;
  inline?: boolean;
}) {
  const patch = (changes: Partial<UpstreamState>) => onChange({ ...state, ...changes });
  const setValue = (path: string, value: FlatValue) =>
    onChange({ ...state, values: { ...state.values, [path]: value } });
  const values = state.values;
  const spec = (field: FieldSpec) => (
    <SpecField key={field.path} spec={field} values={values} onChange={setValue} prefix={prefix} />
  );
  const httpConfigured = HTTP_ONLY.some((field) => values[field.path] !== '');

  return (
    <>
      {inline ? (
        <Section
          title="Inline upstream: name and labels"
          collapsible
          defaultOpen={Boolean(values.name || values.desc)}
        >
          <SpecFields specs={BASIC} values={values} onChange={setValue} prefix={prefix} />
          <LabelsEditor
            path={`${prefix}labels`}
            rows={state.labels}
            onChange={(labels) => patch({ labels })}
          />
        </Section>
      ) : null}

      <Section
        title="Targets"
        path={`${prefix}nodes`}
        description="Where connections go: fixed nodes, or a service-discovery registry."
        actions={
          <div className="segmented" role="radiogroup" aria-label="Target source">
            {(['nodes', 'discovery'] as const).map((source) => (
              <button
                key={source}
                type="button"
                role="radio"
                aria-checked={state.source === source}
                className={state.source === source ? 'active' : ''}
                onClick={() => patch({ source })}
              >
                {source === 'nodes' ? 'Nodes' : 'Discovery'}
              </button>
            ))}
          </div>
        }
      >
        {state.source === 'nodes' ? (
          <NodesEditor
            path={`${prefix}nodes`}
            rows={state.nodes}
            onChange={(nodes) => patch({ nodes })}
          />
        ) : (
          <SpecFields specs={DISCOVERY} values={values} onChange={setValue} prefix={prefix} />
        )}
      </Section>

      <Section
        title="Load balancing"
        description="How a node is picked for each connection, and how many others are tried when it fails."
      >
        {spec(TYPE)}
        {values.type === 'chash' && HASH.map(spec)}
        {RETRIES.map(spec)}
      </Section>

      <Section
        title="Connection"
        description="Protocol to the nodes and timeouts, in seconds (all three or none)."
      >
        {CONNECTION.map(spec)}
      </Section>

      <Section
        title="TLS to the nodes"
        collapsible
        defaultOpen={state.tlsMode !== 'none' || values.scheme === 'tls'}
        description="A client certificate presented to the nodes (scheme tls)."
        path={`${prefix}tls`}
      >
        <Field path={`${prefix}tls.mode`} label="Client certificate" wide>
          {(id) => (
            <div className="segmented" role="radiogroup" id={id} aria-label="Client certificate">
              {(
                [
                  ['none', 'None'],
                  ['pem', 'Paste PEM'],
                  ['ssl', 'SSL object (type client)'],
                ] as const
              ).map(([mode, text]) => (
                <button
                  key={mode}
                  type="button"
                  role="radio"
                  aria-checked={state.tlsMode === mode}
                  className={state.tlsMode === mode ? 'active' : ''}
                  onClick={() => patch({ tlsMode: mode })}
                >
                  {text}
                </button>
              ))}
            </div>
          )}
        </Field>
        {state.tlsMode === 'pem' && (
          <>
            <PemInput
              path={`${prefix}tls.client_cert`}
              label="Client certificate (PEM)"
              kind="certificate"
              value={state.clientCert}
              onChange={(clientCert) => patch({ clientCert })}
            />
            <PemInput
              path={`${prefix}tls.client_key`}
              label="Client key (PEM)"
              kind="key"
              value={state.clientKey}
              onChange={(clientKey) => patch({ clientKey })}
              storedPlaceholder={
                state.storedClientKey
                  ? 'Stored encrypted. Leave empty to keep it, or paste a new key.'
                  : undefined
              }
              hint="Stored encrypted; the API never returns it in plain text."
            />
          </>
        )}
        {state.tlsMode === 'ssl' && (
          <ResourceSelect<SslDto>
            api={sslApi}
            path={`${prefix}tls.client_cert_id`}
            label="SSL object"
            value={state.clientCertId}
            onChange={(clientCertId) => patch({ clientCertId })}
            filter={(item) => item.value.type === 'client'}
            describe={(item) =>
              `${item.value.desc ?? 'client certificate'} (${item.key.split('/').pop()})`
            }
            hint="Only SSL objects of type client can be used."
          />
        )}
        {spec(TLS_VERIFY)}
      </Section>

      <Section
        title="Health checks"
        path={`${prefix}checks`}
        description="Active checks probe every node; passive checks watch real connections (they need active checks)."
      >
        <CheckboxField
          path={`${prefix}checks.active`}
          label="Active checks"
          checked={state.activeChecks}
          onChange={(activeChecks) =>
            onChange({
              ...state,
              activeChecks,
              passiveChecks: activeChecks && state.passiveChecks,
              values:
                activeChecks && values['checks.active.type'] === ''
                  ? { ...values, 'checks.active.type': 'tcp' }
                  : values,
            })
          }
        />
        <CheckboxField
          path={`${prefix}checks.passive`}
          label="Passive checks"
          checked={state.passiveChecks}
          hint={
            state.activeChecks
              ? undefined
              : 'Enable active checks first (APISIX rejects passive checks alone).'
          }
          onChange={(passiveChecks) =>
            onChange({
              ...state,
              passiveChecks,
              activeChecks: state.activeChecks || passiveChecks,
              values: {
                ...values,
                ...(passiveChecks && values['checks.passive.type'] === ''
                  ? { 'checks.passive.type': 'tcp' }
                  : {}),
                ...(passiveChecks && !state.activeChecks && values['checks.active.type'] === ''
                  ? { 'checks.active.type': 'tcp' }
                  : {}),
              },
            })
          }
        />
        {state.activeChecks && (
          <>
            <h3 className="subheading">Active</h3>
            {visible(ACTIVE, values).map(spec)}
          </>
        )}
        {state.activeChecks && state.passiveChecks && (
          <>
            <h3 className="subheading">Passive</h3>
            {visible(PASSIVE, values).map(spec)}
          </>
        )}
      </Section>

      <Section
        title="HTTP-only settings"
        collapsible
        defaultOpen={httpConfigured}
        description="Accepted for APISIX compatibility; the stream proxy ignores them."
      >
        {HTTP_ONLY.map(spec)}
      </Section>
    </>
  );
}
