// quota-refresh: brings the quota usage columns of mailboxes (quotaUsedBytes, quotaMessages,
// quotaUpdatedAt) in line with what is really stored — Dovecot's own numbers when DOVECOT_CONFIG
// is set, else a Maildir scan (worker/src/quota.ts).
//
// - { mailboxId }: one mailbox, asked for by recalculateQuota. A fresh measurement: it is always
//   stamped and published, so a panel waiting for it sees the answer even when nothing changed.
// - {}: every mailbox (the schedule, QUOTA_REFRESH_CRON). A row is written and `mailbox:<id>`
//   published only when the usage changed, so a quiet system sends no events and no writes.
// Idempotent: a measurement taken twice writes the same values. Quota columns are written with a
// plain UPDATE that leaves updated_at alone (a measurement is not an edit of the mailbox; the
// provisioning job relies on updated_at changing only with edits).
// A new usage is checked against the warning thresholds (quota-warning.ts).
import { LIVE_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { log } from '@mailpanel/core/logger';
import { mailboxHome, maildirPath } from '@mailpanel/core/mail-paths';
import { publish } from '@mailpanel/core/pubsub';
import type { JobPayload } from '@mailpanel/core/jobs';
import { doveadmOf } from '../mail-tools.js';
import { doveadmQuotaOf, doveadmQuotaOfAll, scanMaildir, type QuotaUsage } from '../quota.js';
import { applyQuotaWarning } from '../quota-warning.js';

const BATCH = 500;

interface Row {
  id: string;
  address: string;
  localPart: string;
  domain: { name: string };
}

const select = { id: true, address: true, localPart: true, domain: { select: { name: true } } } as const;

function scan(row: Row): Promise<QuotaUsage> {
  return scanMaildir(maildirPath(mailboxHome(config().mailRoot, row.domain.name, row.localPart)));
}

/** Writes the usage; `always` stamps and publishes even when unchanged. Returns whether it published. */
async function record(id: string, usage: QuotaUsage, always: boolean): Promise<boolean> {
  const bytes = BigInt(Math.round(usage.bytes));
  const changed = always
    ? await db().$executeRaw`UPDATE mailboxes SET quota_used_bytes = ${bytes}, quota_messages = ${usage.messages}, quota_updated_at = now()
        WHERE id = ${id}::uuid`
    : await db().$executeRaw`UPDATE mailboxes SET quota_used_bytes = ${bytes}, quota_messages = ${usage.messages}, quota_updated_at = now()
        WHERE id = ${id}::uuid AND (quota_used_bytes <> ${bytes} OR quota_messages <> ${usage.messages} OR quota_updated_at IS NULL)`;
  if (changed > 0) await publish(db(), 'mailbox:' + id, { id });
  // A measurement asked for, or a usage that changed, may cross a warning threshold either way.
  if (changed > 0) await applyQuotaWarning(id);
  return changed > 0;
}

async function refreshOne(mailboxId: string): Promise<void> {
  const row = await db().mailbox.findFirst({ where: { id: mailboxId, ...LIVE_MAILBOX }, select });
  if (!row) return;
  const dove = doveadmOf(config());
  const usage = dove ? await doveadmQuotaOf(dove, row.address) : await scan(row);
  if (usage) {
    await record(row.id, usage, true);
  } else {
    // Not in Dovecot's userdb (disabled mailbox or domain): nothing to measure; answer the waiting panel.
    log.debug('quota-refresh: mailbox unknown to Dovecot, usage kept', { mailboxId });
    await publish(db(), 'mailbox:' + row.id, { id: row.id });
  }
}

async function refreshAll(): Promise<void> {
  const dove = doveadmOf(config());
  let fromDovecot: Map<string, QuotaUsage> | null = null;
  if (dove) {
    const all = await doveadmQuotaOfAll(dove);
    if (all.warning) log.warn('quota-refresh: doveadm reported an error for some users', { detail: all.warning });
    fromDovecot = all.usage;
  }
  let cursor: string | undefined;
  let published = 0;
  for (;;) {
    const rows = await db().mailbox.findMany({
      where: LIVE_MAILBOX,
      select: { ...select, quotaUsedBytes: true, quotaMessages: true, quotaUpdatedAt: true },
      orderBy: { id: 'asc' },
      take: BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    if (rows.length === 0) break;
    for (const row of rows) {
      const usage = fromDovecot ? fromDovecot.get(row.address.toLowerCase()) : await scan(row);
      if (!usage) continue;
      const same = row.quotaUpdatedAt !== null && row.quotaUsedBytes === BigInt(Math.round(usage.bytes)) && row.quotaMessages === usage.messages;
      if (!same && (await record(row.id, usage, false))) published++; // record() re-checks in SQL
    }
    cursor = rows.at(-1)!.id;
    if (rows.length < BATCH) break;
  }
  log.debug('quota-refresh: done', { changed: published });
}

export async function quotaRefresh({ mailboxId }: JobPayload<'quota-refresh'>): Promise<void> {
  if (mailboxId) await refreshOne(mailboxId);
  else await refreshAll();
}
