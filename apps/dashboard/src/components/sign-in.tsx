'use client';

import { useState } from 'react';
import { ApiError, errorText } from '../lib/api';
import { probeKey, type Role } from '../lib/session';
import { Logo } from './logo';

export function SignIn({
  notice,
  onSignedIn,
}: {
  notice?: string;
  onSignedIn(apiKey: string, role: Role): void;
}) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    const apiKey = key.trim();
    if (apiKey === '') {
      setError('Enter an admin key.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(apiKey, await probeKey(apiKey));
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? `The API refused this key (${failure.description ?? failure.message}).`
          : errorText(failure),
      );
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <form
        className="sign-in-card"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <div className="sign-in-brand">
          <Logo size={36} />
          <div>
            <h1>Strait</h1>
            <p className="muted">L4 proxy dashboard</p>
          </div>
        </div>
        <label className="field-label" htmlFor="admin-key">
          Admin key
        </label>
        <input
          id="admin-key"
          className="input mono"
          type="password"
          autoComplete="off"
          autoFocus
          value={key}
          placeholder="deployment.admin.admin_key[].key"
          onChange={(event) => setKey(event.target.value)}
        />
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="button button--primary button--block" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p className="field-hint">
          A key from <code>deployment.admin.admin_key</code> in config.yaml. A viewer key gives a
          read-only dashboard. The key is kept in this tab only (session storage) and sent as{' '}
          <code>X-API-KEY</code>.
        </p>
      </form>
    </main>
  );
}
