'use client';

import { useCallback, useState } from 'react';
import { errorText } from '../../lib/api';
import { usePolling, type Polling } from '../../lib/use-polling';
import type { LiveStatus } from './live-bits';

export interface LiveData<T> extends LiveStatus, Polling {
  /** The last answer; undefined until the first one. */
  data?: T;
  togglePaused(): void;
}

/**
 * The last answer of `load`, asked again every `intervalMs` until the user pauses. A paused view
 * keeps what it shows (so it can be read) but still answers `refresh()`, e.g. a changed filter.
 * `load` may change between renders (new filters) without restarting the interval.
 */
export function useLiveData<T>(load: () => Promise<T>, intervalMs: number): LiveData<T> {
  const [paused, setPaused] = useState(false);
  const [data, setData] = useState<T>();
  const polling = usePolling(
    async (isCurrent) => {
      const answer = await load();
      // An answer overtaken by a newer request (or come after the view is gone) is dropped.
      if (isCurrent()) setData(answer);
    },
    intervalMs,
    paused,
    errorText,
  );
  const togglePaused = useCallback(() => setPaused((value) => !value), []);
  return { ...polling, data, paused, togglePaused, intervalMs };
}
