'use client';

import { useEffect, useState } from 'react';
import { takeFlash } from '../lib/flash';
import { Icon } from './icons';

/** Shows the message a previous page left (e.g. "Upstream 1 saved.") for a few seconds. */
export function FlashToast() {
  const [message, setMessage] = useState<string>();
  useEffect(() => {
    const flash = takeFlash();
    if (!flash) return;
    setMessage(flash);
    const timer = window.setTimeout(() => setMessage(undefined), 5000);
    return () => window.clearTimeout(timer);
  }, []);
  if (!message) return null;
  return (
    <div className="toast" role="status">
      <Icon name="check" /> {message}
      <button
        type="button"
        className="button button--icon button--ghost"
        aria-label="Dismiss"
        onClick={() => setMessage(undefined)}
      >
        <Icon name="close" />
      </button>
    </div>
  );
}
