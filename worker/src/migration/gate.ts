// The concurrency gate every migration passes before it runs: at most MIGRATION_PER_HOST_CONCURRENCY
// at once per source host (old servers throttle logins and bandwidth) and, when set,
// MIGRATION_GLOBAL_CONCURRENCY across all workers. It lives in PostgreSQL, so any number of worker
// processes share one set of slots.
//
// Invariants:
// - A slot is held by a queued/running migration whose runner holds a live lease, or that the gate
//   admitted less than MIGRATION_LEASE_SECONDS ago (its runner is about to take the lease). A runner
//   that crashed, or an admission whose job never ran, frees its slot when that time runs out:
//   nothing has to be released by hand for the counts to be right.
// - Admissions are serialised by one advisory transaction lock: two workers never both take the
//   last slot.
// - A keep-in-sync migration (SYNCING) holds a slot only while a sync runs (its lease); its next sync
//   passes the gate like any run, and waiting leaves its phase IDLE (claim() reads it for "due").
// - Waiting keeps its place: a migration over a limit records gate_waiting_since once (its place in
//   line), shows phase WAITING, and its job ends. Slots go to the oldest waiting migration of a host
//   first. Whoever frees a slot (a run that ends, or the watchdog for a crashed one) admits the next
//   in line and enqueues its job in the same transaction — no polling per waiting migration.
import type { PgBoss } from 'pg-boss';
import { db, type Tx } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { enqueue } from '@mailpanel/core/jobs';
import { publish } from '@mailpanel/core/pubsub';

const GATE_LOCK = 'migration-gate';
/** Waiting migrations looked at per admission round (the oldest first). */
const SCAN = 500;

export interface GateLimits {
  perHost: number;
  /** 0: no global cap. */
  global: number;
  leaseSeconds: number;
}

export function gateLimits(): GateLimits {
  const cfg = config();
  return { perHost: cfg.MIGRATION_PER_HOST_CONCURRENCY, global: cfg.MIGRATION_GLOBAL_CONCURRENCY, leaseSeconds: cfg.MIGRATION_LEASE_SECONDS };
}

/**
 * Which of the waiting migrations (oldest first) may start now, given the slots held per host.
 * Pure: the arithmetic of the gate, apart from its I/O.
 */
export function pickAdmissions(waiting: { id: string; host: string }[], held: Map<string, number>, limits: Pick<GateLimits, 'perHost' | 'global'>): string[] {
  const perHost = new Map(held);
  let total = [...held.values()].reduce((a, b) => a + b, 0);
  const admitted: string[] = [];
  for (const w of waiting) {
    if (limits.global > 0 && total >= limits.global) break;
    const n = perHost.get(w.host) ?? 0;
    if (n >= limits.perHost) continue;
    perHost.set(w.host, n + 1);
    total++;
    admitted.push(w.id);
  }
  return admitted;
}

async function lockGate(tx: Tx) {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${GATE_LOCK}))`;
}

async function heldSlots(tx: Tx, leaseSeconds: number): Promise<Map<string, number>> {
  const rows = await tx.$queryRaw<{ host: string; n: number }[]>`
    SELECT lower(source_host) AS host, count(*)::int AS n FROM migrations
    WHERE status IN ('QUEUED', 'RUNNING', 'SYNCING') AND (
      (lease_id IS NOT NULL AND heartbeat_at > now() - make_interval(secs => ${leaseSeconds}))
      OR gate_slot_at > now() - make_interval(secs => ${leaseSeconds}))
    GROUP BY 1`;
  return new Map(rows.map((r) => [r.host, r.n]));
}

/**
 * Admits waiting migrations while slots are free (oldest first) and enqueues their jobs, except
 * for `self` (whose job is the caller). Returns the admitted ids.
 */
async function admit(tx: Tx, boss: PgBoss, limits: GateLimits, self?: string): Promise<string[]> {
  const held = await heldSlots(tx, limits.leaseSeconds);
  const waiting = await tx.$queryRaw<{ id: string; host: string }[]>`
    SELECT id, lower(source_host) AS host FROM migrations
    WHERE status IN ('QUEUED', 'RUNNING', 'SYNCING') AND NOT cancel_requested AND gate_waiting_since IS NOT NULL
      AND NOT (lease_id IS NOT NULL AND heartbeat_at > now() - make_interval(secs => ${limits.leaseSeconds}))
      AND (gate_slot_at IS NULL OR gate_slot_at <= now() - make_interval(secs => ${limits.leaseSeconds}))
    ORDER BY gate_waiting_since, id
    LIMIT ${SCAN}`;
  const ids = pickAdmissions(waiting, held, limits);
  if (!ids.length) return ids;
  await tx.$executeRaw`UPDATE migrations SET gate_slot_at = now() WHERE id = ANY(${ids}::uuid[])`;
  for (const id of ids) if (id !== self) await enqueue(boss, tx, 'migrate-mailbox', { migrationId: id });
  return ids;
}

/**
 * Called by a migration's job before it runs. 'run': it holds a slot (or is not the gate's to hold:
 * ended, or a live runner elsewhere — runMigration sorts that out). 'wait': it is in line; a freed
 * slot enqueues it again.
 */
export async function enterGate(boss: PgBoss, migrationId: string, limits = gateLimits()): Promise<'run' | 'wait'> {
  const verdict = await db().$transaction(async (tx) => {
    await lockGate(tx);
    const [row] = await tx.$queryRaw<{ active: boolean; live: boolean; admitted: boolean }[]>`
      SELECT status IN ('QUEUED', 'RUNNING', 'SYNCING') AND NOT cancel_requested AS active,
        lease_id IS NOT NULL AND heartbeat_at > now() - make_interval(secs => ${limits.leaseSeconds}) AS live,
        gate_slot_at > now() - make_interval(secs => ${limits.leaseSeconds}) AS admitted
      FROM migrations WHERE id = ${migrationId}::uuid`;
    if (!row || !row.active || row.live) return 'run' as const;
    if (!row.admitted) {
      await tx.$executeRaw`
        UPDATE migrations SET gate_waiting_since = COALESCE(gate_waiting_since, now()),
          phase = CASE WHEN phase = 'IDLE' THEN phase ELSE 'WAITING'::"MigrationPhase" END, updated_at = now()
        WHERE id = ${migrationId}::uuid`;
      const admitted = await admit(tx, boss, limits, migrationId);
      if (!admitted.includes(migrationId)) return 'wait' as const;
    }
    // Its slot is reserved until the runner's lease takes over; it has left the line.
    await tx.$executeRaw`UPDATE migrations SET gate_waiting_since = NULL WHERE id = ${migrationId}::uuid`;
    return 'run' as const;
  });
  if (verdict === 'wait') await publish(db(), `migration:${migrationId}`, { id: migrationId, status: 'QUEUED' }).catch(() => {});
  return verdict;
}

/** Called when a migration's job ends (whatever the outcome): frees its reservation, admits the next in line. */
export async function leaveGate(boss: PgBoss, migrationId: string, limits = gateLimits()): Promise<void> {
  await db().$transaction(async (tx) => {
    await lockGate(tx);
    await tx.$executeRaw`UPDATE migrations SET gate_slot_at = NULL WHERE id = ${migrationId}::uuid`;
    await admit(tx, boss, limits);
  });
}

/** The watchdog's round: slots freed by crashed runners or lost admissions go to the next in line. */
export async function admitWaiting(boss: PgBoss, limits = gateLimits()): Promise<number> {
  return db().$transaction(async (tx) => {
    await lockGate(tx);
    return (await admit(tx, boss, limits)).length;
  });
}
