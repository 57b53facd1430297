'use client';

import { useId, useMemo, useRef } from 'react';
import { describePrivateKey, summarizePem } from '../../lib/x509';
import { CertificateSummary } from '../certificate-summary';
import { Icon } from '../icons';
import { useFieldPaths, useFormContext } from './form-context';

/**
 * A PEM text area with a file picker. Certificates are read in the browser and summarised (names,
 * validity, issuer); private keys only get their kind named.
 */
export function PemInput({
  path,
  label,
  kind,
  value,
  onChange,
  hint,
  storedPlaceholder,
}: {
  path: string | readonly string[];
  label: string;
  kind: 'certificate' | 'key';
  value: string;
  onChange(value: string): void;
  hint?: string;
  /** Shown when the stored value cannot be displayed (keys are never returned in plain text). */
  storedPlaceholder?: string;
}) {
  const paths = typeof path === 'string' ? [path] : path;
  const error = useFieldPaths(paths);
  const { readOnly } = useFormContext();
  const id = useId();
  const fileInput = useRef<HTMLInputElement>(null);
  const summary = useMemo(
    () => (kind === 'certificate' ? summarizePem(value) : undefined),
    [kind, value],
  );
  const keyKind = kind === 'key' && value.trim() !== '' ? describePrivateKey(value) : undefined;

  const readFile = async (file: File | undefined) => {
    if (!file) return;
    onChange((await file.text()).trim() + '\n');
  };

  return (
    <div className={`field field--wide${error ? ' field--invalid' : ''}`} data-field={paths[0]}>
      <div className="field-label-row">
        <label className="field-label" htmlFor={id}>
          {label}
        </label>
        {!readOnly && (
          <>
            <button
              type="button"
              className="button button--small button--ghost"
              onClick={() => fileInput.current?.click()}
            >
              <Icon name="upload" /> Upload file
            </button>
            <input
              ref={fileInput}
              type="file"
              hidden
              accept=".pem,.crt,.cer,.key,.txt,application/x-pem-file"
              aria-label={`${label} file`}
              onChange={(event) => {
                void readFile(event.target.files?.[0]);
                event.target.value = '';
              }}
            />
          </>
        )}
      </div>
      <textarea
        id={id}
        className="input textarea mono pem"
        rows={kind === 'certificate' ? 6 : 4}
        spellCheck={false}
        value={value}
        placeholder={
          storedPlaceholder ??
          (kind === 'certificate'
            ? '-----BEGIN CERTIFICATE-----\n…'
            : '-----BEGIN PRIVATE KEY-----\n…')
        }
        aria-invalid={error !== undefined || undefined}
        onChange={(event) => onChange(event.target.value)}
      />
      {error !== undefined && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {error === undefined && hint && <p className="field-hint">{hint}</p>}
      {summary?.error && <p className="field-hint field-hint--warning">{summary.error}</p>}
      {summary && summary.certificates.length > 0 && (
        <CertificateSummary certificates={summary.certificates} />
      )}
      {keyKind && <p className="field-hint">{keyKind}</p>}
      {kind === 'key' &&
        value.trim() !== '' &&
        !keyKind &&
        !/^\$(secret|env):\/\//.test(value.trim()) && (
          <p className="field-hint field-hint--warning">No "BEGIN PRIVATE KEY" block found.</p>
        )}
    </div>
  );
}
