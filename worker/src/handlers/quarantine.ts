// quarantine-release / quarantine-delete: the disk side of the panel's releaseQuarantined and
// deleteQuarantined mutations (which set the row to RELEASING / DELETED and enqueue these in the same
// transaction). Both are idempotent (see worker/src/quarantine/store.ts).
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { mailboxHome } from '@mailpanel/core/mail-paths';
import { log } from '@mailpanel/core/logger';
import type { JobPayload } from '@mailpanel/core/jobs';
import { deliverToInbox, removeStored } from '../quarantine/store.js';

export async function quarantineRelease({ itemId }: JobPayload<'quarantine-release'>): Promise<void> {
  const cfg = config();
  const item = await db().quarantineItem.findUnique({
    where: { id: itemId },
    select: { id: true, status: true, receivedAt: true, storagePath: true, mailbox: { select: { localPart: true, domain: { select: { name: true } } } } },
  });
  if (!item || item.status !== 'RELEASING') return;
  if (!item.mailbox) {
    await db().quarantineItem.updateMany({ where: { id: itemId, status: 'RELEASING' }, data: { status: 'DELETED', deletedAt: new Date() } });
    return;
  }
  const home = mailboxHome(cfg.mailRoot, item.mailbox.domain.name, item.mailbox.localPart);
  const ok = await deliverToInbox(cfg, item, home);
  if (!ok) log.warn('quarantine: stored message is gone; nothing to release', { itemId });
  await removeStored(cfg, item.storagePath);
  await db().quarantineItem.updateMany({
    where: { id: itemId, status: 'RELEASING' },
    data: ok ? { status: 'RELEASED', releasedAt: new Date() } : { status: 'DELETED', deletedAt: new Date() },
  });
}

export async function quarantineDelete({ itemId }: JobPayload<'quarantine-delete'>): Promise<void> {
  const item = await db().quarantineItem.findUnique({ where: { id: itemId }, select: { status: true, storagePath: true } });
  if (!item || item.status !== 'DELETED') return;
  await removeStored(config(), item.storagePath);
}
