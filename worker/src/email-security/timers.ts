// The worker's email-security timers: ingest newly quarantined messages (QUARANTINE_SCAN_SECONDS),
// re-render rspamd's files as a safety net (RSPAMD_SYNC_SECONDS; every change also enqueues a sync),
// and once an hour delete expired quarantine items and old rate-limit counters.
//
// Each task never overlaps itself; every task is idempotent, so several workers may run them at once
// (a mail node's worker scans its own disks). stop() waits for the tasks in progress.
import { db } from '@mailpanel/core/db';
import { config, type Config } from '@mailpanel/core/env';
import { log } from '@mailpanel/core/logger';
import { hourWindow } from '@mailpanel/core/rate-limit';
import { ingestQuarantine, removeStored } from '../quarantine/store.js';
import { syncRspamd } from './rspamd-sync.js';

export interface Timers {
  stop(): Promise<void>;
}

/** Deletes quarantine items older than the retention (rows to DELETED, files removed) and counters
 *  of windows that ended two days ago. */
export async function expireOldRecords(cfg: Config, now = new Date()): Promise<{ quarantine: number; counters: number }> {
  const cutoff = new Date(now.getTime() - cfg.QUARANTINE_RETENTION_DAYS * 24 * 3600 * 1000);
  const expired = await db().quarantineItem.findMany({ where: { status: 'HELD', receivedAt: { lt: cutoff } }, select: { id: true, storagePath: true }, take: 1000 });
  for (const item of expired) {
    await removeStored(cfg, item.storagePath);
    await db().quarantineItem.updateMany({ where: { id: item.id, status: 'HELD' }, data: { status: 'DELETED', deletedAt: now } });
  }
  const counters = await db().rateLimitCounter.deleteMany({ where: { windowStart: { lt: new Date(hourWindow(now).getTime() - 48 * 3600 * 1000) } } });
  return { quarantine: expired.length, counters: counters.count };
}

export function startEmailSecurityTimers(cfg: Config = config()): Timers {
  const running = new Set<Promise<unknown>>();
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const every = (name: string, seconds: number, task: () => Promise<unknown>, runNow: boolean) => {
    let busy = false;
    const tick = () => {
      if (busy || stopped) return;
      busy = true;
      const p = task()
        .catch((err) => log.warn(`${name} failed`, { err }))
        .finally(() => {
          busy = false;
          running.delete(p);
        });
      running.add(p);
    };
    const t = setInterval(tick, seconds * 1000);
    t.unref();
    timers.push(t);
    if (runNow) setImmediate(tick);
  };
  every('quarantine scan', cfg.QUARANTINE_SCAN_SECONDS, () => ingestQuarantine(cfg), false);
  every('rspamd sync', cfg.RSPAMD_SYNC_SECONDS, () => syncRspamd(cfg), true);
  every('email-security expiry', 3600, () => expireOldRecords(cfg), false);
  return {
    async stop() {
      stopped = true;
      timers.forEach(clearInterval);
      await Promise.allSettled([...running]);
    },
  };
}
