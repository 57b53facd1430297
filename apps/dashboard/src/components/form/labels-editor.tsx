'use client';

import { FieldError } from '../../lib/flat-fields';
import { Icon } from '../icons';
import { useFieldPaths, useFormContext } from './form-context';

export interface LabelRow {
  key: string;
  value: string;
}

export function readLabels(labels: Record<string, string> | undefined): LabelRow[] {
  return Object.entries(labels ?? {}).map(([key, value]) => ({ key, value }));
}

export function writeLabels(
  rows: readonly LabelRow[],
  path = 'labels',
): Record<string, string> | undefined {
  const used = rows.filter((row) => row.key.trim() !== '' || row.value.trim() !== '');
  if (used.length === 0) return undefined;
  const labels: Record<string, string> = {};
  for (const row of used) {
    const key = row.key.trim();
    if (key === '') throw new FieldError(path, `The label with value "${row.value}" has no key`);
    if (key in labels) throw new FieldError(path, `The label "${key}" is given twice`);
    labels[key] = row.value.trim();
  }
  return labels;
}

/** Key/value rows; each value is 1-256 characters without white space (labels_def). */
export function LabelsEditor({
  rows,
  onChange,
  path = 'labels',
}: {
  rows: LabelRow[];
  onChange(rows: LabelRow[]): void;
  path?: string;
}) {
  const error = useFieldPaths([path]);
  const { readOnly } = useFormContext();
  const update = (index: number, patch: Partial<LabelRow>) =>
    onChange(rows.map((row, current) => (current === index ? { ...row, ...patch } : row)));
  return (
    <div className={`field field--wide${error ? ' field--invalid' : ''}`} data-field={path}>
      <span className="field-label">Labels</span>
      {rows.length > 0 && (
        <div className="rows">
          {rows.map((row, index) => (
            <div className="row row--label" key={index}>
              <input
                className="input mono"
                aria-label={`Label ${index + 1} key`}
                placeholder="key"
                value={row.key}
                onChange={(event) => update(index, { key: event.target.value })}
              />
              <input
                className="input mono"
                aria-label={`Label ${index + 1} value`}
                placeholder="value"
                value={row.value}
                onChange={(event) => update(index, { value: event.target.value })}
              />
              <button
                type="button"
                className="button button--icon button--ghost"
                aria-label={`Remove label ${index + 1}`}
                onClick={() => onChange(rows.filter((_, current) => current !== index))}
              >
                <Icon name="close" />
              </button>
            </div>
          ))}
        </div>
      )}
      {rows.length === 0 && readOnly && <span className="muted">No labels.</span>}
      <div hidden={readOnly}>
        <button
          type="button"
          className="button button--small"
          onClick={() => onChange([...rows, { key: '', value: '' }])}
        >
          <Icon name="plus" /> Add label
        </button>
      </div>
      {error !== undefined ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : (
        <p className="field-hint">
          Filter lists by label key. Values: 1–256 characters, no spaces.
        </p>
      )}
    </div>
  );
}
