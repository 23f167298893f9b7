// bulk-import: applies a started mailbox CSV import (api/src/schema/bulk-import.ts planned it with
// createMailbox's checks). Hashing is the cost, so the next batch's passwords are hashed (argon2 in
// libuv's thread pool, as createMailbox hashes) while the current batch is written.
//
// Invariants:
// - Idempotent: each batch's mailboxes, their provisioning jobs, audit events and the import's
//   progress (rows marked done) commit in one transaction, so a retry after a crash resumes after
//   the last committed batch and never creates a mailbox twice.
// - Limits hold at write time too: each batch takes the customers' limit locks and recounts; a row
//   that no longer fits (or whose address was taken since the plan) ends as ERROR, the rest go on.
// - The passwords (secrets_enc) are decrypted only here, never logged, and wiped when the import
//   ends, succeeded or failed for good.
import { db, type Tx } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { decryptSecret } from '@mailpanel/core/crypto/secretbox';
import { hashPassword } from '@mailpanel/core/crypto/password';
import { enqueueMany, QUEUE_OPTIONS, type JobPayload } from '@mailpanel/core/jobs';
import { lockCustomer } from '@mailpanel/core/locks';
import { LIVE_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import { publish } from '@mailpanel/core/pubsub';
import type { FieldError } from '@mailpanel/core/errors';
import type { MailboxRowPlan } from '@mailpanel/core/bulk/mailbox-import';
import type { PgBoss } from 'pg-boss';

type StoredRow = Omit<MailboxRowPlan, 'password'> & { done?: boolean };

const BATCH = 100;

export async function runBulkImport(boss: PgBoss, { importId }: JobPayload<'bulk-import'>, attempt?: { retryCount: number }): Promise<void> {
  const imp = await db().bulkImport.findUnique({ where: { id: importId } });
  if (!imp || imp.status === 'SUCCEEDED' || imp.status === 'FAILED') return;
  await db().bulkImport.update({ where: { id: importId }, data: { status: 'RUNNING', startedAt: imp.startedAt ?? new Date() } });
  await announce(importId, 'RUNNING');
  const rows = imp.rows as unknown as StoredRow[];
  try {
    const secrets: Record<string, string> = imp.secretsEnc ? JSON.parse(decryptSecret(imp.secretsEnc, config().encryptionKey)) : {};
    const pending = rows.filter((r) => !r.done);
    const batches: StoredRow[][] = [];
    for (let i = 0; i < pending.length; i += BATCH) batches.push(pending.slice(i, i + BATCH));
    const hashBatch = (batch: StoredRow[]) =>
      Promise.all(batch.map(async (r) => (r.outcome === 'CREATE' ? [r.asciiAddress!, await hashPassword(passwordOf(secrets, r))] as const : null)));
    let next = batches.length ? hashBatch(batches[0]!) : null;
    for (let i = 0; i < batches.length; i++) {
      const hashes = new Map((await next!).filter((h) => h !== null));
      next = i + 1 < batches.length ? hashBatch(batches[i + 1]!) : null;
      next?.catch(() => {}); // a failed write below must not leave this rejection unhandled
      await db().$transaction((tx) => writeBatch(boss, tx, imp, batches[i]!, hashes, rows), { timeout: 60_000, maxWait: 10_000 });
      await announce(importId, 'RUNNING');
    }
    await db().bulkImport.update({ where: { id: importId }, data: { status: 'SUCCEEDED', finishedAt: new Date(), secretsEnc: null } });
    await announce(importId, 'SUCCEEDED');
  } catch (err) {
    if (!attempt || attempt.retryCount >= QUEUE_OPTIONS['bulk-import'].retryLimit) {
      await db().bulkImport.update({
        where: { id: importId },
        data: { status: 'FAILED', finishedAt: new Date(), secretsEnc: null, error: 'The import stopped on an internal error; the rows marked done were written' },
      });
      await announce(importId, 'FAILED');
    }
    throw err;
  }
}

/** The dead letter of a 'bulk-import' job that failed for good (core/src/jobs.ts): ends the import
 *  FAILED, if nothing ended it, and wipes its passwords either way. */
export async function abandonBulkImport({ importId }: JobPayload<'bulk-import-abandoned'>): Promise<void> {
  const ended = await db().bulkImport.updateMany({
    where: { id: importId, status: { notIn: ['SUCCEEDED', 'FAILED'] } },
    data: { status: 'FAILED', finishedAt: new Date(), secretsEnc: null, error: 'The import stopped (its worker failed on every try); the rows marked done were written' },
  });
  await db().bulkImport.updateMany({ where: { id: importId, secretsEnc: { not: null } }, data: { secretsEnc: null } });
  if (ended.count) await announce(importId, 'FAILED');
}

function passwordOf(secrets: Record<string, string>, r: StoredRow): string {
  const p = secrets[r.asciiAddress!];
  if (p === undefined) throw new Error(`bulk import: no password for row ${r.row}`);
  return p;
}

async function announce(id: string, status: string) {
  await publish(db(), `bulkImport:${id}`, { id, status });
}

async function writeBatch(
  boss: PgBoss,
  tx: Tx,
  imp: { id: string; createdByType: string; createdById: string | null; createdByLabel: string },
  batch: StoredRow[],
  hashes: Map<string, string>,
  all: StoredRow[],
) {
  const customers = [...new Set(batch.map((r) => r.customerId!).filter(Boolean))].sort();
  for (const c of customers) await lockCustomer(tx, c);
  const creates = batch.filter((r) => r.outcome === 'CREATE');
  const [pkgs, counts, quotas, taken, forwards] = await Promise.all([
    tx.customer.findMany({ where: { id: { in: customers } }, select: { id: true, package: { select: { maxMailboxes: true, totalQuotaMb: true } } } }),
    // Counted as the import's plan and createMailbox count them (api/src/schema/bulk-import.ts).
    tx.mailbox.groupBy({ by: ['customerId'], where: { customerId: { in: customers }, deletedAt: null }, _count: { _all: true } }),
    tx.mailbox.groupBy({ by: ['customerId'], where: { customerId: { in: customers }, ...LIVE_MAILBOX }, _sum: { quotaMb: true } }),
    tx.mailbox.findMany({ where: { address: { in: creates.map((r) => r.asciiAddress!) } }, select: { address: true } }),
    tx.forward.findMany({ where: { source: { in: creates.map((r) => r.asciiAddress!) } }, select: { source: true } }),
  ]);
  const room = new Map(pkgs.map((c) => [c.id, { ...c.package, n: counts.find((x) => x.customerId === c.id)?._count._all ?? 0, q: quotas.find((x) => x.customerId === c.id)?._sum.quotaMb ?? 0 }]));
  const used = new Set([...taken.map((m) => m.address), ...forwards.map((f) => f.source)]);
  const toCreate: StoredRow[] = [];
  for (const r of creates) {
    const p = room.get(r.customerId!)!;
    const fail = (e: FieldError) => ((r.outcome = 'ERROR'), (r.errors = [e]));
    if (used.has(r.asciiAddress!)) fail({ field: 'address', code: 'TAKEN', message: `${r.address} was taken after the import started` });
    else if (p.maxMailboxes > 0 && p.n + 1 > p.maxMailboxes) fail({ field: 'address', code: 'LIMIT_EXCEEDED', message: `Your package allows ${p.maxMailboxes} mailboxes` });
    else if (p.totalQuotaMb > 0 && p.q + r.quotaMb! > p.totalQuotaMb) fail({ field: 'quota', code: 'LIMIT_EXCEEDED', message: `The package's ${p.totalQuotaMb} MB are used up` });
    else {
      p.n += 1;
      p.q += r.quotaMb!;
      toCreate.push(r);
    }
  }
  const created = toCreate.length
    ? await tx.mailbox.createManyAndReturn({
        data: toCreate.map((r) => ({
          localPart: r.localPart!, domainId: r.domainId!, address: r.asciiAddress!, passwordHash: hashes.get(r.asciiAddress!)!,
          quotaMb: r.quotaMb!, status: r.status!, name: r.name ?? null,
        })),
        select: { id: true, address: true, customerId: true, quotaMb: true },
      })
    : [];
  const ids = new Map(created.map((m) => [m.address, m.id]));
  for (const r of toCreate) r.mailboxId = ids.get(r.asciiAddress!);
  await enqueueMany(boss, tx, 'provision-mailbox', created.map((m) => ({ mailboxId: m.id })));
  const actor = { actorType: imp.createdByType, actorId: imp.createdById, actorLabel: imp.createdByLabel };
  const events: object[] = created.map((m) => ({ ...actor, action: 'mailbox.create', targetType: 'Mailbox', targetId: m.id, targetLabel: m.address, customerId: m.customerId, details: { quotaMb: m.quotaMb, bulkImportId: imp.id } }));
  const endSessions: string[] = [];
  for (const r of batch.filter((x) => x.outcome === 'UPDATE')) {
    const current = await tx.mailbox.findFirst({ where: { id: r.mailboxId!, ...LIVE_MAILBOX }, select: { quotaMb: true } });
    if (!current) {
      r.outcome = 'ERROR';
      r.errors = [{ field: 'address', code: 'NOT_FOUND', message: `${r.address} was deleted after the import started` }];
      continue;
    }
    const changes = r.changes!;
    const p = room.get(r.customerId!)!;
    if (changes.quotaMb !== undefined && p.totalQuotaMb > 0 && p.q - current.quotaMb + changes.quotaMb > p.totalQuotaMb) {
      r.outcome = 'ERROR';
      r.errors = [{ field: 'quota', code: 'LIMIT_EXCEEDED', message: `The package's ${p.totalQuotaMb} MB are used up` }];
      continue;
    }
    if (changes.quotaMb !== undefined) p.q += changes.quotaMb - current.quotaMb;
    // A disable ends open IMAP/POP3 sessions, as setMailboxStatus does (provision-mailbox with endSessions).
    const disabling = changes.status === 'DISABLED';
    await tx.mailbox.update({ where: { id: r.mailboxId! }, data: { ...changes, ...(disabling ? { provisioning: 'PENDING' } : {}) } });
    if (disabling) endSessions.push(r.mailboxId!);
    if (changes.quotaMb !== undefined) await publish(tx, 'mailbox:' + r.mailboxId, { id: r.mailboxId });
    events.push({ ...actor, action: 'mailbox.update', targetType: 'Mailbox', targetId: r.mailboxId, targetLabel: r.asciiAddress, customerId: r.customerId, details: { ...changes, bulkImportId: imp.id } });
  }
  await enqueueMany(boss, tx, 'provision-mailbox', endSessions.map((mailboxId) => ({ mailboxId, endSessions: true })));
  if (events.length) await tx.auditEvent.createMany({ data: events as never });
  for (const r of batch) r.done = true;
  const n = (o: string) => all.filter((r) => r.done && r.outcome === o).length;
  await tx.bulkImport.update({
    where: { id: imp.id },
    data: { rows: all as never, processed: all.filter((r) => r.done).length, created: n('CREATE'), updated: n('UPDATE'), unchanged: n('UNCHANGED'), failed: n('ERROR') },
  });
}
