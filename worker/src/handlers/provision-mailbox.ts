// provision-mailbox: make the mailbox's files match its rows — the Maildir with the usual folders,
// and the autoresponder's Sieve script (worker/src/sieve.ts: installed and active when enabled,
// removed when disabled) — and, after a password change or a disable (endSessions), end its open
// sessions in Dovecot (worker/src/dovecot-sessions.ts; nothing to end without DOVECOT_CONFIG: no
// Dovecot serves the mailbox then). Idempotent; safe to run again after any change or crash. State PENDING →
// READY; a failed try records its reason and stays PENDING while pg-boss retries with backoff (the
// mail storage may just be away), and becomes FAILED only when the last try fails.
//
// READY is written only if the mailbox row is unchanged since it was read (compare-and-set on
// updated_at): a mutation that changes the rows sets PENDING and enqueues another run, and a run
// that read the older rows must not report READY over it. When the rows changed meanwhile, the
// run reads them again and applies them (bounded; every edit also enqueues its own run).
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { mailboxHome } from '@mailpanel/core/mail-paths';
import { publish } from '@mailpanel/core/pubsub';
import { failedTryState, type JobPayload } from '@mailpanel/core/jobs';
import { createMaildir } from '../maildir.js';
import { endMailboxSessions } from '../dovecot-sessions.js';
import { doveadmOf, mailOwner, sieveCompilerOf } from '../mail-tools.js';
import { syncAutoresponderSieve } from '../sieve.js';

const MAX_ROUNDS = 4;

export async function provisionMailbox({ mailboxId, endSessions }: JobPayload<'provision-mailbox'>, attempt?: { retryCount: number }): Promise<void> {
  const cfg = config();
  const owner = mailOwner(cfg);
  const doveadm = doveadmOf(cfg);
  for (let round = 1; ; round++) {
    const mailbox = await db().mailbox.findUnique({ where: { id: mailboxId }, include: { domain: true, autoresponder: true } });
    if (!mailbox || mailbox.provisioning === 'DELETING') return;
    try {
      const home = mailboxHome(cfg.mailRoot, mailbox.domain.name, mailbox.localPart);
      await createMaildir(home, owner);
      await syncAutoresponderSieve(home, mailbox.address, mailbox.autoresponder, { owner, compiler: sieveCompilerOf(cfg) });
      if (endSessions && doveadm) await endMailboxSessions(doveadm, mailbox.address);
    } catch (err) {
      await db().mailbox.updateMany({
        where: { id: mailboxId, provisioning: { not: 'DELETING' } },
        data: failedTryState('provision-mailbox', attempt, err),
      });
      await publish(db(), 'mailbox:' + mailboxId, { id: mailboxId });
      throw err;
    }
    const done = await db().mailbox.updateMany({
      where: { id: mailboxId, provisioning: { not: 'DELETING' }, ...(round < MAX_ROUNDS ? { updatedAt: mailbox.updatedAt } : {}) },
      data: { provisioning: 'READY', provisioningError: null },
    });
    if (done.count > 0 || round >= MAX_ROUNDS) break;
  }
  await publish(db(), 'mailbox:' + mailboxId, { id: mailboxId });
}
