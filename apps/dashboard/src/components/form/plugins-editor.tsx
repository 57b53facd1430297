'use client';

import { getPluginSchema, listPlugins, type Client } from '@strait/api-client';
import { useEffect, useState } from 'react';
import { call, errorText } from '../../lib/api';
import { FieldError, parseJson } from '../../lib/flat-fields';
import { useSession } from '../../lib/session';
import { Icon } from '../icons';
import { Section } from './fields';
import { useFieldPaths, useFormContext } from './form-context';

export interface PluginRow {
  name: string;
  /** The configuration as JSON text, edited freely and parsed on save. */
  text: string;
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  description?: string;
};

export function readPlugins(plugins: Record<string, unknown> | undefined): PluginRow[] {
  return Object.entries(plugins ?? {}).map(([name, conf]) => ({
    name,
    text: JSON.stringify(conf, null, 2),
  }));
}

export function writePlugins(
  rows: readonly PluginRow[],
  prefix = '',
): Record<string, Record<string, unknown>> | undefined {
  if (rows.length === 0) return undefined;
  const plugins: Record<string, Record<string, unknown>> = {};
  for (const row of rows) {
    const path = `${prefix}plugins.${row.name}`;
    const conf = row.text.trim() === '' ? {} : parseJson(row.text, path);
    if (conf === null || typeof conf !== 'object' || Array.isArray(conf)) {
      throw new FieldError(path, 'A plugin configuration is a JSON object');
    }
    plugins[row.name] = conf as Record<string, unknown>;
  }
  return plugins;
}

// Plugin names and schemas do not change while the service runs: fetch each once per client.
const namesCache = new WeakMap<Client, Promise<string[]>>();
const schemaCache = new WeakMap<Client, Map<string, Promise<JsonSchema>>>();

function streamPluginNames(client: Client): Promise<string[]> {
  let pending = namesCache.get(client);
  if (!pending) {
    pending = call(listPlugins({ client, query: { subsystem: 'stream' } }));
    namesCache.set(client, pending);
  }
  return pending;
}

function pluginSchema(client: Client, name: string): Promise<JsonSchema> {
  let perClient = schemaCache.get(client);
  if (!perClient) {
    perClient = new Map();
    schemaCache.set(client, perClient);
  }
  let pending = perClient.get(name);
  if (!pending) {
    pending = call(
      getPluginSchema({ client, path: { name }, query: { subsystem: 'stream' } }),
    ) as Promise<JsonSchema>;
    perClient.set(name, pending);
  }
  return pending;
}

/** A starting configuration: the required properties, with their defaults where the schema has one. */
export function templateFor(schema: JsonSchema): Record<string, unknown> {
  const required =
    schema.required ?? schema.oneOf?.[0]?.required ?? schema.anyOf?.[0]?.required ?? [];
  const template: Record<string, unknown> = {};
  for (const name of required) {
    const property = schema.properties?.[name] ?? {};
    template[name] = exampleValue(property);
  }
  return template;
}

function exampleValue(schema: JsonSchema): unknown {
  if (schema.default !== undefined) return schema.default;
  if (schema.enum?.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'integer' || type === 'number') {
    return (
      schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1)
    );
  }
  if (type === 'boolean') return false;
  if (type === 'array') return [];
  if (type === 'object') return schema.properties ? templateFor(schema) : {};
  return '';
}

function typeText(schema: JsonSchema): string {
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type;
  if (type === 'array' && schema.items) return `array of ${typeText(schema.items)}`;
  if (type) return type;
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return [...new Set(options.map(typeText))].join(' | ');
  return 'any';
}

function constraintText(schema: JsonSchema): string {
  const parts: string[] = [];
  if (schema.enum)
    parts.push(`one of ${schema.enum.map((value) => JSON.stringify(value)).join(', ')}`);
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) parts.push(`length ≥ ${schema.minLength}`);
  if (schema.maxLength !== undefined) parts.push(`length ≤ ${schema.maxLength}`);
  if (schema.minItems !== undefined) parts.push(`at least ${schema.minItems} item(s)`);
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join(', ');
}

function SchemaHint({ schema }: { schema: JsonSchema }) {
  const required = new Set(schema.required ?? []);
  const alternatives = (schema.oneOf ?? schema.anyOf ?? [])
    .map((option) => option.required?.join(' + '))
    .filter((text): text is string => Boolean(text));
  const entries = Object.entries(schema.properties ?? {}).filter(([name]) => name !== '_meta');
  return (
    <div className="schema-hint">
      {alternatives.length > 0 && (
        <p className="muted">Requires one of: {alternatives.join(' or ')}.</p>
      )}
      <table className="schema-table">
        <thead>
          <tr>
            <th>Property</th>
            <th>Type</th>
            <th>Constraints</th>
          </tr>
        </thead>
        <tbody>
          {entries.map(([name, property]) => (
            <tr key={name}>
              <td>
                <code>{name}</code>
                {required.has(name) && (
                  <span className="required-mark" title="required">
                    *
                  </span>
                )}
              </td>
              <td>{typeText(property)}</td>
              <td>{constraintText(property)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        <code>{'"_meta": {"disable": true}'}</code> keeps the configuration but skips the plugin.
      </p>
    </div>
  );
}

function PluginCard({
  row,
  prefix,
  onChange,
  onRemove,
}: {
  row: PluginRow;
  prefix: string;
  onChange(text: string): void;
  onRemove(): void;
}) {
  const { client } = useSession();
  const { readOnly } = useFormContext();
  const path = `${prefix}plugins.${row.name}`;
  const error = useFieldPaths([path]);
  const [schema, setSchema] = useState<JsonSchema>();
  const [schemaError, setSchemaError] = useState<string>();

  useEffect(() => {
    let cancelled = false;
    pluginSchema(client, row.name).then(
      (loaded) => !cancelled && setSchema(loaded),
      (failure: unknown) => !cancelled && setSchemaError(errorText(failure)),
    );
    return () => {
      cancelled = true;
    };
  }, [client, row.name]);

  let disabled = false;
  try {
    disabled = (JSON.parse(row.text) as { _meta?: { disable?: unknown } })?._meta?.disable === true;
  } catch {
    // Invalid JSON is reported on save.
  }
  const toggleDisabled = () => {
    try {
      const conf = (row.text.trim() === '' ? {} : JSON.parse(row.text)) as Record<string, unknown>;
      const meta = { ...((conf._meta as Record<string, unknown> | undefined) ?? {}) };
      if (disabled) delete meta.disable;
      else meta.disable = true;
      const next: Record<string, unknown> = { ...conf, _meta: meta };
      if (Object.keys(meta).length === 0) delete next._meta;
      onChange(JSON.stringify(next, null, 2));
    } catch {
      // Leave broken JSON for the user to fix first.
    }
  };

  return (
    <div className={`plugin${error ? ' plugin--invalid' : ''}`} data-field={path}>
      <div className="plugin-head">
        <code className="plugin-name">{row.name}</code>
        {disabled && <span className="badge badge--warning">disabled</span>}
        <span className="spacer" />
        {!readOnly && (
          <>
            <button
              type="button"
              className="button button--small button--ghost"
              onClick={toggleDisabled}
            >
              {disabled ? 'Enable' : 'Disable'}
            </button>
            {schema && (
              <button
                type="button"
                className="button button--small button--ghost"
                onClick={() =>
                  onChange(
                    JSON.stringify({ ...templateFor(schema), ...safeParse(row.text) }, null, 2),
                  )
                }
              >
                Fill required
              </button>
            )}
            <button
              type="button"
              className="button button--small button--ghost button--danger"
              aria-label={`Remove plugin ${row.name}`}
              onClick={onRemove}
            >
              <Icon name="trash" />
            </button>
          </>
        )}
      </div>
      <textarea
        className="input textarea mono"
        aria-label={`${row.name} configuration (JSON)`}
        rows={Math.min(14, Math.max(4, row.text.split('\n').length + 1))}
        spellCheck={false}
        value={row.text}
        onChange={(event) => onChange(event.target.value)}
      />
      {error !== undefined && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <details className="plugin-schema">
        <summary>Schema of {row.name}</summary>
        {schema ? (
          <SchemaHint schema={schema} />
        ) : (
          <p className="muted">{schemaError ?? 'Loading…'}</p>
        )}
      </details>
    </div>
  );
}

function safeParse(text: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** The `plugins` object: one card per plugin, its JSON and the hints of its schema. */
export function PluginsEditor({
  rows,
  onChange,
  prefix = '',
  description,
}: {
  rows: PluginRow[];
  onChange(rows: PluginRow[]): void;
  prefix?: string;
  description?: string;
}) {
  const { client } = useSession();
  const { readOnly } = useFormContext();
  const [names, setNames] = useState<string[]>([]);
  const [choice, setChoice] = useState('');
  const [loadError, setLoadError] = useState<string>();

  useEffect(() => {
    let cancelled = false;
    streamPluginNames(client).then(
      (loaded) => !cancelled && setNames(loaded),
      (error: unknown) => !cancelled && setLoadError(errorText(error)),
    );
    return () => {
      cancelled = true;
    };
  }, [client]);

  const available = names.filter((name) => !rows.some((row) => row.name === name));
  const add = async () => {
    const name = choice || available[0];
    if (!name) return;
    let text = '{}';
    try {
      text = JSON.stringify(templateFor(await pluginSchema(client, name)), null, 2);
    } catch {
      // The card shows why the schema is missing.
    }
    onChange([...rows, { name, text }]);
    setChoice('');
  };

  return (
    <Section
      title="Plugins"
      path={`${prefix}plugins`}
      description={
        description ??
        'Stream plugins run for every connection of this object, highest priority first.'
      }
    >
      <div className="field field--wide">
        {rows.length === 0 && <p className="muted">No plugins.</p>}
        <div className="plugins">
          {rows.map((row, index) => (
            <PluginCard
              key={row.name}
              row={row}
              prefix={prefix}
              onChange={(text) =>
                onChange(
                  rows.map((current, position) =>
                    position === index ? { ...current, text } : current,
                  ),
                )
              }
              onRemove={() => onChange(rows.filter((_, position) => position !== index))}
            />
          ))}
        </div>
        {!readOnly && (
          <div className="inline-form">
            <select
              className="input select"
              aria-label="Plugin to add"
              value={choice}
              onChange={(event) => setChoice(event.target.value)}
              disabled={available.length === 0}
            >
              {available.length === 0 && (
                <option value="">{loadError ? 'Plugins unavailable' : 'All plugins added'}</option>
              )}
              {available.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
            <button
              type="button"
              className="button button--small"
              onClick={() => void add()}
              disabled={available.length === 0}
            >
              <Icon name="plus" /> Add plugin
            </button>
          </div>
        )}
        {loadError && (
          <p className="field-hint field-hint--warning">Could not list the plugins: {loadError}</p>
        )}
      </div>
    </Section>
  );
}
