'use client';

import type { ServiceDto, StreamRouteDto, StreamRouteDtoWritable } from '@strait/api-client';
import { serviceApi, streamRouteApi } from '../../lib/api';
import {
  readFlat,
  writeFlat,
  type FieldSpec,
  type FlatValue,
  type FlatValues,
} from '../../lib/flat-fields';
import { CheckboxField, Section, SpecField, SpecFields } from '../form/fields';
import type { EditorDefinition, FormBodyProps } from '../form/form-page';
import { LabelsEditor, readLabels, writeLabels, type LabelRow } from '../form/labels-editor';
import { PluginsEditor, readPlugins, writePlugins, type PluginRow } from '../form/plugins-editor';
import { ResourceSelect } from '../form/resource-select';
import {
  UpstreamChoice,
  readUpstreamChoice,
  writeUpstreamChoice,
  type UpstreamChoiceState,
} from '../form/upstream-choice';

const BASIC: FieldSpec[] = [
  { path: 'name', label: 'Name', kind: 'text', placeholder: 'e.g. mysql' },
  { path: 'desc', label: 'Description', kind: 'text' },
];

const MATCH: FieldSpec[] = [
  {
    path: 'remote_addr',
    label: 'Client address',
    kind: 'text',
    placeholder: 'any',
    hint: 'remote_addr: an IPv4/IPv6 address or CIDR block, e.g. 10.0.0.0/8.',
  },
  {
    path: 'server_addr',
    label: 'Listener address',
    kind: 'text',
    placeholder: 'any',
    hint: 'server_addr: the local address the connection arrived on.',
  },
  {
    path: 'server_port',
    label: 'Listener port',
    kind: 'integer',
    placeholder: 'any',
    hint: 'server_port: one of the stream_proxy listeners of config.yaml.',
  },
  {
    path: 'sni',
    label: 'TLS server name',
    kind: 'text',
    placeholder: 'any',
    hint: 'sni: on TLS listeners, e.g. db.example.com or *.example.com.',
  },
];

const PROTOCOL: FieldSpec[] = [
  {
    path: 'protocol.name',
    label: 'Protocol name',
    kind: 'text',
    placeholder: 'e.g. redis',
    hint: 'Must be enabled in xrpc.protocols.',
  },
  { path: 'protocol.superior_id', label: 'Superior stream route id', kind: 'text' },
  {
    path: 'protocol.conf',
    label: 'Protocol configuration (JSON object)',
    kind: 'json',
    placeholder: '{}',
  },
  {
    path: 'protocol.logger',
    label: 'Loggers (JSON array)',
    kind: 'json',
    placeholder: '[{"name": "syslog", "filter": [], "conf": {}}]',
  },
];

const KNOWN = new Set([
  'name',
  'desc',
  'labels',
  'remote_addr',
  'server_addr',
  'server_port',
  'sni',
  'upstream',
  'upstream_id',
  'service_id',
  'plugins',
  'protocol',
]);

export interface StreamRouteState {
  values: FlatValues;
  labels: LabelRow[];
  upstream: UpstreamChoiceState;
  serviceId: string;
  plugins: PluginRow[];
  protocol: boolean;
  extra: Record<string, unknown>;
}

function fromDto(dto: StreamRouteDto): StreamRouteState {
  return {
    values: readFlat(dto, [...BASIC, ...MATCH, ...PROTOCOL]),
    labels: readLabels(dto.labels),
    upstream: readUpstreamChoice(dto),
    serviceId: dto.service_id === undefined ? '' : String(dto.service_id),
    plugins: readPlugins(dto.plugins),
    protocol: dto.protocol !== undefined,
    extra: Object.fromEntries(Object.entries(dto).filter(([key]) => !KNOWN.has(key))),
  };
}

function toDto(state: StreamRouteState): StreamRouteDtoWritable {
  const out: Record<string, unknown> = {};
  writeFlat(out, state.values, BASIC);
  const labels = writeLabels(state.labels);
  if (labels) out.labels = labels;
  writeFlat(out, state.values, MATCH);
  Object.assign(out, writeUpstreamChoice(state.upstream));
  if (state.serviceId !== '') out.service_id = state.serviceId;
  const plugins = writePlugins(state.plugins);
  if (plugins) out.plugins = plugins;
  if (state.protocol) writeFlat(out, state.values, PROTOCOL);
  return { ...out, ...state.extra } as StreamRouteDtoWritable;
}

function StreamRouteForm({
  state,
  onChange,
  idField,
}: FormBodyProps<StreamRouteDto, StreamRouteState>) {
  const setValue = (path: string, value: FlatValue) =>
    onChange({ ...state, values: { ...state.values, [path]: value } });
  return (
    <>
      <Section title="Basics">
        {idField}
        <SpecFields specs={BASIC} values={state.values} onChange={setValue} />
        <LabelsEditor rows={state.labels} onChange={(labels) => onChange({ ...state, labels })} />
      </Section>
      <Section
        title="Match"
        description="A connection matches when every field that is set matches; an empty field matches anything."
      >
        {MATCH.map((spec) => (
          <SpecField key={spec.path} spec={spec} values={state.values} onChange={setValue} />
        ))}
      </Section>
      <UpstreamChoice
        state={state.upstream}
        onChange={(upstream) => onChange({ ...state, upstream })}
        noneHint="The service's upstream is used; with no service either, matching connections are closed."
      />
      <Section
        title="Service"
        description="A service fills in the upstream and the plugins this route does not set."
      >
        <ResourceSelect<ServiceDto>
          api={serviceApi}
          path="service_id"
          label="Service"
          value={state.serviceId}
          onChange={(serviceId) => onChange({ ...state, serviceId })}
        />
      </Section>
      <PluginsEditor rows={state.plugins} onChange={(plugins) => onChange({ ...state, plugins })} />
      <Section
        title="xRPC protocol"
        collapsible
        defaultOpen={state.protocol}
        path="protocol"
        description="Protocol-aware proxying (APISIX xRPC)."
      >
        <CheckboxField
          path="protocol.enabled"
          label="Use an xRPC protocol"
          checked={state.protocol}
          onChange={(protocol) => onChange({ ...state, protocol })}
          wide
        />
        {state.protocol && (
          <SpecFields specs={PROTOCOL} values={state.values} onChange={setValue} />
        )}
      </Section>
    </>
  );
}

export const streamRouteEditor: EditorDefinition<
  StreamRouteDto,
  StreamRouteDtoWritable,
  StreamRouteState
> = {
  api: streamRouteApi,
  title: 'Stream route',
  // A new route starts with an inline upstream, as in APISIX's examples.
  empty: () => {
    const state = fromDto({});
    return { ...state, upstream: { ...state.upstream, mode: 'inline' } };
  },
  fromDto,
  toDto,
  duplicate: (dto) => ({ ...dto, ...(dto.name ? { name: `${dto.name} copy` } : {}) }),
  Form: StreamRouteForm,
};
