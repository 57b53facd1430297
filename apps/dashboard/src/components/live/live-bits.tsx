'use client';

import { useEffect } from 'react';
import { Icon } from '../icons';

/** What the live-state badge of a live view tells: live or paused, since when, or what failed. */
export interface LiveStatus {
  paused: boolean;
  /** Epoch milliseconds of the last successful answer. */
  updatedAt?: number;
  /** Why the last refresh failed; cleared by the next answer. */
  error?: string;
  intervalMs: number;
}

/** "Live · updated 15:02:11" with a pulsing dot, or "Paused", or the last refresh's error. */
export function LiveState({ status }: { status: LiveStatus }) {
  const { paused, updatedAt, error, intervalMs } = status;
  const time = updatedAt === undefined ? undefined : new Date(updatedAt).toLocaleTimeString();
  if (error) {
    return (
      <span className="live-state live-state--error" role="status" title={error}>
        <Icon name="alert" size={14} /> Refresh failed: {error}
      </span>
    );
  }
  return (
    <span
      className={`live-state${paused ? ' live-state--paused' : ''}`}
      role="status"
      title={`Refreshed every ${intervalMs / 1000} s while live`}
    >
      <span className="live-dot" aria-hidden="true" />
      {paused ? 'Paused' : 'Live'}
      {time && <span className="muted"> · {time}</span>}
    </span>
  );
}

export function PauseButton({ paused, onToggle }: { paused: boolean; onToggle(): void }) {
  return (
    <button type="button" className="button" aria-pressed={paused} onClick={onToggle}>
      <Icon name={paused ? 'play' : 'pause'} /> {paused ? 'Resume' : 'Pause'}
    </button>
  );
}

/** A short confirmation at the bottom right ("Connection 12 closed."), gone after 5 s. */
export function Notice({ message, onDone }: { message?: string; onDone(): void }) {
  useEffect(() => {
    if (!message) return;
    const timer = window.setTimeout(onDone, 5000);
    return () => window.clearTimeout(timer);
  }, [message, onDone]);
  if (!message) return null;
  return (
    <div className="toast" role="status">
      <Icon name="check" /> {message}
      <button
        type="button"
        className="button button--icon button--ghost"
        aria-label="Dismiss"
        onClick={onDone}
      >
        <Icon name="close" />
      </button>
    </div>
  );
}

/** Filters of a live view kept in the URL (`?route_id=1&node=10.0.0.1:3306`). */
export function writeQuery(values: Record<string, string | undefined>): void {
  const query = queryText(values);
  window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}`);
}

/** The query string of `values` without the empty ones (`route_id=1&node=10.0.0.1%3A3306`). */
export function queryText(values: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) params.set(key, value);
  return params.toString();
}
