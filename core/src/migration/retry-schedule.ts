// When a migration that failed transiently is tried again. One schedule, used by the worker (which
// enqueues the next attempt with exactly this delay) and shown by the API ("attempt 2 of 7, next
// retry at …"), so what the panel says is what happens.
//
// Invariants:
// - An attempt is one run of the job (a claim of the migration row). Attempt n (1-based) that fails
//   transiently is followed by attempt n+1 after baseSeconds · 2^(n-1), while n < maxAttempts;
//   attempt maxAttempts failing ends the migration FAILED. Permanent failures end it at once.

export interface RetryPolicy {
  /** MIGRATION_RETRIES: retries after the first attempt. */
  retries: number;
  /** MIGRATION_RETRY_DELAY_SECONDS: pause before the first retry. */
  baseSeconds: number;
}

export function maxAttempts(p: RetryPolicy): number {
  return p.retries + 1;
}

/** Seconds to wait after attempt `attempt` failed; null when no attempt follows. */
export function retryDelaySeconds(p: RetryPolicy, attempt: number, max = maxAttempts(p)): number | null {
  if (attempt >= max) return null;
  return p.baseSeconds * 2 ** Math.max(0, attempt - 1);
}

/**
 * When the last attempt starts if every attempt before it fails at once: after attempt `attempt`
 * failed, the next starts at `nextRetryAt`, each later one after its own pause. If that last attempt
 * fails too, the migration ends FAILED — the time the panel gives as "gives up after".
 */
export function lastAttemptAt(p: RetryPolicy, attempt: number, nextRetryAt: Date, max = maxAttempts(p)): Date {
  let at = nextRetryAt.getTime();
  for (let a = attempt + 1; a < max; a++) at += (retryDelaySeconds(p, a, max) ?? 0) * 1000;
  return new Date(at);
}

/** Every pause of the schedule, in order (for the docs and the tests). */
export function schedule(p: RetryPolicy): number[] {
  return Array.from({ length: p.retries }, (_, i) => retryDelaySeconds(p, i + 1)!);
}
