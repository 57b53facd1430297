'use client';

import type { Client, SslDto, SslDtoWritable } from '@strait/api-client';
import { sslApi } from '../../lib/api';
import {
  FieldError,
  readFlat,
  writeFlat,
  type FieldSpec,
  type FlatValue,
  type FlatValues,
} from '../../lib/flat-fields';
import { summarizePem } from '../../lib/x509';
import { Icon } from '../icons';
import { CheckboxField, Field, Section, SelectField, SpecFields } from '../form/fields';
import type { EditorDefinition, FormBodyProps } from '../form/form-page';
import { useFormContext } from '../form/form-context';
import { LabelsEditor, readLabels, writeLabels, type LabelRow } from '../form/labels-editor';
import { PemInput } from '../form/pem-input';

const BASIC: FieldSpec[] = [
  {
    path: 'desc',
    label: 'Description',
    kind: 'text',
    placeholder: 'e.g. public wildcard',
  },
];

const CLIENT: FieldSpec[] = [
  {
    path: 'client.depth',
    label: 'Verification depth',
    kind: 'integer',
    placeholder: '1',
    hint: 'Longest client certificate chain accepted.',
  },
  {
    path: 'client.skip_mtls_uri_regex',
    label: 'Skip mTLS for URIs (HTTP only)',
    kind: 'lines',
    placeholder: 'one regular expression per line',
  },
];

const PROTOCOLS = ['TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
type Protocol = (typeof PROTOCOLS)[number];

const KNOWN = new Set([
  'desc',
  'labels',
  'type',
  'cert',
  'key',
  'certs',
  'keys',
  'sni',
  'snis',
  'client',
  'status',
  'ssl_protocols',
]);

interface Pair {
  cert: string;
  key: string;
}

export interface SslState {
  values: FlatValues;
  labels: LabelRow[];
  type: '' | 'server' | 'client';
  enabled: boolean;
  /** The stored object had an explicit status: keep writing it. */
  hadStatus: boolean;
  names: string;
  /** Store the names as `snis` even when there is one (it was stored that way). */
  namesAsList: boolean;
  pairs: Pair[];
  /** Editing a stored object: its keys exist but GET never returns them. */
  keysStored: boolean;
  storedExtraPairs: number;
  clientVerify: boolean;
  clientCa: string;
  protocols: Protocol[];
  extra: Record<string, unknown>;
}

function fromDto(dto: SslDto, { isNew }: { isNew: boolean }): SslState {
  const certs = dto.certs ?? [];
  const keys = dto.keys ?? [];
  return {
    values: readFlat(dto, [...BASIC, ...CLIENT]),
    labels: readLabels(dto.labels),
    type: dto.type ?? '',
    enabled: dto.status !== 0,
    hadStatus: dto.status !== undefined,
    names: (dto.snis ?? (dto.sni !== undefined ? [dto.sni] : [])).join('\n'),
    namesAsList: dto.snis !== undefined,
    pairs: [
      { cert: dto.cert ?? '', key: dto.key ?? '' },
      ...certs.map((cert, index) => ({ cert, key: keys[index] ?? '' })),
    ],
    keysStored: !isNew,
    storedExtraPairs: isNew ? 0 : certs.length,
    clientVerify: dto.client !== undefined,
    clientCa: dto.client?.ca ?? '',
    protocols: (dto.ssl_protocols ?? []) as Protocol[],
    extra: Object.fromEntries(Object.entries(dto).filter(([key]) => !KNOWN.has(key))),
  };
}

function splitNames(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((name) => name.trim())
    .filter(Boolean);
}

function toDto(state: SslState): SslDtoWritable {
  const out: Record<string, unknown> = {};
  writeFlat(out, state.values, BASIC);
  const labels = writeLabels(state.labels);
  if (labels) out.labels = labels;
  if (state.type !== '') out.type = state.type;
  if (!state.enabled || state.hadStatus) out.status = state.enabled ? 1 : 0;
  const names = splitNames(state.names);
  if (names.length === 1 && !state.namesAsList) out.sni = names[0];
  else if (names.length > 0) out.snis = names;

  const [first, ...more] = state.pairs;
  if (first.cert.trim() !== '') out.cert = first.cert;
  if (first.key.trim() !== '') out.key = first.key;
  else if (first.cert.trim() !== '' && !state.keysStored) {
    throw new FieldError('key', 'Paste the private key of this certificate');
  }
  const extra = more.filter((pair) => pair.cert.trim() !== '' || pair.key.trim() !== '');
  if (extra.length > 0) {
    out.certs = extra.map((pair) => pair.cert);
    const givenKeys = extra.filter((pair) => pair.key.trim() !== '').length;
    const keepStored =
      state.keysStored && givenKeys === 0 && extra.length === state.storedExtraPairs;
    if (!keepStored) {
      if (givenKeys !== extra.length) {
        throw new FieldError(
          'keys',
          state.keysStored
            ? 'Paste the key of every additional certificate (stored keys are never shown, so they cannot be kept when the pairs change)'
            : 'Every additional certificate needs its private key',
        );
      }
      out.keys = extra.map((pair) => pair.key);
    }
  }
  if (state.clientVerify) {
    const client: Record<string, unknown> = { ca: state.clientCa };
    writeFlat(
      client,
      { depth: state.values['client.depth'], skip: state.values['client.skip_mtls_uri_regex'] },
      [
        { ...CLIENT[0], path: 'depth' },
        { ...CLIENT[1], path: 'skip' },
      ],
      'client.',
    );
    if (client.skip !== undefined) {
      client.skip_mtls_uri_regex = client.skip;
      delete client.skip;
    }
    out.client = client;
  }
  if (state.protocols.length > 0)
    out.ssl_protocols = PROTOCOLS.filter((protocol) => state.protocols.includes(protocol));
  return { ...out, ...state.extra } as SslDtoWritable;
}

/**
 * PATCH instead of PUT: GET never returns `key`/`keys`, so a PUT of what the form shows would drop
 * them. Fields the user removed are deleted with null (APISIX PATCH semantics).
 */
async function saveEdit(
  client: Client,
  id: string,
  body: SslDtoWritable,
  original: SslDto,
): Promise<unknown> {
  const patch: Record<string, unknown> = { ...body };
  for (const key of Object.keys(original)) {
    if (['id', 'create_time', 'update_time', 'key', 'keys'].includes(key)) continue;
    if (!(key in patch)) patch[key] = null;
  }
  if (original.certs !== undefined && body.certs === undefined) patch.keys = null;
  return sslApi.patch(client, id, patch);
}

function PairEditor({
  index,
  pair,
  keysStored,
  onChange,
  onRemove,
}: {
  index: number;
  pair: Pair;
  keysStored: boolean;
  onChange(pair: Pair): void;
  onRemove?(): void;
}) {
  const certPath = index === 0 ? 'cert' : `certs.${index - 1}`;
  const keyPath = index === 0 ? 'key' : `keys.${index - 1}`;
  return (
    <div className="pair" data-field={index === 0 ? undefined : 'certs'}>
      <div className="pair-head">
        <strong>{index === 0 ? 'Certificate and key' : `Additional pair ${index}`}</strong>
        {onRemove && (
          <button
            type="button"
            className="button button--small button--ghost button--danger"
            onClick={onRemove}
          >
            <Icon name="trash" /> Remove
          </button>
        )}
      </div>
      <div className="grid">
        <PemInput
          path={index === 0 ? [certPath] : [certPath, 'certs']}
          label={index === 0 ? 'Certificate (PEM)' : `Certificate ${index + 1} (PEM)`}
          kind="certificate"
          value={pair.cert}
          onChange={(cert) => onChange({ ...pair, cert })}
          hint="The leaf first, then intermediates. A $secret:// or $env:// reference also works."
        />
        <PemInput
          path={index === 0 ? [keyPath] : [keyPath, 'keys']}
          label={index === 0 ? 'Private key (PEM)' : `Private key ${index + 1} (PEM)`}
          kind="key"
          value={pair.key}
          onChange={(key) => onChange({ ...pair, key })}
          storedPlaceholder={
            keysStored ? 'Stored encrypted. Leave empty to keep it, or paste a new key.' : undefined
          }
          hint="Stored encrypted; the API never returns it."
        />
      </div>
    </div>
  );
}

function SslForm({ state, onChange, idField }: FormBodyProps<SslDto, SslState>) {
  const { readOnly } = useFormContext();
  const setValue = (path: string, value: FlatValue) =>
    onChange({ ...state, values: { ...state.values, [path]: value } });
  const certificateNames = summarizePem(state.pairs[0].cert).certificates[0]?.names ?? [];
  const names = splitNames(state.names);
  const setPair = (index: number, pair: Pair) =>
    onChange({
      ...state,
      pairs: state.pairs.map((current, position) => (position === index ? pair : current)),
    });

  return (
    <>
      <Section
        title="Basics"
        description="An SSL object holds certificates for TLS listeners (server) or for TLS to upstream nodes (client)."
      >
        {idField}
        <SpecFields specs={BASIC} values={state.values} onChange={setValue} />
        <SelectField
          path="type"
          label="Type"
          value={state.type}
          onChange={(type) => onChange({ ...state, type: type as SslState['type'] })}
          options={[
            { value: '', label: 'Default (server)' },
            { value: 'server', label: 'server: presented to clients, chosen by SNI' },
            { value: 'client', label: 'client: presented to upstream nodes' },
          ]}
        />
        <CheckboxField
          path="status"
          label="Enabled"
          checked={state.enabled}
          onChange={(enabled) => onChange({ ...state, enabled })}
          hint="A disabled certificate is kept but never selected."
        />
        <LabelsEditor rows={state.labels} onChange={(labels) => onChange({ ...state, labels })} />
      </Section>

      <Section
        title="Server names"
        description="The TLS server names (SNI) this certificate is chosen for. Server certificates need at least one."
      >
        <Field
          path={['sni', 'snis']}
          label="Server names"
          wide
          hint="One per line; * stands for the leftmost label (*.example.com)."
        >
          {(id, invalid) => (
            <textarea
              id={id}
              className="input textarea mono"
              rows={3}
              spellCheck={false}
              value={state.names}
              aria-invalid={invalid || undefined}
              onChange={(event) => onChange({ ...state, names: event.target.value })}
            />
          )}
        </Field>
        {!readOnly &&
          certificateNames.length > 0 &&
          certificateNames.join('\n') !== names.join('\n') && (
            <div className="field field--wide">
              <button
                type="button"
                className="button button--small"
                onClick={() => onChange({ ...state, names: certificateNames.join('\n') })}
              >
                Use the names of the certificate: {certificateNames.join(', ')}
              </button>
            </div>
          )}
        {names.length === 1 && (
          <CheckboxField
            path="snis.list"
            label="Store as a list (snis) rather than a single sni"
            checked={state.namesAsList}
            onChange={(namesAsList) => onChange({ ...state, namesAsList })}
            wide
          />
        )}
      </Section>

      <Section
        title="Certificates"
        path="certs"
        description="Several pairs let the listener offer, e.g., an ECDSA and an RSA certificate for the same names."
      >
        <div className="field field--wide pairs">
          {state.pairs.map((pair, index) => (
            <PairEditor
              key={index}
              index={index}
              pair={pair}
              keysStored={state.keysStored && (index === 0 || index <= state.storedExtraPairs)}
              onChange={(next) => setPair(index, next)}
              onRemove={
                index === 0
                  ? undefined
                  : () =>
                      onChange({
                        ...state,
                        pairs: state.pairs.filter((_, position) => position !== index),
                      })
              }
            />
          ))}
          {!readOnly && (
            <div>
              <button
                type="button"
                className="button button--small"
                onClick={() =>
                  onChange({ ...state, pairs: [...state.pairs, { cert: '', key: '' }] })
                }
              >
                <Icon name="plus" /> Add a certificate and key
              </button>
            </div>
          )}
        </div>
      </Section>

      <Section
        title="TLS versions"
        path="ssl_protocols"
        description="None selected: the listener's defaults."
      >
        <div className="field field--wide" data-field="ssl_protocols">
          <div className="checks-row">
            {PROTOCOLS.map((protocol) => (
              <label className="check" key={protocol}>
                <input
                  type="checkbox"
                  checked={state.protocols.includes(protocol)}
                  onChange={(event) =>
                    onChange({
                      ...state,
                      protocols: event.target.checked
                        ? [...state.protocols, protocol]
                        : state.protocols.filter((current) => current !== protocol),
                    })
                  }
                />
                <span>{protocol}</span>
              </label>
            ))}
          </div>
        </div>
      </Section>

      <Section
        title="Client certificates (mTLS)"
        path="client"
        collapsible
        defaultOpen={state.clientVerify}
      >
        <CheckboxField
          path="client.enabled"
          label="Require and verify client certificates"
          checked={state.clientVerify}
          onChange={(clientVerify) => onChange({ ...state, clientVerify })}
          wide
        />
        {state.clientVerify && (
          <>
            <PemInput
              path="client.ca"
              label="Client CA (PEM)"
              kind="certificate"
              value={state.clientCa}
              onChange={(clientCa) => onChange({ ...state, clientCa })}
              hint="Client certificates must chain to one of these certificates."
            />
            <SpecFields specs={CLIENT} values={state.values} onChange={setValue} />
          </>
        )}
      </Section>
    </>
  );
}

export const sslEditor: EditorDefinition<SslDto, SslDtoWritable, SslState> = {
  api: sslApi,
  title: 'SSL object',
  empty: () => fromDto({}, { isNew: true }),
  fromDto,
  toDto,
  saveEdit,
  Form: SslForm,
};
