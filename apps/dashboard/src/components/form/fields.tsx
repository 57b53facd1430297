'use client';

import { useId, type ReactNode } from 'react';
import type { FieldSpec, FlatValue, FlatValues } from '../../lib/flat-fields';
import { useFieldPaths } from './form-context';

export interface FieldProps {
  /** API path(s) whose errors this field shows (`server_port`, or `sni` and `snis`). */
  path: string | readonly string[];
  label: ReactNode;
  hint?: ReactNode;
  /** Spans the whole row of the grid. */
  wide?: boolean;
  className?: string;
  children: (id: string, invalid: boolean) => ReactNode;
}

export function Field({ path, label, hint, wide, className, children }: FieldProps) {
  const paths = typeof path === 'string' ? [path] : path;
  const error = useFieldPaths(paths);
  const id = useId();
  return (
    <div
      className={[
        'field',
        wide ? 'field--wide' : '',
        error ? 'field--invalid' : '',
        className ?? '',
      ]
        .filter(Boolean)
        .join(' ')}
      data-field={paths[0]}
    >
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      {children(id, error !== undefined)}
      {error !== undefined ? (
        <p className="field-error" role="alert" id={`${id}-error`}>
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint">{hint}</p>
      ) : null}
    </div>
  );
}

interface InputFieldProps {
  path: string | readonly string[];
  label: ReactNode;
  value: string;
  onChange(value: string): void;
  hint?: ReactNode;
  placeholder?: string;
  wide?: boolean;
  mono?: boolean;
  list?: string;
  autoFocus?: boolean;
  type?: 'text' | 'number' | 'password';
  step?: string;
  inputMode?: 'numeric' | 'decimal' | 'text';
  readOnly?: boolean;
}

export function TextField(props: InputFieldProps) {
  const {
    path,
    label,
    value,
    onChange,
    hint,
    placeholder,
    wide,
    mono,
    list,
    autoFocus,
    type,
    step,
    inputMode,
    readOnly,
  } = props;
  return (
    <Field path={path} label={label} hint={hint} wide={wide}>
      {(id, invalid) => (
        <input
          id={id}
          className={`input${mono ? ' mono' : ''}`}
          type={type ?? 'text'}
          step={step}
          inputMode={inputMode}
          value={value}
          placeholder={placeholder}
          list={list}
          autoFocus={autoFocus}
          readOnly={readOnly}
          aria-invalid={invalid || undefined}
          aria-describedby={invalid ? `${id}-error` : undefined}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

export function NumberField(props: Omit<InputFieldProps, 'type'> & { integer?: boolean }) {
  return (
    <TextField
      {...props}
      type="number"
      step={props.integer ? '1' : 'any'}
      inputMode={props.integer ? 'numeric' : 'decimal'}
    />
  );
}

export function TextAreaField(props: InputFieldProps & { rows?: number }) {
  const { path, label, value, onChange, hint, placeholder, wide, mono, rows } = props;
  return (
    <Field path={path} label={label} hint={hint} wide={wide ?? true}>
      {(id, invalid) => (
        <textarea
          id={id}
          className={`input textarea${mono ? ' mono' : ''}`}
          rows={rows ?? 4}
          value={value}
          placeholder={placeholder}
          spellCheck={false}
          aria-invalid={invalid || undefined}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

export interface SelectOption {
  value: string;
  label: string;
}

export function SelectField(props: {
  path: string | readonly string[];
  label: ReactNode;
  value: string;
  options: ReadonlyArray<SelectOption | { group: string; options: ReadonlyArray<SelectOption> }>;
  onChange(value: string): void;
  hint?: ReactNode;
  wide?: boolean;
}) {
  const { path, label, value, options, onChange, hint, wide } = props;
  const known = options.some((option) =>
    'group' in option
      ? option.options.some((inner) => inner.value === value)
      : option.value === value,
  );
  return (
    <Field path={path} label={label} hint={hint} wide={wide}>
      {(id, invalid) => (
        <select
          id={id}
          className="input select"
          value={value}
          aria-invalid={invalid || undefined}
          onChange={(event) => onChange(event.target.value)}
        >
          {!known && <option value={value}>{value}</option>}
          {options.map((option) =>
            'group' in option ? (
              <optgroup key={option.group} label={option.group}>
                {option.options.map((inner) => (
                  <option key={inner.value} value={inner.value}>
                    {inner.label}
                  </option>
                ))}
              </optgroup>
            ) : (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ),
          )}
        </select>
      )}
    </Field>
  );
}

export function CheckboxField(props: {
  path: string;
  label: ReactNode;
  checked: boolean;
  onChange(checked: boolean): void;
  hint?: ReactNode;
  wide?: boolean;
}) {
  const { path, label, checked, onChange, hint, wide } = props;
  const error = useFieldPaths([path]);
  const id = useId();
  return (
    <div
      className={`field field--check${wide ? ' field--wide' : ''}${error ? ' field--invalid' : ''}`}
      data-field={path}
    >
      <label className="check" htmlFor={id}>
        <input
          id={id}
          type="checkbox"
          checked={checked}
          onChange={(event) => onChange(event.target.checked)}
        />
        <span>{label}</span>
      </label>
      {error !== undefined ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint">{hint}</p>
      ) : null}
    </div>
  );
}

/** Renders one spec-described field; `prefix` qualifies the API path (an inline `upstream.`). */
export function SpecField({
  spec,
  values,
  onChange,
  prefix = '',
}: {
  spec: FieldSpec;
  values: FlatValues;
  onChange(path: string, value: FlatValue): void;
  prefix?: string;
}) {
  const path = `${prefix}${spec.path}`;
  const value = values[spec.path];
  const text = typeof value === 'string' ? value : '';
  const set = (next: FlatValue) => onChange(spec.path, next);
  switch (spec.kind) {
    case 'boolean':
      return (
        <CheckboxField
          path={path}
          label={spec.label}
          hint={spec.hint}
          checked={value === true}
          onChange={set}
        />
      );
    case 'select':
      return (
        <SelectField
          path={path}
          label={spec.label}
          hint={spec.hint}
          value={text}
          options={spec.options ?? []}
          onChange={set}
        />
      );
    case 'number':
    case 'integer':
      return (
        <NumberField
          path={path}
          label={spec.label}
          hint={spec.hint}
          placeholder={spec.placeholder}
          value={text}
          integer={spec.kind === 'integer'}
          onChange={set}
        />
      );
    case 'textarea':
    case 'lines':
    case 'json':
      return (
        <TextAreaField
          path={path}
          label={spec.label}
          hint={spec.hint}
          placeholder={spec.placeholder}
          value={text}
          mono={spec.mono ?? spec.kind === 'json'}
          rows={spec.kind === 'json' ? 5 : 3}
          onChange={set}
        />
      );
    case 'text':
    case 'integerList':
      return (
        <TextField
          path={path}
          label={spec.label}
          hint={spec.hint}
          placeholder={spec.placeholder}
          value={text}
          mono={spec.mono}
          onChange={set}
        />
      );
  }
}

export function SpecFields(props: {
  specs: readonly FieldSpec[];
  values: FlatValues;
  onChange(path: string, value: FlatValue): void;
  prefix?: string;
}) {
  return (
    <>
      {props.specs.map((spec) => (
        <SpecField
          key={spec.path}
          spec={spec}
          values={props.values}
          onChange={props.onChange}
          prefix={props.prefix}
        />
      ))}
    </>
  );
}

/** A titled group of fields laid out on a responsive grid. */
export function Section({
  title,
  description,
  children,
  actions,
  collapsible,
  defaultOpen = true,
  path,
}: {
  title: string;
  description?: ReactNode;
  children: ReactNode;
  actions?: ReactNode;
  collapsible?: boolean;
  defaultOpen?: boolean;
  /** A path whose errors this section shows when no field inside claims them. */
  path?: string;
}) {
  const error = useFieldPaths(path ? [path] : []);
  const body = (
    <>
      {error !== undefined && (
        <p className="field-error section-error" role="alert">
          {error}
        </p>
      )}
      <div className="grid">{children}</div>
    </>
  );
  if (collapsible) {
    return (
      <details className="section" open={defaultOpen || undefined} data-field={path}>
        <summary className="section-head">
          <span className="section-title">{title}</span>
          {description && <span className="section-description">{description}</span>}
        </summary>
        <div className="section-body">{body}</div>
      </details>
    );
  }
  return (
    <section className="section" data-field={path}>
      <header className="section-head">
        <div>
          <h2 className="section-title">{title}</h2>
          {description && <p className="section-description">{description}</p>}
        </div>
        {actions}
      </header>
      <div className="section-body">{body}</div>
    </section>
  );
}
