// delete-mailbox: the mailbox already left the mail servers' views when it was marked DELETING (new
// mail is refused, logins fail). This ends its open Dovecot sessions, settles what Postfix still
// holds for its address (worker/src/postfix-queue.ts: bounced or removed, so a mailbox re-created
// with the address never receives it), removes all its mail from disk, then the row — in that
// order: the address becomes free again only after the last step. Idempotent (a missing row or
// folder is success). A failed try (Dovecot or Postfix unreachable) is retried; its reason is on
// the row (provisioningError) meanwhile.
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { mailboxHome } from '@mailpanel/core/mail-paths';
import { publish } from '@mailpanel/core/pubsub';
import type { JobPayload } from '@mailpanel/core/jobs';
import { endMailboxSessions } from '../dovecot-sessions.js';
import { doveadmOf, postfixOf } from '../mail-tools.js';
import { removeMailboxFiles } from '../maildir.js';
import { settleQueuedMailFor } from '../postfix-queue.js';

export async function deleteMailbox({ mailboxId }: JobPayload<'delete-mailbox'>): Promise<void> {
  const cfg = config();
  const mailbox = await db().mailbox.findUnique({ where: { id: mailboxId }, include: { domain: true } });
  if (!mailbox) return;
  if (mailbox.provisioning !== 'DELETING') return; // not ours to delete (never happens via the API)
  try {
    const doveadm = doveadmOf(cfg);
    if (doveadm) await endMailboxSessions(doveadm, mailbox.address);
    const postfix = postfixOf(cfg);
    if (postfix) await settleQueuedMailFor(postfix, mailbox.address);
    await removeMailboxFiles(mailboxHome(cfg.mailRoot, mailbox.domain.name, mailbox.localPart));
  } catch (err) {
    await db().mailbox.updateMany({ where: { id: mailboxId, provisioning: 'DELETING' }, data: { provisioningError: (err as Error).message.slice(0, 500) } });
    await publish(db(), 'mailbox:' + mailboxId, { id: mailboxId });
    throw err;
  }
  await db().mailbox.delete({ where: { id: mailboxId } });
  await publish(db(), 'mailbox:' + mailboxId, { id: mailboxId });
}
