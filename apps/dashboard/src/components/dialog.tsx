'use client';

import type { Client } from '@strait/api-client';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { errorText, type ResourceApi } from '../lib/api';

export function Dialog({
  title,
  children,
  actions,
  onClose,
}: {
  title: string;
  children: ReactNode;
  actions: ReactNode;
  onClose(): void;
}) {
  const panel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    panel.current?.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
      previous?.focus();
    };
  }, [onClose]);
  return (
    <div
      className="overlay"
      onMouseDown={(event) => event.target === event.currentTarget && onClose()}
    >
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="dialog-title"
        ref={panel}
      >
        <h2 id="dialog-title" className="dialog-title">
          {title}
        </h2>
        <div className="dialog-body">{children}</div>
        <div className="dialog-actions">{actions}</div>
      </div>
    </div>
  );
}

/**
 * Delete with confirmation. When the API refuses because another object still uses this one
 * (`can not delete this upstream, route [1] is still using it now`), the dialog offers
 * `?force=true`, which is how the API lets an operator override the check.
 */
export function DeleteDialog({
  api,
  client,
  id,
  name,
  onClose,
  onDeleted,
}: {
  api: ResourceApi<unknown, unknown>;
  client: Client;
  id: string;
  name?: string;
  onClose(): void;
  onDeleted(): void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [canForce, setCanForce] = useState(false);

  const remove = async (force: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      await api.remove(client, id, force);
      onDeleted();
    } catch (failure) {
      const text = errorText(failure);
      setError(text);
      setCanForce(/still using it|can not delete/i.test(text));
      setBusy(false);
    }
  };

  return (
    <Dialog
      title={`Delete ${api.singular} ${id}?`}
      onClose={onClose}
      actions={
        <>
          <button type="button" className="button" onClick={onClose} data-autofocus>
            Cancel
          </button>
          {canForce ? (
            <button
              type="button"
              className="button button--danger-solid"
              disabled={busy}
              onClick={() => void remove(true)}
            >
              Delete anyway
            </button>
          ) : (
            <button
              type="button"
              className="button button--danger-solid"
              disabled={busy}
              onClick={() => void remove(false)}
            >
              {busy ? 'Deleting…' : 'Delete'}
            </button>
          )}
        </>
      }
    >
      <p>
        {name ? (
          <>
            <strong>{name}</strong> ({id})
          </>
        ) : (
          <code>{id}</code>
        )}{' '}
        will be removed from the store and the proxy stops using it at once. This cannot be undone.
      </p>
      {error && (
        <p className="alert alert--danger" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
