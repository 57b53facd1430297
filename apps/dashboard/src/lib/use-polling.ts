'use client';

import { useCallback, useEffect, useRef, useState } from 'react';

export interface Polling {
  /** Epoch milliseconds of the last successful run. */
  updatedAt?: number;
  /** The last failure's text; cleared by the next success. */
  error?: string;
  /** Runs the task now (and restarts the interval). */
  refresh(): void;
}

/**
 * Runs `task` now and then every `intervalMs` while not paused and while the tab is visible; a
 * run never overlaps the previous one, and a run that ends after the component is gone (or after
 * a newer run started) is ignored. `task` may change between renders without restarting.
 */
export function usePolling(
  task: (isCurrent: () => boolean) => Promise<void>,
  intervalMs: number,
  paused = false,
  describeError: (error: unknown) => string = String,
): Polling {
  const taskRef = useRef(task);
  taskRef.current = task;
  const describeRef = useRef(describeError);
  describeRef.current = describeError;
  const [updatedAt, setUpdatedAt] = useState<number>();
  const [error, setError] = useState<string>();
  const [generation, setGeneration] = useState(0);
  const seenGeneration = useRef<number | undefined>(undefined);

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    let run = 0;
    const tick = async () => {
      timer = undefined;
      if (stopped) return;
      if (document.visibilityState === 'hidden') {
        schedule();
        return;
      }
      const current = (run += 1);
      const isCurrent = () => !stopped && current === run;
      try {
        await taskRef.current(isCurrent);
        if (isCurrent()) {
          setUpdatedAt(Date.now());
          setError(undefined);
        }
      } catch (failure) {
        if (isCurrent()) setError(describeRef.current(failure));
      }
      if (!stopped && !paused) schedule();
    };
    const schedule = () => {
      if (timer === undefined && !stopped) timer = window.setTimeout(() => void tick(), intervalMs);
    };
    const onVisible = () => {
      if (document.visibilityState === 'visible' && !paused && timer !== undefined) {
        window.clearTimeout(timer);
        timer = undefined;
        void tick();
      }
    };
    // Paused, a run happens only on the first load and on refresh() (e.g. a filter changed):
    // pausing itself must not change what is on screen.
    if (!paused || seenGeneration.current !== generation) void tick();
    seenGeneration.current = generation;
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      if (timer !== undefined) window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [intervalMs, paused, generation]);

  const refresh = useCallback(() => setGeneration((count) => count + 1), []);
  return { updatedAt, error, refresh };
}
