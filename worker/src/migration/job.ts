// The pg-boss side of migrations: the 'migrate-mailbox' handler, and the watchdog that gives a dead
// worker's migration to a live one.
//
// Invariants:
// - Concurrency is bounded per worker (MIGRATION_CONCURRENCY via the queue's localConcurrency), and
//   each migration runs in its own job: a slow or failing migration never blocks another.
// - The job ends successfully whatever the migration's outcome: a permanent failure leaves the row
//   FAILED; a transient one leaves it WAITING with next_retry_at, and the runner has enqueued the
//   next attempt (startAfter = the schedule's delay) in the same transaction. pg-boss's own retries
//   only cover a handler that crashed.
// - Resumption does not wait for pg-boss to notice a dead worker: any worker's watchdog finds a
//   RUNNING migration whose lease has not been renewed for MIGRATION_LEASE_SECONDS, clears the lease
//   and enqueues a new job in the same transaction; exactly one watchdog wins the row. pg-boss's own
//   heartbeat stays as the second line of defence; a job that finds its migration leased elsewhere
//   or finished just completes. A keep-in-sync migration's sync (status SYNCING) is resumed the same
//   way; between syncs it holds no lease and its next sync waits as a pg-boss job (startAfter).
// - Before it runs, a migration passes the gate (gate.ts): a few per source host and a global cap,
//   across all workers. Over a limit, its job ends and the migration waits in line; every job that
//   ends, and the watchdog, hands freed slots to the next in line.
import type { PgBoss } from 'pg-boss';
import { db, isDatabaseUnavailable } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { enqueue, type JobPayload } from '@mailpanel/core/jobs';
import { log } from '@mailpanel/core/logger';
import { runMigration } from './run-migration.js';
import { admitWaiting, enterGate, leaveGate } from './gate.js';

const running = new Set<AbortController>();
/** The worker's queue, for enqueueing a migration's next attempt (set by startMigrationWatchdog). */
let queue: PgBoss | null = null;

export async function migrateMailbox(payload: JobPayload<'migrate-mailbox'>, job?: { retryCount?: number; signal?: AbortSignal }): Promise<void> {
  const boss = queue;
  // Without a queue (the benchmark) nobody could enqueue it again later: no gate.
  if (boss && (await enterGate(boss, payload.migrationId)) === 'wait') return;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  job?.signal?.addEventListener('abort', onAbort, { once: true });
  running.add(controller);
  try {
    const outcome = await runMigration(payload.migrationId, {
      signal: controller.signal,
      scheduleRetry: boss ? (tx, delaySeconds) => enqueue(boss, tx, 'migrate-mailbox', payload, { startAfterSeconds: delaySeconds }) : undefined,
    });
    if (outcome === 'retry') throw new Error('migration interrupted; pg-boss retries it');
  } finally {
    running.delete(controller);
    job?.signal?.removeEventListener('abort', onAbort);
    if (boss) await leaveGate(boss, payload.migrationId).catch((err) => log.warn('migration: could not free its gate slot', { err }));
  }
}

/** Stops every migration this process runs at its next batch (the worker is shutting down). */
export function interruptMigrations(): void {
  for (const c of running) c.abort();
}

/** Re-enqueues migrations whose runner died. Returns how many it took over. */
export async function resumeStaleMigrations(boss: PgBoss, leaseSeconds = config().MIGRATION_LEASE_SECONDS): Promise<number> {
  const stale = await db().$queryRaw<{ id: string }[]>`
    SELECT id FROM migrations
    WHERE status IN ('RUNNING', 'SYNCING') AND lease_id IS NOT NULL AND heartbeat_at < now() - make_interval(secs => ${leaseSeconds})
    LIMIT 50`;
  let taken = 0;
  for (const { id } of stale) {
    const won = await db().$transaction(async (tx) => {
      const n = await tx.$executeRaw`
        UPDATE migrations SET lease_id = NULL, phase = 'WAITING', updated_at = now()
        WHERE id = ${id}::uuid AND status IN ('RUNNING', 'SYNCING') AND lease_id IS NOT NULL AND heartbeat_at < now() - make_interval(secs => ${leaseSeconds})`;
      if (n === 1) await enqueue(boss, tx, 'migrate-mailbox', { migrationId: id });
      return n === 1;
    });
    if (won) {
      taken++;
      log.info('migration: resuming after a lost worker', { migrationId: id });
    }
  }
  return taken;
}

export function startMigrationWatchdog(boss: PgBoss): { stop(): void } {
  queue = boss;
  const every = Math.max(1000, Math.floor((config().MIGRATION_LEASE_SECONDS * 1000) / 3));
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await resumeStaleMigrations(boss);
      await admitWaiting(boss);
    } catch (err) {
      // A database outage is logged once, by the pg-boss error handler (core/src/database-outage.ts).
      if (!isDatabaseUnavailable(err)) log.warn('migration watchdog failed', { err });
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), every);
  timer.unref();
  void tick();
  return { stop: () => clearInterval(timer) };
}
