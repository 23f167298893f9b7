// Job contracts shared by the API (which enqueues) and the worker (which handles): queue names, the
// zod schema of each payload, and the queue policies. A job is always enqueued through enqueue()
// inside the transaction that writes its row, so a crash can never leave one without the other.
import { PgBoss } from 'pg-boss';
import { z } from 'zod';
import type { Tx } from './db.js';
import { config } from './env.js';

export const JOBS = {
  /** endSessions: also end the mailbox's open IMAP/POP3/ManageSieve sessions (password change, disable). */
  'provision-mailbox': z.object({ mailboxId: z.string().uuid(), endSessions: z.boolean().optional() }),
  'delete-mailbox': z.object({ mailboxId: z.string().uuid() }),
  /** The schedule's: purges every deleted mailbox whose grace period has ended (core/src/mailbox-deletion.ts). */
  'purge-mailboxes': z.object({}),
  /** One mailbox (recalculateQuota), or every mailbox when mailboxId is absent (the schedule). */
  'quota-refresh': z.object({ mailboxId: z.string().uuid().optional() }),
  /** Runs (or resumes) one IMAP migration; see worker/src/migration/run-migration.ts. */
  'migrate-mailbox': z.object({ migrationId: z.string().uuid() }),
  /** Makes a DKIM key pair (once), writes its key file for rspamd; see worker/src/handlers/dkim-key.ts. */
  'dkim-key': z.object({ keyId: z.string().uuid() }),
  /** Re-renders rspamd's maps (spam settings, white/blacklists, DKIM selectors) and key files from the rows. */
  'rspamd-sync': z.object({ reason: z.string().max(100).optional() }),
  /** Delivers a quarantined message into its mailbox's INBOX. */
  'quarantine-release': z.object({ itemId: z.string().uuid() }),
  /** Removes a quarantined message's stored file. */
  'quarantine-delete': z.object({ itemId: z.string().uuid() }),
  /** A bulk import whose job failed for good, also by a worker killed on its last try (pg-boss's dead
   *  letter of 'bulk-import', so listed before it: the queue must exist first): ends it FAILED and
   *  wipes its passwords. */
  'bulk-import-abandoned': z.object({ importId: z.string().uuid() }),
  /** Applies a started CSV import of mailboxes; see worker/src/handlers/bulk-import.ts. */
  'bulk-import': z.object({ importId: z.string().uuid() }),
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]>;

type QueuePolicy = { retryLimit: number; retryDelay: number; retryBackoff: boolean; expireInSeconds: number; heartbeatSeconds?: number; deadLetter?: JobName };

// Retries are how the panel waits out an outage of the mail stack (Dovecot, its storage): a failed
// try is retried with exponential backoff from retryDelay, and the pause between tries stops
// growing at JOB_RETRY_DELAY_MAX_SECONDS (default 60 s), so work resumes within that long once the
// stack is back. With the default, the 20 retries cover an outage of about a quarter of an hour;
// only then does a job fail for good. docs/mail-stack.md, "When the mail stack is down".

/** Short jobs: retried with exponential backoff (20 times from 2 s, capped); one stuck past 5 min expires. */
const SHORT: QueuePolicy = { retryLimit: 20, retryDelay: 2, retryBackoff: true, expireInSeconds: 300 };

/** Retries with exponential backoff; a dead worker's job expires and is retried elsewhere. */
export const QUEUE_OPTIONS: Record<JobName, QueuePolicy> = {
  // The heartbeat lets a killed worker's job be taken again within seconds instead of at expiry.
  'provision-mailbox': { ...SHORT, heartbeatSeconds: 10 },
  'delete-mailbox': { ...SHORT, expireInSeconds: 900, heartbeatSeconds: 10 },
  // Only marks rows and enqueues their delete-mailbox jobs; the schedule sends each occurrence once.
  'purge-mailboxes': SHORT,
  // A measurement asked for (recalculateQuota) waits out an outage like any other job; the
  // schedule's are idempotent, so an overlap of two during an outage costs one doveadm call.
  'quota-refresh': { ...SHORT, expireInSeconds: 900 },
  // Minutes to hours: the heartbeat (not the 24 h cap) notices a dead worker. A migration's own
  // failures are retried by the migration itself on the schedule the panel shows
  // (core/src/migration/retry-schedule.ts: it enqueues the next attempt); pg-boss retries only a
  // handler that crashed, a few times.
  'migrate-mailbox': { retryLimit: 3, retryDelay: 10, retryBackoff: true, expireInSeconds: 23 * 3600, heartbeatSeconds: 30 },
  'dkim-key': SHORT,
  'rspamd-sync': SHORT,
  'quarantine-release': SHORT,
  'quarantine-delete': SHORT,
  // Minutes for thousands of rows (hashing); the heartbeat notices a dead worker, rows already
  // written are skipped on the retry (idempotent by address). A job that fails for good — its handler
  // threw on the last try, or its worker died during it — goes to the dead letter queue, whose
  // handler wipes the import's passwords: they never outlive the import.
  'bulk-import': { retryLimit: 3, retryDelay: 5, retryBackoff: true, expireInSeconds: 3600, heartbeatSeconds: 30, deadLetter: 'bulk-import-abandoned' },
  'bulk-import-abandoned': SHORT,
};

/** A provisioned row's state after a failed try: PENDING with the reason while a retry is coming,
 *  FAILED only when no retry follows (FAILED with a retry coming would tell the panel something
 *  untrue). A handler called outside pg-boss (no attempt) is its own last try. */
export function failedTryState(name: JobName, attempt: { retryCount: number } | undefined, err: unknown): { provisioning: 'PENDING' | 'FAILED'; provisioningError: string } {
  const last = !attempt || attempt.retryCount >= QUEUE_OPTIONS[name].retryLimit;
  return { provisioning: last ? 'FAILED' : 'PENDING', provisioningError: (err as Error).message.slice(0, 500) };
}

/** The queue's policy with the configured cap on the backoff (pg-boss retryDelayMax). */
export function queuePolicy(name: JobName): QueuePolicy & { retryDelayMax: number } {
  return { ...QUEUE_OPTIONS[name], retryDelayMax: config().JOB_RETRY_DELAY_MAX_SECONDS };
}

export function createBoss(connectionString: string, opts: { supervise?: boolean } = {}): PgBoss {
  return new PgBoss({
    connectionString,
    schema: 'pgboss',
    max: 4,
    supervise: opts.supervise ?? true,
    // How often missed heartbeats and expired jobs are looked for (a dead worker's jobs come back).
    // A pass needs both timers (pg-boss runs it max(supervise, monitor) apart, claimed per queue by one
    // instance): with monitor at its default of 60 s, a SIGKILLed worker's jobs waited up to ~70 s.
    superviseIntervalSeconds: 10,
    monitorIntervalSeconds: 10,
    schedule: opts.supervise ?? true,
    useListenNotify: true,
  });
}

export async function ensureQueues(boss: PgBoss): Promise<void> {
  for (const name of Object.keys(JOBS) as JobName[]) {
    await boss.createQueue(name, { ...queuePolicy(name), notify: true } as never);
    // createQueue leaves an existing queue as it was: a changed policy must reach it too (jobs the
    // schedule sends carry no options of their own).
    await boss.updateQueue(name, { ...queuePolicy(name), notify: true } as never);
  }
}

function executorOf(tx: Tx) {
  return {
    executeSql: async (text: string, values: unknown[] = []) => ({
      rows: await tx.$queryRawUnsafe<unknown[]>(text, ...values),
    }),
  };
}

/** Enqueue many jobs of one queue in the caller's transaction with one statement (a bulk import's
 *  provisioning: a send per mailbox was a round trip each). */
export async function enqueueMany<N extends JobName>(boss: PgBoss, tx: Tx, name: N, payloads: JobPayload<N>[]): Promise<void> {
  if (payloads.length === 0) return;
  const policy = queuePolicy(name);
  await boss.insert(name, payloads.map((p) => ({ data: JOBS[name].parse(p), ...policy })), { db: executorOf(tx) } as never);
}

/** Enqueue a job in the caller's Prisma transaction (pg-boss accepts any SQL executor). */
export async function enqueue<N extends JobName>(boss: PgBoss, tx: Tx, name: N, payload: JobPayload<N>, opts: { startAfterSeconds?: number } = {}): Promise<void> {
  const data = JOBS[name].parse(payload);
  await boss.send(name, data, {
    ...queuePolicy(name),
    ...(opts.startAfterSeconds ? { startAfter: opts.startAfterSeconds } : {}),
    db: {
      executeSql: async (text: string, values: unknown[] = []) => ({
        rows: await tx.$queryRawUnsafe<unknown[]>(text, ...values),
      }),
    },
  });
}
