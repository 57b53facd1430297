import { readdirSync, readFileSync } from 'node:fs';

/** Open file descriptors of a process (Linux /proc). */
export function openFdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of a process in KiB (VmRSS of /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

/** The soft limit on open files of a process (Max open files in /proc/<pid>/limits). */
export function openFdLimit(pid: number | 'self' = 'self'): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(
    readFileSync(`/proc/${pid}/limits`, 'utf8'),
  );
  if (!match) throw new Error(`no open-files limit for ${pid}`);
  return match[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(match[1]);
}
