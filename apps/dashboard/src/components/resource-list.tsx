'use client';

import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { errorText, idOf, listAll, type Item, type ResourceApi } from '../lib/api';
import { formatDateTime, relativeTime } from '../lib/format';
import { useSession } from '../lib/session';
import { DeleteDialog } from './dialog';
import { Icon } from './icons';
import { FlashToast } from './toast';

export interface Column<Dto> {
  header: string;
  render(item: Item<Dto>): ReactNode;
  className?: string;
}

const PAGE_SIZES = [10, 20, 50, 100, 500];

type Loaded<Dto> =
  | { phase: 'loading' }
  | { phase: 'failed'; error: string }
  | { phase: 'ready'; items: Item<Dto>[]; total: number };

interface Filters {
  page: number;
  pageSize: number;
  search: string;
  label: string;
}

function readFilters(params: URLSearchParams): Filters {
  const pageSize = Number(params.get('page_size'));
  return {
    page: Math.max(1, Number(params.get('page')) || 1),
    pageSize: PAGE_SIZES.includes(pageSize) ? pageSize : 10,
    search: params.get('q') ?? '',
    label: params.get('label') ?? '',
  };
}

function writeFilters(filters: Filters): void {
  const params = new URLSearchParams();
  if (filters.search) params.set('q', filters.search);
  if (filters.label) params.set('label', filters.label);
  if (filters.page > 1) params.set('page', String(filters.page));
  if (filters.pageSize !== 10) params.set('page_size', String(filters.pageSize));
  const query = params.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}`);
}

/**
 * A paginated list of one resource with search, label filter and row actions. Without a search
 * the API paginates (`page`, `page_size`) and filters by label key (`label`); a search reads every
 * page and matches id, name, description and the resource's own fields in the browser, because
 * the API's `name` regex cannot see ids or descriptions.
 */
export function ResourceList<
  Dto extends {
    name?: string;
    desc?: string;
    labels?: Record<string, string>;
    update_time?: number;
  },
>({
  api,
  title,
  description,
  columns,
  searchText,
  emptyText,
}: {
  api: ResourceApi<Dto, unknown>;
  title: string;
  description: ReactNode;
  columns: Column<Dto>[];
  /** Extra text a search may match (addresses, SNIs, nodes...). */
  searchText?(item: Item<Dto>): string;
  emptyText: string;
}) {
  const { client, canWrite } = useSession();
  const params = useSearchParams();
  const [filters, setFilters] = useState<Filters>(() =>
    readFilters(new URLSearchParams(params.toString())),
  );
  const [searchInput, setSearchInput] = useState(filters.search);
  const [loaded, setLoaded] = useState<Loaded<Dto>>({ phase: 'loading' });
  const [reload, setReload] = useState(0);
  const [deleting, setDeleting] = useState<Item<Dto>>();

  const update = useCallback((changes: Partial<Filters>) => {
    setFilters((current) => {
      const next = { ...current, ...changes };
      writeFilters(next);
      return next;
    });
  }, []);

  // Search as the user types, once they pause.
  useEffect(() => {
    if (searchInput === filters.search) return;
    const timer = window.setTimeout(() => update({ search: searchInput, page: 1 }), 250);
    return () => window.clearTimeout(timer);
  }, [searchInput, filters.search, update]);

  useEffect(() => {
    let cancelled = false;
    const label = filters.label.trim() || undefined;
    const load = async (): Promise<{ items: Item<Dto>[]; total: number }> => {
      const search = filters.search.trim().toLowerCase();
      if (search === '') {
        const page = await api.list(client, {
          page: filters.page,
          page_size: filters.pageSize,
          label,
        });
        return { items: page.list, total: page.total };
      }
      const all = await listAll(api, client, { label });
      const matches = all.filter((item) =>
        [
          idOf(item),
          item.value.name,
          item.value.desc,
          ...Object.entries(item.value.labels ?? {}).flat(),
          searchText?.(item),
        ]
          .filter(Boolean)
          .join('\n')
          .toLowerCase()
          .includes(search),
      );
      const start = (filters.page - 1) * filters.pageSize;
      return { items: matches.slice(start, start + filters.pageSize), total: matches.length };
    };
    setLoaded((current) => (current.phase === 'ready' ? current : { phase: 'loading' }));
    load().then(
      (result) => {
        if (cancelled) return;
        // Deleting the last row of the last page: step back a page.
        if (result.items.length === 0 && result.total > 0 && filters.page > 1) {
          update({ page: Math.ceil(result.total / filters.pageSize) });
          return;
        }
        setLoaded({ phase: 'ready', ...result });
      },
      (error: unknown) => !cancelled && setLoaded({ phase: 'failed', error: errorText(error) }),
    );
    return () => {
      cancelled = true;
    };
  }, [api, client, filters, reload, searchText, update]);

  // Others may change the configuration too: reload when the tab comes back into view.
  useEffect(() => {
    const onVisible = () =>
      document.visibilityState === 'visible' && setReload((count) => count + 1);
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, []);

  const labelKeys = useMemo(() => {
    const keys = new Set<string>();
    if (loaded.phase === 'ready')
      loaded.items.forEach((item) =>
        Object.keys(item.value.labels ?? {}).forEach((key) => keys.add(key)),
      );
    return [...keys].sort();
  }, [loaded]);

  const total = loaded.phase === 'ready' ? loaded.total : 0;
  const pages = Math.max(1, Math.ceil(total / filters.pageSize));
  const first = total === 0 ? 0 : (filters.page - 1) * filters.pageSize + 1;
  const last = Math.min(total, filters.page * filters.pageSize);
  const filtered = filters.search !== '' || filters.label !== '';
  const datalistId = `${api.kind}-label-keys`;
  // The labels column only takes room when a row on this page has labels.
  const showLabels =
    loaded.phase === 'ready' &&
    loaded.items.some((item) => Object.keys(item.value.labels ?? {}).length > 0);

  return (
    <div className="page">
      <FlashToast />
      <div className="page-head">
        <div>
          <h1 className="page-title">
            {title}
            {loaded.phase === 'ready' && <span className="count">{loaded.total}</span>}
          </h1>
          <p className="page-description">{description}</p>
        </div>
        {canWrite && (
          <div className="page-actions">
            <Link className="button button--primary" href={`${api.route}new/`}>
              <Icon name="plus" /> New {api.singular}
            </Link>
          </div>
        )}
      </div>

      <div className="toolbar" role="search">
        <label className="search">
          <Icon name="search" />
          <span className="visually-hidden">Search</span>
          <input
            className="input"
            type="search"
            placeholder="Search id, name, description…"
            value={searchInput}
            onChange={(event) => setSearchInput(event.target.value)}
          />
        </label>
        <label className="label-filter">
          <span className="visually-hidden">Label key</span>
          <input
            className="input mono"
            placeholder="label key"
            list={datalistId}
            value={filters.label}
            onChange={(event) => update({ label: event.target.value, page: 1 })}
          />
          <datalist id={datalistId}>
            {labelKeys.map((key) => (
              <option key={key} value={key} />
            ))}
          </datalist>
        </label>
        <button
          type="button"
          className="button button--icon"
          aria-label="Reload"
          title="Reload"
          onClick={() => setReload((count) => count + 1)}
        >
          <Icon name="refresh" />
        </button>
        {filtered && (
          <button
            type="button"
            className="button button--ghost"
            onClick={() => {
              setSearchInput('');
              update({ search: '', label: '', page: 1 });
            }}
          >
            Clear filters
          </button>
        )}
      </div>

      {loaded.phase === 'failed' && (
        <p className="alert alert--danger" role="alert">
          {loaded.error}
        </p>
      )}
      {loaded.phase === 'loading' && <div className="panel empty">Loading…</div>}
      {loaded.phase === 'ready' && loaded.items.length === 0 && (
        <div className="panel empty">
          {filtered ? (
            <p>No {api.plural} match these filters.</p>
          ) : (
            <>
              <p>{emptyText}</p>
              {canWrite && (
                <Link className="button button--primary" href={`${api.route}new/`}>
                  <Icon name="plus" /> New {api.singular}
                </Link>
              )}
            </>
          )}
        </div>
      )}
      {loaded.phase === 'ready' && loaded.items.length > 0 && (
        <div className="panel table-panel">
          <table className="table">
            <thead>
              <tr>
                <th>ID</th>
                {columns.map((column) => (
                  <th key={column.header} className={column.className}>
                    {column.header}
                  </th>
                ))}
                {showLabels && <th>Labels</th>}
                <th>Updated</th>
                <th className="actions-cell">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {loaded.items.map((item) => {
                const id = idOf(item);
                const href = `${api.route}edit/?id=${encodeURIComponent(id)}`;
                return (
                  <tr key={item.key} data-id={id}>
                    <td data-label="ID" className="id-cell">
                      <Link href={href} className="mono strong">
                        {id}
                      </Link>
                    </td>
                    {columns.map((column) => (
                      <td
                        key={column.header}
                        data-label={column.header}
                        className={column.className}
                      >
                        {column.render(item)}
                      </td>
                    ))}
                    {showLabels && (
                      <td data-label="Labels">
                        <LabelChips
                          labels={item.value.labels}
                          onPick={(label) => update({ label, page: 1 })}
                        />
                      </td>
                    )}
                    <td
                      data-label="Updated"
                      className="nowrap muted"
                      title={formatDateTime(item.value.update_time)}
                    >
                      {relativeTime(item.value.update_time)}
                    </td>
                    <td className="actions-cell">
                      <div className="row-actions">
                        <Link
                          className="button button--small button--icon button--ghost"
                          href={href}
                          aria-label={`${canWrite ? 'Edit' : 'View'} ${id}`}
                          title={canWrite ? 'Edit' : 'View'}
                        >
                          <Icon name={canWrite ? 'edit' : 'eye'} />
                        </Link>
                        {canWrite && (
                          <>
                            <Link
                              className="button button--small button--icon button--ghost"
                              href={`${api.route}new/?from=${encodeURIComponent(id)}`}
                              aria-label={`Duplicate ${id}`}
                              title="Duplicate"
                            >
                              <Icon name="copy" />
                            </Link>
                            <button
                              type="button"
                              className="button button--small button--icon button--ghost button--danger"
                              aria-label={`Delete ${id}`}
                              title="Delete"
                              onClick={() => setDeleting(item)}
                            >
                              <Icon name="trash" />
                            </button>
                          </>
                        )}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {loaded.phase === 'ready' && total > 0 && (
        <nav className="pagination" aria-label="Pagination">
          <span className="muted">
            {first}–{last} of {total}
          </span>
          <span className="spacer" />
          <label className="page-size">
            <span className="muted">Per page</span>
            <select
              className="input select input--compact"
              value={filters.pageSize}
              onChange={(event) => update({ pageSize: Number(event.target.value), page: 1 })}
            >
              {PAGE_SIZES.map((size) => (
                <option key={size} value={size}>
                  {size}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="button button--icon"
            aria-label="Previous page"
            disabled={filters.page <= 1}
            onClick={() => update({ page: filters.page - 1 })}
          >
            <Icon name="chevronLeft" />
          </button>
          <span className="page-indicator">
            {filters.page} / {pages}
          </span>
          <button
            type="button"
            className="button button--icon"
            aria-label="Next page"
            disabled={filters.page >= pages}
            onClick={() => update({ page: filters.page + 1 })}
          >
            <Icon name="chevronRight" />
          </button>
        </nav>
      )}

      {deleting && (
        <DeleteDialog
          api={api as ResourceApi<unknown, unknown>}
          client={client}
          id={idOf(deleting)}
          name={deleting.value.name}
          onClose={() => setDeleting(undefined)}
          onDeleted={() => {
            setDeleting(undefined);
            setReload((count) => count + 1);
          }}
        />
      )}
    </div>
  );
}

export function LabelChips({
  labels,
  onPick,
}: {
  labels?: Record<string, string>;
  onPick?(key: string): void;
}) {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <span className="chips">
      {entries.map(([key, value]) =>
        onPick ? (
          <button
            type="button"
            key={key}
            className="chip chip--label"
            title={`Filter by label ${key}`}
            onClick={() => onPick(key)}
          >
            {key}:{value}
          </button>
        ) : (
          <span key={key} className="chip chip--label">
            {key}:{value}
          </span>
        ),
      )}
    </span>
  );
}
