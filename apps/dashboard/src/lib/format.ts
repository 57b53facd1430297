/** "3 min ago" for epoch seconds (the API's create_time / update_time). */
export function relativeTime(epochSeconds: number | undefined, now = Date.now()): string {
  if (epochSeconds === undefined) return '—';
  const seconds = Math.round(now / 1000 - epochSeconds);
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days < 60) return `${days} d ago`;
  return formatDate(new Date(epochSeconds * 1000));
}

export function formatDateTime(epochSeconds: number | undefined): string {
  if (epochSeconds === undefined) return '';
  return new Date(epochSeconds * 1000).toLocaleString();
}

/** 2026-12-26: unambiguous in every locale. */
export function formatDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
