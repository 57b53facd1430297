/**
 * A one-shot message that survives a client-side navigation (e.g. "Stream route 1 saved" shown
 * on the list the editor returns to).
 */
let pending: string | undefined;

export function setFlash(message: string): void {
  pending = message;
}

export function takeFlash(): string | undefined {
  const message = pending;
  pending = undefined;
  return message;
}
