import type { NodeRuntime } from './balanced-node';

/** Decay time of the connect-time average, as APISIX's ewma balancer (DECAY_TIME = 10s). */
export const EWMA_DECAY_MILLISECONDS = 10_000;

/**
 * A failed connect counts as this slow. Beyond APISIX (whose stream ewma cannot run, spec 3.10):
 * without a penalty a node that refuses instantly would look like the fastest one.
 */
export const FAILED_CONNECT_PENALTY_MILLISECONDS = 5_000;

/**
 * Beyond APISIX: a sample always weighs at least as much as one taken this long after the previous
 * one. With the plain formula a burst of samples in the same millisecond would be ignored.
 */
const MINIMUM_SAMPLE_SPACING_MILLISECONDS = 1_000;

/** The average as seen at `now`: it decays towards 0 while idle, so a slow node gets another chance. */
export function decayedEwma(runtime: NodeRuntime, now: number): number {
  if (!runtime.hasEwmaSample) return 0;
  const elapsed = Math.max(0, now - runtime.ewmaUpdatedAt);
  return runtime.ewmaMilliseconds * Math.exp(-elapsed / EWMA_DECAY_MILLISECONDS);
}

export function recordEwmaSample(
  runtime: NodeRuntime,
  sampleMilliseconds: number,
  now: number,
): void {
  if (!runtime.hasEwmaSample) {
    runtime.ewmaMilliseconds = sampleMilliseconds;
  } else {
    const elapsed = Math.max(MINIMUM_SAMPLE_SPACING_MILLISECONDS, now - runtime.ewmaUpdatedAt);
    const keep = Math.exp(-elapsed / EWMA_DECAY_MILLISECONDS);
    runtime.ewmaMilliseconds = runtime.ewmaMilliseconds * keep + sampleMilliseconds * (1 - keep);
  }
  runtime.ewmaUpdatedAt = now;
  runtime.hasEwmaSample = true;
}
