// After a measurement: brings what a mailbox remembers of its quota warnings in line with its usage
// (core/src/quota-warning.ts) and, on a crossing upwards, hands one warning mail to the MTA
// (QUOTA_WARNING_SMTP, the local Postfix), which delivers it into the mailbox like any mail, in the
// mailbox's language (English when it has none).
// Invariants:
// - Exactly one mail per crossing, with any number of workers: the new level is claimed with a
//   conditional UPDATE (only from the level read), and only the claimer sends.
// - A mail the MTA did not take is un-claimed, so the next measurement tries again.
// - The panel learns the new level at once (mailbox:<id> is published).
import nodemailer from 'nodemailer';
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { log } from '@mailpanel/core/logger';
import { publish } from '@mailpanel/core/pubsub';
import { nextWarning, quotaWarningMail, warningLevel } from '@mailpanel/core/quota-warning';

export async function applyQuotaWarning(mailboxId: string): Promise<void> {
  const cfg = config();
  const row = await db().mailbox.findUnique({
    where: { id: mailboxId },
    select: { address: true, language: true, quotaMb: true, quotaUsedBytes: true, quotaWarnedPercent: true, status: true, domain: { select: { name: true } } },
  });
  if (!row) return;
  const usedBytes = Number(row.quotaUsedBytes);
  const step = nextWarning(row.quotaWarnedPercent, warningLevel(usedBytes, row.quotaMb, cfg.QUOTA_WARNING_PERCENTS));
  if (!step) return;
  const claimed = await db().$executeRaw`UPDATE mailboxes SET quota_warned_percent = ${step.remember}
    WHERE id = ${mailboxId}::uuid AND quota_warned_percent = ${row.quotaWarnedPercent}`;
  if (claimed === 0) return; // another worker got there first
  await publish(db(), 'mailbox:' + mailboxId, { id: mailboxId });
  if (!step.tell || row.status !== 'ACTIVE' || !cfg.QUOTA_WARNING_SMTP) return;

  const [host, port] = cfg.QUOTA_WARNING_SMTP.split(':');
  const mail = quotaWarningMail({ address: row.address, level: step.remember, usedBytes, quotaMb: row.quotaMb, language: row.language });
  try {
    const transport = nodemailer.createTransport({ host, port: Number(port), secure: false, ignoreTLS: true, name: cfg.MAIL_HOSTNAME ?? 'localhost' });
    await transport.sendMail({
      from: cfg.QUOTA_WARNING_FROM ?? `postmaster@${row.domain.name}`,
      to: row.address,
      subject: mail.subject,
      text: mail.text,
      // Not to be answered by autoresponders (RFC 3834).
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    log.info('quota warning sent', { mailboxId, percent: step.remember });
  } catch (err) {
    await db().$executeRaw`UPDATE mailboxes SET quota_warned_percent = ${row.quotaWarnedPercent}
      WHERE id = ${mailboxId}::uuid AND quota_warned_percent = ${step.remember}`;
    log.warn('quota warning: the MTA did not take the mail; the next measurement tries again', { mailboxId, error: (err as Error).message });
  }
}
