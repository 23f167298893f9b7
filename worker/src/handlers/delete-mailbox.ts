// delete-mailbox: the mailbox already left the mail servers' views when it was marked DELETING; this
// removes all its mail from disk, then the row. Idempotent (a missing row or folder is success).
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { mailboxHome } from '@mailpanel/core/mail-paths';
import { publish } from '@mailpanel/core/pubsub';
import type { JobPayload } from '@mailpanel/core/jobs';
import { removeMailboxFiles } from '../maildir.js';

export async function deleteMailbox({ mailboxId }: JobPayload<'delete-mailbox'>): Promise<void> {
  const mailbox = await db().mailbox.findUnique({ where: { id: mailboxId }, include: { domain: true } });
  if (!mailbox) return;
  if (mailbox.provisioning !== 'DELETING') return; // not ours to delete (never happens via the API)
  await removeMailboxFiles(mailboxHome(config().mailRoot, mailbox.domain.name, mailbox.localPart));
  await db().mailbox.delete({ where: { id: mailboxId } });
  await publish(db(), 'mailbox:' + mailboxId, { id: mailboxId });
}
