'use client';

import type { StreamRouteDto } from '@strait/api-client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { idOf, listAll, streamRouteApi } from '../../lib/api';
import { useSession } from '../../lib/session';

/** Reloads at most this often when a live view meets a route id it does not know. */
const RELOAD_AFTER_MS = 5000;

export interface StreamRoutes {
  /** By id, in the API's order; undefined until the first answer. */
  routes?: ReadonlyMap<string, StreamRouteDto>;
  error?: string;
  /** Reloads when `id` is unknown (a route created since), throttled. */
  want(id: string): void;
  reload(): Promise<ReadonlyMap<string, StreamRouteDto>>;
}

/** Every stream route (names and match fields for the live views). */
export function useStreamRoutes(): StreamRoutes {
  const { client } = useSession();
  const [routes, setRoutes] = useState<ReadonlyMap<string, StreamRouteDto>>();
  const [error, setError] = useState<string>();
  const lastLoad = useRef(0);
  const mounted = useRef(true);

  const reload = useCallback(async () => {
    lastLoad.current = Date.now();
    const items = await listAll<StreamRouteDto>(streamRouteApi, client);
    const next = new Map(items.map((item) => [idOf(item), item.value]));
    if (mounted.current) {
      setRoutes(next);
      setError(undefined);
    }
    return next;
  }, [client]);

  useEffect(() => {
    mounted.current = true;
    reload().catch(
      (failure: unknown) =>
        mounted.current && setError(failure instanceof Error ? failure.message : String(failure)),
    );
    return () => {
      mounted.current = false;
    };
  }, [reload]);

  const want = useCallback(
    (id: string) => {
      if (id === '' || routes === undefined || routes.has(id)) return;
      if (Date.now() - lastLoad.current < RELOAD_AFTER_MS) return;
      reload().catch(() => undefined);
    },
    [routes, reload],
  );

  return { routes, error, want, reload };
}
