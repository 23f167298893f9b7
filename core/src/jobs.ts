// Job contracts shared by the API (which enqueues) and the worker (which handles): queue names, the
// zod schema of each payload, and the queue policies. A job is always enqueued through enqueue()
// inside the transaction that writes its row, so a crash can never leave one without the other.
import { PgBoss } from 'pg-boss';
import { z } from 'zod';
import type { Tx } from './db.js';

export const JOBS = {
  'provision-mailbox': z.object({ mailboxId: z.string().uuid() }),
  'delete-mailbox': z.object({ mailboxId: z.string().uuid() }),
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
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]>;

type QueuePolicy = { retryLimit: number; retryDelay: number; retryBackoff: boolean; expireInSeconds: number; heartbeatSeconds?: number };

/** Short jobs: retried with exponential backoff (8 times from 2 s); one stuck past 5 min expires. */
const SHORT: QueuePolicy = { retryLimit: 8, retryDelay: 2, retryBackoff: true, expireInSeconds: 300 };

/** Retries with exponential backoff; a dead worker's job expires and is retried elsewhere. */
export const QUEUE_OPTIONS: Record<JobName, QueuePolicy> = {
  // The heartbeat lets a killed worker's job be taken again within seconds instead of at expiry.
  'provision-mailbox': { ...SHORT, heartbeatSeconds: 10 },
  'delete-mailbox': { ...SHORT, expireInSeconds: 900, heartbeatSeconds: 10 },
  // A measurement: a failed one is simply taken again by the next schedule.
  'quota-refresh': { retryLimit: 2, retryDelay: 5, retryBackoff: true, expireInSeconds: 900 },
  // Minutes to hours: the heartbeat (not the 24 h cap) notices a dead worker; transient failures
  // (network) retry with backoff, permanent ones (bad password) end the migration without a retry.
  'migrate-mailbox': { retryLimit: 6, retryDelay: 10, retryBackoff: true, expireInSeconds: 23 * 3600, heartbeatSeconds: 30 },
  'dkim-key': SHORT,
  'rspamd-sync': SHORT,
  'quarantine-release': SHORT,
  'quarantine-delete': SHORT,
};

export function createBoss(connectionString: string, opts: { supervise?: boolean } = {}): PgBoss {
  return new PgBoss({
    connectionString,
    schema: 'pgboss',
    max: 4,
    supervise: opts.supervise ?? true,
    // How often missed heartbeats and expired jobs are looked for (a dead worker's jobs come back).
    superviseIntervalSeconds: 10,
    schedule: opts.supervise ?? true,
    useListenNotify: true,
  });
}

export async function ensureQueues(boss: PgBoss): Promise<void> {
  for (const name of Object.keys(JOBS) as JobName[]) {
    await boss.createQueue(name, { ...QUEUE_OPTIONS[name], notify: true } as never);
  }
}

/** Enqueue a job in the caller's Prisma transaction (pg-boss accepts any SQL executor). */
export async function enqueue<N extends JobName>(boss: PgBoss, tx: Tx, name: N, payload: JobPayload<N>): Promise<void> {
  const data = JOBS[name].parse(payload);
  await boss.send(name, data, {
    ...QUEUE_OPTIONS[name],
    db: {
      executeSql: async (text: string, values: unknown[] = []) => ({
        rows: await tx.$queryRawUnsafe<unknown[]>(text, ...values),
      }),
    },
  });
}
