'use client';

import type { Client } from '@strait/api-client';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import {
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ComponentType,
  type ReactNode,
} from 'react';
import { ApiError, errorText, type ResourceApi } from '../../lib/api';
import { locateError, resolveField } from '../../lib/error-paths';
import { FieldError, parseJson } from '../../lib/flat-fields';
import { setFlash } from '../../lib/flash';
import { useSession } from '../../lib/session';
import { DeleteDialog } from '../dialog';
import { Icon } from '../icons';
import { Field, TextField } from './fields';
import { FieldRegistry, FormContext, type FormContextValue } from './form-context';

export interface FormBodyProps<Dto, State> {
  state: State;
  onChange(state: State): void;
  /** The id input (create) or the fixed id (edit), placed by the form in its first section. */
  idField: ReactNode;
  isNew: boolean;
  original?: Dto;
}

export interface EditorDefinition<Dto, Writable, State> {
  api: ResourceApi<Dto, Writable>;
  /** "Stream route": the capitalised singular for headings. */
  title: string;
  empty(): State;
  /** `isNew`: the object does not exist yet (create or duplicate). */
  fromDto(dto: Dto, context: { isNew: boolean }): State;
  /** Throws FieldError for input the form itself cannot convert. */
  toDto(state: State): Writable;
  /** What a duplicate starts from (e.g. a name with " copy"). */
  duplicate?(dto: Dto): Dto;
  /** Replaces the default PUT of an edit (SSL objects are PATCHed: GET never returns their keys). */
  saveEdit?(client: Client, id: string, body: Writable, original: Dto): Promise<unknown>;
  Form: ComponentType<FormBodyProps<Dto, State>>;
  /** Live state of a stored object shown above its form (an upstream's node health). */
  Aside?: ComponentType<{ id: string }>;
}

const SERVER_FIELDS = ['id', 'create_time', 'update_time'];

function withoutServerFields<T>(dto: T): T {
  const copy = { ...(dto as Record<string, unknown>) };
  for (const field of SERVER_FIELDS) delete copy[field];
  return copy as T;
}

type Loaded<Dto> =
  { phase: 'loading' } | { phase: 'failed'; error: string } | { phase: 'ready'; original?: Dto };

/**
 * The create / edit / duplicate page of one resource: loads the object, shows its form (or the
 * JSON it will send), saves through the API and puts the API's error text beside the field it
 * names. `?id=` edits, `?from=` duplicates, neither creates.
 */
export function FormPage<Dto, Writable, State>({
  definition,
}: {
  definition: EditorDefinition<Dto, Writable, State>;
}) {
  const { api, title, Form, Aside } = definition;
  const session = useSession();
  const router = useRouter();
  const params = useSearchParams();
  const editId = params.get('id') ?? undefined;
  const fromId = params.get('from') ?? undefined;
  const isNew = editId === undefined;
  const readOnly = !session.canWrite;

  const [loaded, setLoaded] = useState<Loaded<Dto>>(
    isNew && !fromId ? { phase: 'ready' } : { phase: 'loading' },
  );
  const [state, setState] = useState<State>(() => definition.empty());
  const [newId, setNewId] = useState('');
  const [view, setView] = useState<'form' | 'json'>('form');
  const [jsonText, setJsonText] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string>();
  const [saving, setSaving] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const registry = useRef(new FieldRegistry()).current;
  const formElement = useRef<HTMLFormElement>(null);

  useEffect(() => {
    const sourceId = editId ?? fromId;
    if (sourceId === undefined) return;
    let cancelled = false;
    setLoaded({ phase: 'loading' });
    api.get(session.client, sourceId).then(
      (item) => {
        if (cancelled) return;
        const source = editId
          ? item.value
          : (definition.duplicate ?? ((dto: Dto) => dto))(withoutServerFields(item.value));
        setState(definition.fromDto(withoutServerFields(source), { isNew: editId === undefined }));
        setLoaded({ phase: 'ready', original: editId ? item.value : undefined });
      },
      (error: unknown) => !cancelled && setLoaded({ phase: 'failed', error: errorText(error) }),
    );
    return () => {
      cancelled = true;
    };
    // The definition is a module constant: reload only when the target changes.
  }, [api, session.client, editId, fromId]);

  const context = useMemo<FormContextValue>(
    () => ({ readOnly, errors, register: registry.register }),
    [readOnly, errors, registry],
  );

  /** Puts a message beside its field (opening a collapsed section), or in the banner. */
  const showError = useCallback(
    (message: string, paths: string[], detail: string) => {
      const field = resolveField({ paths, detail, message }, registry.paths());
      if (field === undefined) {
        setErrors({});
        setBanner(message);
        window.scrollTo({ top: 0, behavior: 'smooth' });
        return;
      }
      setErrors({ [field]: detail });
      setBanner(`The API refused the change: ${message}`);
      requestAnimationFrame(() => {
        const element = formElement.current?.querySelector<HTMLElement>(
          `[data-field="${CSS.escape(field)}"]`,
        );
        let parent = element?.parentElement;
        while (parent) {
          if (parent instanceof HTMLDetailsElement) parent.open = true;
          parent = parent.parentElement;
        }
        element?.scrollIntoView({ block: 'center', behavior: 'smooth' });
        element
          ?.querySelector<HTMLElement>('input, select, textarea')
          ?.focus({ preventScroll: true });
      });
    },
    [registry],
  );

  const handleFailure = (failure: unknown) => {
    if (failure instanceof FieldError) {
      showError(failure.message, [failure.path], failure.message);
    } else if (failure instanceof ApiError && failure.status === 400) {
      const located = locateError(failure.message);
      showError(located.message, located.paths, located.detail);
    } else if (failure instanceof ApiError && failure.isViewerRefusal) {
      setErrors({});
      setBanner('This key is read-only (viewer role): the API refused the change.');
    } else {
      setErrors({});
      setBanner(errorText(failure));
    }
  };

  const switchView = (next: 'form' | 'json') => {
    if (next === view) return;
    try {
      if (next === 'json') {
        setJsonText(JSON.stringify(definition.toDto(state), null, 2));
      } else {
        const parsed = parseJson(jsonText, 'json');
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new FieldError('json', 'The body is a JSON object');
        }
        setState(definition.fromDto(withoutServerFields(parsed as Dto), { isNew }));
      }
      setErrors({});
      setBanner(undefined);
      setView(next);
    } catch (failure) {
      handleFailure(failure);
    }
  };

  const save = async () => {
    setErrors({});
    setBanner(undefined);
    let body: Writable;
    try {
      body = view === 'json' ? (parseJson(jsonText, 'json') as Writable) : definition.toDto(state);
    } catch (failure) {
      handleFailure(failure);
      return;
    }
    setSaving(true);
    try {
      let savedId: string;
      if (editId !== undefined) {
        const original = loaded.phase === 'ready' ? loaded.original : undefined;
        if (definition.saveEdit && original !== undefined)
          await definition.saveEdit(session.client, editId, body, original);
        else await api.put(session.client, editId, body);
        savedId = editId;
      } else if (newId.trim() !== '') {
        savedId = newId.trim();
        // PUT would silently replace an existing object: refuse a taken id instead.
        const exists = await api.get(session.client, savedId).then(
          () => true,
          (error: unknown) => !(error instanceof ApiError && error.status === 404),
        );
        if (exists)
          throw new FieldError('id', `A ${api.singular} with id ${savedId} already exists`);
        await api.put(session.client, savedId, body);
      } else {
        const created = (await api.create(session.client, body)) as { id?: string | number };
        savedId = String(created.id ?? '');
      }
      setFlash(`${title} ${savedId} saved.`);
      router.push(api.route);
    } catch (failure) {
      handleFailure(failure);
      setSaving(false);
    }
  };

  const heading =
    editId !== undefined
      ? `${title} ${editId}`
      : fromId
        ? `Duplicate ${api.singular} ${fromId}`
        : `New ${api.singular}`;

  const idField =
    editId !== undefined ? (
      <TextField path="id" label="ID" value={editId} onChange={() => undefined} readOnly mono />
    ) : (
      <TextField
        path="id"
        label="ID"
        value={newId}
        onChange={setNewId}
        mono
        placeholder="generated"
        hint="Optional: letters, digits, - _ . (up to 64). Empty: a 20-digit id is generated."
      />
    );

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <nav className="breadcrumb" aria-label="Breadcrumb">
            <Link href={api.route}>{api.plural[0].toUpperCase() + api.plural.slice(1)}</Link>
            <span aria-hidden="true">/</span>
          </nav>
          <h1 className="page-title">{heading}</h1>
        </div>
        <div className="page-actions">
          {editId !== undefined && !readOnly && loaded.phase === 'ready' && (
            <>
              <Link className="button" href={`${api.route}new/?from=${encodeURIComponent(editId)}`}>
                <Icon name="copy" /> Duplicate
              </Link>
              <button
                type="button"
                className="button button--danger"
                onClick={() => setDeleting(true)}
              >
                <Icon name="trash" /> Delete
              </button>
            </>
          )}
        </div>
      </div>

      {readOnly && (
        <p className="alert alert--info">
          <Icon name="lock" /> Read-only: this key has the viewer role.
        </p>
      )}

      {loaded.phase === 'loading' && <p className="muted">Loading…</p>}
      {loaded.phase === 'failed' && (
        <p className="alert alert--danger" role="alert">
          {loaded.error}
        </p>
      )}
      {loaded.phase === 'ready' && editId !== undefined && Aside && <Aside id={editId} />}
      {loaded.phase === 'ready' && (
        <FormContext.Provider value={context}>
          <form
            ref={formElement}
            className="form"
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              if (!readOnly) void save();
            }}
          >
            {banner && (
              <div className="alert alert--danger" role="alert" data-testid="form-error">
                <Icon name="alert" /> <span>{banner}</span>
              </div>
            )}
            <div className="tabs" role="tablist" aria-label="Editor view">
              <button
                type="button"
                role="tab"
                aria-selected={view === 'form'}
                onClick={() => switchView('form')}
              >
                Form
              </button>
              <button
                type="button"
                role="tab"
                aria-selected={view === 'json'}
                onClick={() => switchView('json')}
              >
                <Icon name="code" /> JSON
              </button>
            </div>
            <fieldset className="fieldset" disabled={readOnly || saving}>
              {view === 'form' ? (
                <Form
                  state={state}
                  onChange={setState}
                  idField={idField}
                  isNew={isNew}
                  original={loaded.original}
                />
              ) : (
                <section className="section">
                  <div className="section-body">
                    <p className="muted">
                      The body sent to the admin API. Fields the form has no input for (e.g. node
                      metadata) can be edited here.
                    </p>
                    <Field path="json" label="JSON body" wide>
                      {(id, invalid) => (
                        <textarea
                          id={id}
                          className="input textarea mono json-editor"
                          spellCheck={false}
                          rows={Math.min(40, Math.max(12, jsonText.split('\n').length + 2))}
                          value={jsonText}
                          aria-invalid={invalid || undefined}
                          onChange={(event) => setJsonText(event.target.value)}
                        />
                      )}
                    </Field>
                  </div>
                </section>
              )}
            </fieldset>
            {!readOnly && (
              <div className="form-actions">
                <Link className="button" href={api.route}>
                  Cancel
                </Link>
                <button type="submit" className="button button--primary" disabled={saving}>
                  {saving
                    ? 'Saving…'
                    : editId !== undefined
                      ? 'Save changes'
                      : `Create ${api.singular}`}
                </button>
              </div>
            )}
          </form>
        </FormContext.Provider>
      )}
      {deleting && editId !== undefined && (
        <DeleteDialog
          api={api as ResourceApi<unknown, unknown>}
          client={session.client}
          id={editId}
          onClose={() => setDeleting(false)}
          onDeleted={() => {
            setFlash(`${title} ${editId} deleted.`);
            router.push(api.route);
          }}
        />
      )}
    </div>
  );
}
