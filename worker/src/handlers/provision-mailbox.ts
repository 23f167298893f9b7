// provision-mailbox: make the mailbox's files match its row (Maildir with the usual folders).
// Idempotent; safe to run again after any change or crash. State PENDING → READY, or FAILED with the
// reason while pg-boss retries with backoff.
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { mailboxHome } from '@mailpanel/core/mail-paths';
import { publish } from '@mailpanel/core/pubsub';
import type { JobPayload } from '@mailpanel/core/jobs';
import { createMaildir } from '../maildir.js';

export async function provisionMailbox({ mailboxId }: JobPayload<'provision-mailbox'>): Promise<void> {
  const mailbox = await db().mailbox.findUnique({ where: { id: mailboxId }, include: { domain: true } });
  if (!mailbox || mailbox.provisioning === 'DELETING') return;
  const cfg = config();
  try {
    const home = mailboxHome(cfg.mailRoot, mailbox.domain.name, mailbox.localPart);
    await createMaildir(home, { uid: cfg.MAIL_UID, gid: cfg.MAIL_GID });
  } catch (err) {
    await db().mailbox.updateMany({
      where: { id: mailboxId, provisioning: { not: 'DELETING' } },
      data: { provisioning: 'FAILED', provisioningError: (err as Error).message.slice(0, 500) },
    });
    await publish(db(), 'mailbox:' + mailboxId, { id: mailboxId });
    throw err;
  }
  await db().mailbox.updateMany({
    where: { id: mailboxId, provisioning: { not: 'DELETING' } },
    data: { provisioning: 'READY', provisioningError: null },
  });
  await publish(db(), 'mailbox:' + mailboxId, { id: mailboxId });
}
