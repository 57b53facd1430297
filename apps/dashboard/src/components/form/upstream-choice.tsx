'use client';

import type { UpstreamDto, UpstreamDtoWritable } from '@strait/api-client';
import { upstreamApi } from '../../lib/api';
import { Section } from './fields';
import { ResourceSelect } from './resource-select';
import {
  UpstreamEditor,
  emptyUpstream,
  upstreamFromDto,
  upstreamToDto,
  type UpstreamState,
} from './upstream-editor';

export type UpstreamMode = 'reference' | 'inline' | 'none';

export interface UpstreamChoiceState {
  mode: UpstreamMode;
  upstreamId: string;
  inline: UpstreamState;
}

export function readUpstreamChoice(source: {
  upstream?: UpstreamDto;
  upstream_id?: string | number;
}): UpstreamChoiceState {
  return {
    // upstream_id wins over an inline upstream at runtime, so it is what the form shows.
    mode:
      source.upstream_id !== undefined
        ? 'reference'
        : source.upstream !== undefined
          ? 'inline'
          : 'none',
    upstreamId: source.upstream_id === undefined ? '' : String(source.upstream_id),
    inline: source.upstream ? upstreamFromDto(source.upstream, true) : emptyUpstream(),
  };
}

export function writeUpstreamChoice(state: UpstreamChoiceState): {
  upstream?: UpstreamDtoWritable;
  upstream_id?: string;
} {
  switch (state.mode) {
    case 'reference':
      return state.upstreamId === '' ? {} : { upstream_id: state.upstreamId };
    case 'inline':
      return { upstream: upstreamToDto(state.inline, 'upstream.') };
    case 'none':
      return {};
  }
}

const MODES: Array<[UpstreamMode, string]> = [
  ['reference', 'Upstream object'],
  ['inline', 'Inline upstream'],
  ['none', 'None'],
];

export function UpstreamChoice({
  state,
  onChange,
  noneHint,
}: {
  state: UpstreamChoiceState;
  onChange(state: UpstreamChoiceState): void;
  noneHint: string;
}) {
  return (
    <>
      <Section
        title="Upstream"
        path="upstream"
        description="Where accepted connections are sent."
        actions={
          <div className="segmented" role="radiogroup" aria-label="Upstream kind">
            {MODES.map(([mode, text]) => (
              <button
                key={mode}
                type="button"
                role="radio"
                aria-checked={state.mode === mode}
                className={state.mode === mode ? 'active' : ''}
                onClick={() => onChange({ ...state, mode })}
              >
                {text}
              </button>
            ))}
          </div>
        }
      >
        {state.mode === 'reference' && (
          <ResourceSelect<UpstreamDto>
            api={upstreamApi}
            path="upstream_id"
            label="Upstream"
            value={state.upstreamId}
            onChange={(upstreamId) => onChange({ ...state, upstreamId })}
            emptyLabel="— choose an upstream —"
          />
        )}
        {state.mode === 'inline' && (
          <p className="muted field--wide">Configured in the sections below.</p>
        )}
        {state.mode === 'none' && <p className="muted field--wide">{noneHint}</p>}
      </Section>
      {state.mode === 'inline' && (
        <div className="nested" data-field="upstream">
          <UpstreamEditor
            state={state.inline}
            onChange={(inline) => onChange({ ...state, inline })}
            prefix="upstream."
            inline
          />
        </div>
      )}
    </>
  );
}
