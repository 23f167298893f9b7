// Deleting a mailbox, in two steps when its package has a grace period (deleteGraceDays > 0):
// 1. deleted: deleted_at and purge_at set. It has left the mail views (logins fail, new mail is
//    refused, migration 20261206010000_mailbox_restore) but keeps its row, mail, password, forwards
//    and autoresponder, so restoreMailbox can bring it back as it was; the row reserves its address.
//    It counts against no package limit meanwhile (restore checks them again).
// 2. purged: provisioning DELETING, and the delete-mailbox job removes its sessions, queued mail,
//    files and finally the row (worker/src/handlers/delete-mailbox.ts). With no grace period a
//    deletion goes straight here, as before.
import type { PgBoss } from 'pg-boss';
import type { Tx } from './db.js';
import { enqueue } from './jobs.js';
import { publish } from './pubsub.js';

/** A mailbox that exists for users and mail servers: neither deleted (in its grace period) nor being purged. */
export const LIVE_MAILBOX = { provisioning: { not: 'DELETING' }, deletedAt: null } as const;

/** Deleted, waiting for its purge (or a restore). */
export const DELETED_MAILBOX = { provisioning: { not: 'DELETING' }, deletedAt: { not: null } } as const;

export const MAX_DELETE_GRACE_DAYS = 365;

const DAY_MS = 24 * 3600 * 1000;

export function purgeDate(deletedAt: Date, graceDays: number): Date {
  return new Date(deletedAt.getTime() + graceDays * DAY_MS);
}

/** Step 2, in the caller's transaction: DELETING (out of every view and listing), panel sessions
 *  revoked, and the delete-mailbox job enqueued — committed together or not at all. */
export async function beginPurge(boss: PgBoss, tx: Tx, mailboxId: string): Promise<void> {
  await tx.mailbox.update({ where: { id: mailboxId }, data: { provisioning: 'DELETING' } });
  // mailboxChanged subscribers see DELETING (on commit); the worker's event after the row is gone ends them.
  await publish(tx, 'mailbox:' + mailboxId, { id: mailboxId });
  await tx.refreshToken.updateMany({ where: { mailboxId, revokedAt: null }, data: { revokedAt: new Date() } });
  await enqueue(boss, tx, 'delete-mailbox', { mailboxId });
}
