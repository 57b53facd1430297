'use client';

import { useEffect, useRef } from 'react';
import { queryText, writeQuery } from './live-bits';

/**
 * Keeps a live view's filters in the URL (so a link shares them) and asks for their result at
 * once when they change, without waiting for the next tick and also while paused. The first
 * render does neither: the URL already holds those filters and the first load is the poll's own.
 */
export function useFiltersInUrl(
  filters: Record<string, string | undefined>,
  refresh: () => void,
): void {
  // The URL leaves empty values out, so its text is also what tells a change of filter apart.
  const query = queryText(filters);
  const shownQuery = useRef(query);
  // The effect runs on a change of `query` alone, but writes the filters of that same render.
  const latestFilters = useRef(filters);
  latestFilters.current = filters;
  useEffect(() => {
    if (shownQuery.current === query) return;
    shownQuery.current = query;
    writeQuery(latestFilters.current);
    refresh();
  }, [query, refresh]);
}
