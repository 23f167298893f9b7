// purge-mailboxes (the schedule's, MAILBOX_PURGE_CRON): every deleted mailbox whose grace period has
// ended goes to the same DELETING path as an immediate deletion — marked DELETING and its
// delete-mailbox job enqueued in one transaction (core/src/mailbox-deletion.ts), which then removes
// its files and row. The mark is a compare-and-set on "still deleted and due", so a restore that
// commits first wins and two runs never purge one mailbox twice. Idempotent.
import { db } from '@mailpanel/core/db';
import { log } from '@mailpanel/core/logger';
import { beginPurge, DELETED_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import type { JobPayload } from '@mailpanel/core/jobs';
import type { JobContext } from '../worker.js';

const BATCH = 500;

export async function purgeMailboxes(_payload: JobPayload<'purge-mailboxes'>, job: Pick<JobContext, 'boss'>): Promise<void> {
  let purged = 0;
  for (;;) {
    const due = await db().mailbox.findMany({ where: { ...DELETED_MAILBOX, purgeAt: { lte: new Date() } }, select: { id: true }, orderBy: { purgeAt: 'asc' }, take: BATCH });
    for (const { id } of due) {
      await db().$transaction(async (tx) => {
        const mine = await tx.mailbox.updateMany({ where: { id, ...DELETED_MAILBOX, purgeAt: { lte: new Date() } }, data: { provisioning: 'DELETING' } });
        if (mine.count === 1) {
          await beginPurge(job.boss, tx, id);
          purged++;
        }
      });
    }
    if (due.length < BATCH) break;
  }
  if (purged) log.info('purge-mailboxes: grace period ended', { purged });
}
