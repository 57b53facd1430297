'use client';

import { useEffect, useState, type ReactNode } from 'react';
import { errorText, idOf, listAll, type Item, type ResourceApi } from '../../lib/api';
import { useSession } from '../../lib/session';
import { Field } from './fields';

/** A select over the objects of one resource (e.g. upstream_id), loaded from the API. */
export function ResourceSelect<Dto extends { name?: string; desc?: string }>({
  api,
  path,
  label,
  value,
  onChange,
  hint,
  emptyLabel = '— none —',
  filter,
  describe,
}: {
  api: ResourceApi<Dto, unknown>;
  path: string;
  label: ReactNode;
  value: string;
  onChange(value: string): void;
  hint?: ReactNode;
  emptyLabel?: string;
  filter?(item: Item<Dto>): boolean;
  describe?(item: Item<Dto>): string;
}) {
  const { client } = useSession();
  const [items, setItems] = useState<Item<Dto>[] | undefined>();
  const [loadError, setLoadError] = useState<string>();

  useEffect(() => {
    let cancelled = false;
    listAll(api, client).then(
      (list) => !cancelled && setItems(list),
      (error: unknown) => !cancelled && setLoadError(errorText(error)),
    );
    return () => {
      cancelled = true;
    };
  }, [api, client]);

  const shown = (items ?? []).filter((item) => (filter ? filter(item) : true));
  const known = value === '' || shown.some((item) => idOf(item) === value);
  const text = (item: Item<Dto>) => {
    if (describe) return describe(item);
    const name = item.value.name ?? item.value.desc;
    return name ? `${name} (${idOf(item)})` : idOf(item);
  };
  return (
    <Field
      path={path}
      label={label}
      hint={loadError ? `Could not load the list: ${loadError}` : hint}
    >
      {(id, invalid) => (
        <select
          id={id}
          className="input select"
          value={value}
          aria-invalid={invalid || undefined}
          onChange={(event) => onChange(event.target.value)}
        >
          <option value="">{items === undefined && !loadError ? 'Loading…' : emptyLabel}</option>
          {!known && <option value={value}>{`${value} (not found)`}</option>}
          {shown.map((item) => (
            <option key={item.key} value={idOf(item)}>
              {text(item)}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
