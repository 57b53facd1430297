'use client';

import type { ReactNode } from 'react';

/**
 * The body of a live view over a list: "Loading…" until the first answer (or the error that kept
 * it from coming), a panel saying why when the list is empty, else what `children` draws of it.
 * Once a list is shown, a failed refresh keeps it on screen: the live-state badge tells the error.
 */
export function LiveList<T>({
  items,
  error,
  emptyText,
  children,
}: {
  /** Undefined until the first answer. */
  items: readonly T[] | undefined;
  error?: string;
  emptyText: string;
  children(items: readonly T[]): ReactNode;
}) {
  if (items === undefined) {
    return error ? (
      <p className="alert alert--danger" role="alert">
        {error}
      </p>
    ) : (
      <div className="panel empty">Loading…</div>
    );
  }
  if (items.length === 0) {
    return (
      <div className="panel empty">
        <p>{emptyText}</p>
      </div>
    );
  }
  return <>{children(items)}</>;
}
