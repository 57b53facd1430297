/**
 * Runs a resource's checks in APISIX's order and stops at the first failure. Checks that need the
 * store are `reference` steps: skipped by the synchronous entry points, run by the `...WithReferences`
 * ones, so the caller gets APISIX's exact ordering either way.
 */

export type ValidationResult =
  { readonly ok: true } | { readonly ok: false; readonly message: string };

/** The stored fields the reference checks read. */
export interface StoredStreamRoute {
  readonly protocol?: { readonly name?: unknown };
}
export interface StoredSsl {
  readonly type?: unknown;
}

type MaybePromise<T> = T | Promise<T>;

/** Store look-ups for the reference checks; ids are passed as strings (`/upstreams/<id>`). */
export interface ReferenceLookups {
  upstreamExists(id: string): MaybePromise<boolean>;
  serviceExists(id: string): MaybePromise<boolean>;
  findStreamRoute(id: string): MaybePromise<StoredStreamRoute | undefined>;
  findSsl(id: string): MaybePromise<StoredSsl | undefined>;
}

export type ValidationStep =
  | { readonly kind: 'local'; readonly run: () => string | undefined }
  | {
      readonly kind: 'reference';
      readonly run: (references: ReferenceLookups) => Promise<string | undefined>;
    };

export function localStep(run: () => string | undefined): ValidationStep {
  return { kind: 'local', run };
}

export function referenceStep(
  run: (references: ReferenceLookups) => Promise<string | undefined>,
): ValidationStep {
  return { kind: 'reference', run };
}

/** Wraps steps so they only run when `applies()` holds at the time they are reached. */
export function stepsWhen(applies: () => boolean, steps: ValidationStep[]): ValidationStep[] {
  return steps.map((step) =>
    step.kind === 'local'
      ? localStep(() => (applies() ? step.run() : undefined))
      : referenceStep(async (references) => (applies() ? step.run(references) : undefined)),
  );
}

function toResult(message: string | undefined): ValidationResult {
  return message === undefined ? { ok: true } : { ok: false, message };
}

/** Runs the local steps only. */
export function runLocalSteps(steps: readonly ValidationStep[]): ValidationResult {
  for (const step of steps) {
    if (step.kind !== 'local') continue;
    const message = step.run();
    if (message !== undefined) return toResult(message);
  }
  return toResult(undefined);
}

/** Runs every step, in order, awaiting the store look-ups. */
export async function runAllSteps(
  steps: readonly ValidationStep[],
  references: ReferenceLookups,
): Promise<ValidationResult> {
  for (const step of steps) {
    const message = step.kind === 'local' ? step.run() : await step.run(references);
    if (message !== undefined) return toResult(message);
  }
  return toResult(undefined);
}
