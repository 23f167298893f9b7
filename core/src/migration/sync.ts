// Keep-in-sync migrations ("keep in sync until cut-over"): the interval rules and when a run is the
// last one. Shared by the API (validation, what it shows) and the worker (what it does next).
//
// Invariants:
// - A sync-mode migration's first run is the full, verified copy; every later run (status SYNCING)
//   copies only what lies after each folder's UID checkpoint and is not verified — except the last,
//   which follows finishMigration and is verified like a one-time migration before SUCCEEDED.
// - The run that finishMigration asked for must start after the request: a request that arrives
//   while a sync runs makes that sync end with an immediate next one (the last), never the running one.

export const SYNC_INTERVAL_DEFAULT = 15;
export const SYNC_INTERVAL_MIN = 5;
export const SYNC_INTERVAL_MAX = 1440;

/** Null when valid; otherwise the message for the `sync.intervalMinutes` field. */
export function syncIntervalProblem(minutes: number): string | null {
  if (!Number.isInteger(minutes) || minutes < SYNC_INTERVAL_MIN || minutes > SYNC_INTERVAL_MAX)
    return `The interval must be a whole number of minutes between ${SYNC_INTERVAL_MIN} and ${SYNC_INTERVAL_MAX} (one day)`;
  return null;
}

/** Seconds until the next sync; `minuteSeconds` is 60 except in tests (MIGRATION_SYNC_MINUTE_SECONDS). */
export function syncDelaySeconds(intervalMinutes: number, minuteSeconds = 60): number {
  return Math.max(1, Math.ceil(intervalMinutes * minuteSeconds));
}

export interface RunKind {
  /** Minutes between syncs; null for a one-time migration. */
  syncIntervalMinutes: number | null;
  /** The first copy is done: this run is a sync (status SYNCING when it was claimed). */
  syncRun: boolean;
  /** finishMigration had been called when this run was claimed. */
  finishRequested: boolean;
}

/** Whether this run ends the migration (SUCCEEDED/FAILED) rather than going back to IDLE. */
export function isFinalRun(k: RunKind): boolean {
  return k.syncIntervalMinutes === null || (k.syncRun && k.finishRequested);
}

/** Whether the VERIFYING phase runs: a migration's first full copy, and its last run. */
export function verifiesRun(k: RunKind): boolean {
  return !k.syncRun || isFinalRun(k);
}
