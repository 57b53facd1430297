'use client';

import type { ServiceDto, ServiceDtoWritable } from '@strait/api-client';
import { serviceApi } from '../../lib/api';
import {
  readFlat,
  writeFlat,
  type FieldSpec,
  type FlatValue,
  type FlatValues,
} from '../../lib/flat-fields';
import { Section, SpecFields } from '../form/fields';
import type { EditorDefinition, FormBodyProps } from '../form/form-page';
import { LabelsEditor, readLabels, writeLabels, type LabelRow } from '../form/labels-editor';
import { PluginsEditor, readPlugins, writePlugins, type PluginRow } from '../form/plugins-editor';
import {
  UpstreamChoice,
  readUpstreamChoice,
  writeUpstreamChoice,
  type UpstreamChoiceState,
} from '../form/upstream-choice';

const BASIC: FieldSpec[] = [
  { path: 'name', label: 'Name', kind: 'text', placeholder: 'e.g. databases' },
  { path: 'desc', label: 'Description', kind: 'text' },
];

const HTTP_ONLY: FieldSpec[] = [
  { path: 'hosts', label: 'Hosts', kind: 'lines', placeholder: 'one host name per line' },
  { path: 'enable_websocket', label: 'Enable WebSocket', kind: 'boolean', defaultValue: false },
  { path: 'script', label: 'Script', kind: 'textarea', mono: true },
];

const KNOWN = new Set([
  'name',
  'desc',
  'labels',
  'upstream',
  'upstream_id',
  'plugins',
  'hosts',
  'enable_websocket',
  'script',
]);

export interface ServiceState {
  values: FlatValues;
  labels: LabelRow[];
  upstream: UpstreamChoiceState;
  plugins: PluginRow[];
  extra: Record<string, unknown>;
}

function fromDto(dto: ServiceDto): ServiceState {
  return {
    values: readFlat(dto, [...BASIC, ...HTTP_ONLY]),
    labels: readLabels(dto.labels),
    upstream: readUpstreamChoice(dto),
    plugins: readPlugins(dto.plugins),
    extra: Object.fromEntries(Object.entries(dto).filter(([key]) => !KNOWN.has(key))),
  };
}

function toDto(state: ServiceState): ServiceDtoWritable {
  const out: Record<string, unknown> = {};
  writeFlat(out, state.values, BASIC);
  const labels = writeLabels(state.labels);
  if (labels) out.labels = labels;
  Object.assign(out, writeUpstreamChoice(state.upstream));
  const plugins = writePlugins(state.plugins);
  if (plugins) out.plugins = plugins;
  writeFlat(out, state.values, HTTP_ONLY);
  return { ...out, ...state.extra } as ServiceDtoWritable;
}

function ServiceForm({ state, onChange, idField }: FormBodyProps<ServiceDto, ServiceState>) {
  const setValue = (path: string, value: FlatValue) =>
    onChange({ ...state, values: { ...state.values, [path]: value } });
  const httpConfigured = HTTP_ONLY.some(
    (spec) => state.values[spec.path] !== '' && state.values[spec.path] !== false,
  );
  return (
    <>
      <Section
        title="Basics"
        description="Stream routes that name this service inherit its upstream and plugins."
      >
        {idField}
        <SpecFields specs={BASIC} values={state.values} onChange={setValue} />
        <LabelsEditor rows={state.labels} onChange={(labels) => onChange({ ...state, labels })} />
      </Section>
      <UpstreamChoice
        state={state.upstream}
        onChange={(upstream) => onChange({ ...state, upstream })}
        noneHint="Stream routes using this service then need an upstream of their own."
      />
      <PluginsEditor
        rows={state.plugins}
        onChange={(plugins) => onChange({ ...state, plugins })}
        description="Merged into the stream routes that use this service (a route's own configuration of a plugin wins)."
      />
      <Section
        title="HTTP-only settings"
        collapsible
        defaultOpen={httpConfigured}
        description="Accepted for APISIX compatibility; the stream proxy ignores them."
      >
        <SpecFields specs={HTTP_ONLY} values={state.values} onChange={setValue} />
      </Section>
    </>
  );
}

export const serviceEditor: EditorDefinition<ServiceDto, ServiceDtoWritable, ServiceState> = {
  api: serviceApi,
  title: 'Service',
  empty: () => {
    const state = fromDto({});
    return { ...state, upstream: { ...state.upstream, mode: 'reference' } };
  },
  fromDto,
  toDto,
  duplicate: (dto) => ({ ...dto, ...(dto.name ? { name: `${dto.name} copy` } : {}) }),
  Form: ServiceForm,
};
