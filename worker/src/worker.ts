// The worker process: one pg-boss instance, one handler per queue. Payloads are validated against the
// shared job contracts before a handler sees them.
import type { PgBoss } from 'pg-boss';
import { databaseUrl } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { createBoss, ensureQueues, JOBS, type JobName, type JobPayload } from '@mailpanel/core/jobs';
import { log } from '@mailpanel/core/logger';
import { logDatabaseErrors } from '@mailpanel/core/database-outage';
import { provisionMailbox } from './handlers/provision-mailbox.js';
import { deleteMailbox } from './handlers/delete-mailbox.js';
import { purgeMailboxes } from './handlers/purge-mailboxes.js';
import { quotaRefresh } from './handlers/quota-refresh.js';
import { interruptMigrations, migrateMailbox, startMigrationWatchdog } from './migration/job.js';
import { removeImportLeftovers } from './migration/doveadm-import.js';
import { dkimKey } from './handlers/dkim-key.js';
import { rspamdSync } from './handlers/rspamd-sync.js';
import { quarantineDelete, quarantineRelease } from './handlers/quarantine.js';
import { startEmailSecurityTimers } from './email-security/timers.js';
import { abandonBulkImport, runBulkImport } from './handlers/bulk-import.js';

export interface JobContext {
  retryCount: number;
  signal: AbortSignal;
  /** For handlers that enqueue further jobs. */
  boss: PgBoss;
}

const HANDLERS: { [N in JobName]: (payload: JobPayload<N>, job: JobContext) => Promise<void> } = {
  'provision-mailbox': provisionMailbox,
  'delete-mailbox': deleteMailbox,
  'purge-mailboxes': purgeMailboxes,
  'bulk-import': (payload, job) => runBulkImport(job.boss, payload, job),
  'bulk-import-abandoned': abandonBulkImport,
  'quota-refresh': quotaRefresh,
  'migrate-mailbox': migrateMailbox,
  'dkim-key': dkimKey,
  'rspamd-sync': rspamdSync,
  'quarantine-release': quarantineRelease,
  'quarantine-delete': quarantineDelete,
};

/** Queues whose jobs are long or heavy run fewer at once than WORKER_CONCURRENCY. */
const CONCURRENCY: Partial<Record<JobName, () => number>> = {
  'migrate-mailbox': () => config().MIGRATION_CONCURRENCY,
  // One import at a time per worker: it already keeps every hashing thread busy.
  'bulk-import': () => 1,
};

export interface Worker {
  boss: PgBoss;
  stop(): Promise<void>;
}

export async function startWorker(): Promise<Worker> {
  // Older versions left the source password of a crashed `doveadm import` in a temp file.
  const leftovers = await removeImportLeftovers();
  if (leftovers) log.warn('migration: removed leftovers of an interrupted doveadm import', { folders: leftovers });
  const boss = createBoss(databaseUrl());
  boss.on('error', logDatabaseErrors('pg-boss (worker)'));
  await boss.start();
  await ensureQueues(boss);
  await scheduleQuotaRefresh(boss);
  await scheduleMailboxPurge(boss);
  for (const name of Object.keys(HANDLERS) as JobName[]) {
    const long = CONCURRENCY[name];
    // Short jobs come in batches run side by side: pg-boss waits its polling interval between fetches
    // unless a fetch came back full, so one job per fetch would cap a queue at a few jobs a second.
    // Each job settles on its own (perJobResults): one failure never re-runs its neighbours.
    const options = long
      ? { localConcurrency: long(), batchSize: 1 }
      : { localConcurrency: 2, batchSize: config().WORKER_CONCURRENCY, burstWhenBatchFull: true, perJobResults: true };
    await boss.work(name, { ...options, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 }, async (jobs) => {
      const results = await Promise.all(
        jobs.map(async (job) => {
          const payload = JOBS[name].parse(job.data);
          log.debug('job start', { name, id: job.id });
          try {
            await (HANDLERS[name] as (p: typeof payload, j: JobContext) => Promise<void>)(payload, { retryCount: job.retryCount, signal: job.signal, boss });
            return { id: job.id, status: 'completed' as const };
          } catch (err) {
            log.warn('job failed', { name, id: job.id, retry: job.retryCount, err });
            if (long) throw err;
            return { id: job.id, status: 'failed' as const, output: { message: (err as Error).message } };
          }
        }),
      );
      return long ? undefined : results;
    });
  }
  const migrationWatchdog = startMigrationWatchdog(boss);
  const emailSecurity = startEmailSecurityTimers();
  return {
    boss,
    stop: async () => {
      migrationWatchdog.stop();
      interruptMigrations();
      await emailSecurity.stop();
      return boss.stop({ graceful: true, timeout: 10_000 } as never);
    },
  };
}

/** The periodic quota-refresh of every mailbox (QUOTA_REFRESH_CRON, UTC; "off" removes it). The
 *  schedule lives in PostgreSQL: any worker may (re)write it, pg-boss sends each occurrence once. */
export async function scheduleQuotaRefresh(boss: PgBoss, cron = config().QUOTA_REFRESH_CRON): Promise<void> {
  if (cron === 'off') await boss.unschedule('quota-refresh');
  else await boss.schedule('quota-refresh', cron, {}, { tz: 'UTC' });
}

/** The purge of deleted mailboxes whose grace period has ended (MAILBOX_PURGE_CRON, UTC; "off"
 *  removes it). Like the quota refresh, pg-boss sends each occurrence once, whatever the number of workers. */
export async function scheduleMailboxPurge(boss: PgBoss, cron = config().MAILBOX_PURGE_CRON): Promise<void> {
  if (cron === 'off') await boss.unschedule('purge-mailboxes');
  else await boss.schedule('purge-mailboxes', cron, {}, { tz: 'UTC' });
}
