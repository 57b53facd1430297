'use client';

import {
  createStraitClient,
  listUpstreams,
  validateAgainstSchema,
  type Client,
} from '@strait/api-client';
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, call } from './api';

export type Role = 'admin' | 'viewer';

export interface Session {
  client: Client;
  role: Role;
  /** Admin keys may write; viewer keys only read (the API refuses their writes). */
  canWrite: boolean;
  signOut(reason?: string): void;
}

/** Only this browser tab's session storage: closing the tab forgets the key. */
const STORAGE_KEY = 'strait.adminKey';

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside the signed-in shell');
  return session;
}

function makeClient(apiKey: string): Client {
  // The dashboard listener serves the admin API on its own origin (no CORS, no configuration).
  return createStraitClient({ baseUrl: window.location.origin, apiKey });
}

/**
 * Checks a key and finds its role: a read proves the key, and a schema validation (a POST that
 * stores nothing) tells an admin key from a viewer key, which the API refuses with
 * `invalid method for role viewer`.
 */
export async function probeKey(apiKey: string): Promise<Role> {
  const client = makeClient(apiKey);
  await call(listUpstreams({ client, query: { page: 1, page_size: 10 } }));
  try {
    await call(validateAgainstSchema({ client, path: { resource: 'stream_routes' }, body: {} }));
  } catch (error) {
    if (error instanceof ApiError && error.isViewerRefusal) return 'viewer';
  }
  return 'admin';
}

type State =
  | { phase: 'starting' }
  | { phase: 'signed-out'; notice?: string }
  | { phase: 'signed-in'; apiKey: string; role: Role };

export interface SessionGateProps {
  renderSignIn(props: {
    notice?: string;
    onSignedIn(apiKey: string, role: Role): void;
  }): React.ReactNode;
  renderStarting(): React.ReactNode;
  children: React.ReactNode;
}

export function SessionGate({ renderSignIn, renderStarting, children }: SessionGateProps) {
  const [state, setState] = useState<State>({ phase: 'starting' });

  useEffect(() => {
    const stored = window.sessionStorage.getItem(STORAGE_KEY);
    if (stored === null) {
      setState({ phase: 'signed-out' });
      return;
    }
    let cancelled = false;
    probeKey(stored).then(
      (role) => !cancelled && setState({ phase: 'signed-in', apiKey: stored, role }),
      (error: unknown) => {
        if (cancelled) return;
        if (error instanceof ApiError && error.isAuthFailure) {
          window.sessionStorage.removeItem(STORAGE_KEY);
          setState({ phase: 'signed-out', notice: 'The stored key was refused; sign in again.' });
        } else {
          // The service may be restarting: keep the key and let the pages show their errors.
          setState({ phase: 'signed-in', apiKey: stored, role: 'viewer' });
        }
      },
    );
    return () => {
      cancelled = true;
    };
  }, []);

  const signOut = useCallback((reason?: string) => {
    window.sessionStorage.removeItem(STORAGE_KEY);
    setState({ phase: 'signed-out', notice: reason });
  }, []);

  const onSignedIn = useCallback((apiKey: string, role: Role) => {
    window.sessionStorage.setItem(STORAGE_KEY, apiKey);
    setState({ phase: 'signed-in', apiKey, role });
  }, []);

  const apiKey = state.phase === 'signed-in' ? state.apiKey : undefined;
  const role = state.phase === 'signed-in' ? state.role : 'viewer';
  const client = useMemo(() => {
    if (apiKey === undefined) return undefined;
    const created = makeClient(apiKey);
    created.interceptors.error.use((error, response) => {
      if (response?.status === 401) {
        const description = (error as { description?: unknown } | undefined)?.description;
        if (description === 'invalid method for role viewer') {
          // The key lost its admin role (config reloaded): degrade to the read-only UI.
          setState((current) =>
            current.phase === 'signed-in' ? { ...current, role: 'viewer' } : current,
          );
        } else {
          window.sessionStorage.removeItem(STORAGE_KEY);
          setState({
            phase: 'signed-out',
            notice: `The API refused the key (${String(description ?? 'unauthorized')}).`,
          });
        }
      }
      return error;
    });
    return created;
  }, [apiKey]);

  const session = useMemo<Session | null>(
    () => (client ? { client, role, canWrite: role === 'admin', signOut } : null),
    [client, role, signOut],
  );

  if (state.phase === 'starting') return renderStarting();
  if (state.phase === 'signed-out' || session === null) {
    return renderSignIn({
      notice: state.phase === 'signed-out' ? state.notice : undefined,
      onSignedIn,
    });
  }
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}
