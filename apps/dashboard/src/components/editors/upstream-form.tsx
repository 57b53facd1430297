'use client';

import type { UpstreamDto, UpstreamDtoWritable } from '@strait/api-client';
import { upstreamApi } from '../../lib/api';
import { Section, SpecFields } from '../form/fields';
import type { EditorDefinition, FormBodyProps } from '../form/form-page';
import { LabelsEditor } from '../form/labels-editor';
import { UpstreamHealthPanel } from '../live/health';
import {
  UpstreamEditor,
  emptyUpstream,
  upstreamFromDto,
  upstreamToDto,
  type UpstreamState,
} from '../form/upstream-editor';

const BASIC = [
  { path: 'name', label: 'Name', kind: 'text' as const, placeholder: 'e.g. mysql-primary' },
  { path: 'desc', label: 'Description', kind: 'text' as const },
];

function UpstreamForm({ state, onChange, idField }: FormBodyProps<UpstreamDto, UpstreamState>) {
  return (
    <>
      <Section
        title="Basics"
        description="Stream routes and services refer to an upstream by its id."
      >
        {idField}
        <SpecFields
          specs={BASIC}
          values={state.values}
          onChange={(path, value) =>
            onChange({ ...state, values: { ...state.values, [path]: value } })
          }
        />
        <LabelsEditor rows={state.labels} onChange={(labels) => onChange({ ...state, labels })} />
      </Section>
      <UpstreamEditor state={state} onChange={onChange} />
    </>
  );
}

export const upstreamEditor: EditorDefinition<UpstreamDto, UpstreamDtoWritable, UpstreamState> = {
  api: upstreamApi,
  title: 'Upstream',
  empty: emptyUpstream,
  fromDto: (dto) => upstreamFromDto(dto),
  toDto: (state) => upstreamToDto(state),
  duplicate: (dto) => ({ ...dto, ...(dto.name ? { name: `${dto.name} copy` } : {}) }),
  Form: UpstreamForm,
  Aside: UpstreamHealthPanel,
};
