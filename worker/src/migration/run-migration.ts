// Runs one migration from start (or from its checkpoints) to a final state. Called by the pg-boss
// handler in job.ts; everything the user sees comes from the Migration row this keeps up to date.
//
// Invariants:
// - One runner per migration: the row's lease (lease_id + heartbeat_at, renewed every few seconds) is
//   taken with a compare-and-set; a runner that loses it stops before its next write, and a lease
//   nobody renews is taken over (job.ts's watchdog) — a dead worker's migration resumes elsewhere.
// - Exactly once: folders are copied from their UID checkpoint on, and every message is checked
//   against the target's copies (dedupe.ts) unless the target folder is empty — read at the moment
//   the native copier starts, so also after a fast-path import that stopped part way. A dropped or
//   reset source session is reconnected and the folder resumed from its last confirmed UID. A retry,
//   a resumed run or a re-run of a finished migration adds only what is missing.
// - SUCCEEDED means verified: the VERIFYING phase compares every copied folder of source and target
//   (message count and the multiset of dedupe keys); what is missing is copied again, what is extra
//   is reported; a folder still missing mail ends the run FAILED (VERIFY_FAILED) with the numbers.
// - Retries follow retry-schedule.ts: a transient failure releases the row (phase WAITING, the error,
//   next_retry_at) and enqueues the next attempt with exactly that delay, in one transaction.
// - The source is only read. The target only gains messages; nothing is ever deleted or replaced.
// - Cancellation is read from the row on every heartbeat and checked before every batch: after the
//   row says CANCELLED, nothing more is written.
// - The decrypted password lives only in this function's scope; the stored one is set to NULL when
//   the migration ends (succeeded, failed, cancelled). A keep-in-sync migration keeps it (encrypted)
//   while SYNCING, because every sync logs in again.
// - Keep in sync (core/src/migration/sync.ts): after the first verified copy a sync-mode migration goes
//   to SYNCING/IDLE and enqueues its next run (startAfter = the interval) in the transaction that
//   releases the lease — one job, in pg-boss's table, so it runs once across workers and survives a
//   restart. A sync run holds the lease like any run; a transient failure retries per the schedule and,
//   when that is exhausted, goes back to IDLE with the error instead of ending the migration.
import { randomUUID } from 'node:crypto';
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { decryptSecret } from '@mailpanel/core/crypto/secretbox';
import { mailboxHome } from '@mailpanel/core/mail-paths';
import { log } from '@mailpanel/core/logger';
import { publish } from '@mailpanel/core/pubsub';
import { UidCheckpoint, planFolderRun } from '@mailpanel/core/migration/checkpoint';
import type { Tx } from '@mailpanel/core/db';
import { KeyCounter, dedupeKey, headerBlock, parseHeaders } from '@mailpanel/core/migration/dedupe';
import { doveadmImport, imapcName } from './doveadm-import.js';
import { MigrationError, MigrationInterrupted, SourceServerError, TargetError, classifyError } from '@mailpanel/core/migration/errors';
import { maxAttempts, retryDelaySeconds } from '@mailpanel/core/migration/retry-schedule';
import { isFinalRun, syncDelaySeconds, verifiesRun, type RunKind } from '@mailpanel/core/migration/sync';
import { planFolders, type FolderPlan } from '@mailpanel/core/migration/folder-mapping';
import { SourceConnection, uidSet, type SourceMessage, type SourceSettings } from '@mailpanel/core/migration/source-imap';
import { DovecotTarget } from './target-dovecot.js';
import { MaildirTarget } from './target-maildir.js';
import { PartialAppendError, type OutgoingMessage, type Target } from './target.js';

const BATCH_MESSAGES = 250;
const BATCH_BYTES = 4 * 1024 * 1024;
const FLUSH_MS = 500;
/**
 * A doveadm import chunk is sized to take about this long: progress moves within 2 s, while each
 * doveadm start (config, imapc login, index, commit: a few hundred ms on a busy machine) stays a
 * small part of a chunk.
 */
const CHUNK_MS = 1200;

export type RunOutcome = 'finished' | 'not-mine' | 'retry';

export interface RunOptions {
  /** Aborted when the worker stops or pg-boss takes the job away. */
  signal?: AbortSignal;
  /**
   * Enqueues the next attempt (or a keep-in-sync migration's next sync) after `delaySeconds`, inside
   * the transaction that releases the row. Without it (the benchmark) a transient failure ends the run
   * FAILED.
   */
  scheduleRetry?: (tx: Tx, delaySeconds: number) => Promise<void>;
  /** Tests and the benchmark: override MIGRATION_FAST_PATH. */
  fastPath?: boolean;
}

export function topicOf(migrationId: string) {
  return `migration:${migrationId}`;
}

async function notify(migrationId: string, status: string) {
  await publish(db(), topicOf(migrationId), { id: migrationId, status }).catch((err) => log.warn('migration: publish failed', { err }));
}

interface Counters {
  foldersDone: number;
  messagesCopied: number;
  messagesSkipped: number;
  messagesFailed: number;
  messagesTotal: number;
  bytesCopied: bigint;
}

interface FolderRow {
  id: string;
  sourceName: string;
  targetName: string;
  uidValidity: bigint | null;
  lastUid: bigint;
  status: string;
  messagesCopied: number;
  messagesSkipped: number;
  messagesFailed: number;
  bytesCopied: bigint;
}

/** The live state of one run: counters, the folder being copied, the lease and cancellation. */
class RunState {
  readonly counters: Counters = { foldersDone: 0, messagesCopied: 0, messagesSkipped: 0, messagesFailed: 0, messagesTotal: 0, bytesCopied: 0n };
  folder: { row: FolderRow; copied: number; skipped: number; failed: number; bytes: bigint; lastUid: bigint; total: number } | null = null;
  interrupted: MigrationInterrupted | null = null;
  private lastFlush = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  readonly controller = new AbortController();

  constructor(
    readonly migrationId: string,
    readonly leaseId: string,
    private readonly leaseSeconds: number,
    outer?: AbortSignal,
  ) {
    const onAbort = () => this.interrupt(new MigrationInterrupted('stopping'));
    if (outer?.aborted) onAbort();
    else outer?.addEventListener('abort', onAbort, { once: true });
  }

  interrupt(reason: MigrationInterrupted) {
    if (this.interrupted) return;
    this.interrupted = reason;
    this.controller.abort();
  }

  check() {
    if (this.interrupted) throw this.interrupted;
  }

  startHeartbeat() {
    const every = Math.max(1000, Math.floor((this.leaseSeconds * 1000) / 6));
    this.timer = setInterval(() => void this.flush(true).catch((err) => log.warn('migration: heartbeat failed', { err })), every);
    this.timer.unref();
  }

  stopHeartbeat() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Writes counters, the folder checkpoint and the heartbeat; reads back cancellation. */
  async flush(force = false): Promise<void> {
    if (!force && Date.now() - this.lastFlush < FLUSH_MS) return;
    if (this.flushing) return this.flushing;
    this.lastFlush = Date.now();
    this.flushing = (async () => {
      const c = this.counters;
      const f = this.folder;
      const rows = await db().$transaction(async (tx) => {
        const updated = await tx.$queryRaw<{ cancel_requested: boolean; status: string }[]>`
          UPDATE migrations SET heartbeat_at = now(), updated_at = now(),
            folders_done = ${c.foldersDone}, messages_copied = ${c.messagesCopied}, messages_skipped = ${c.messagesSkipped},
            messages_failed = ${c.messagesFailed}, messages_total = ${c.messagesTotal}, bytes_copied = ${c.bytesCopied}
          WHERE id = ${this.migrationId}::uuid AND lease_id = ${this.leaseId}::uuid
          RETURNING cancel_requested, status::text AS status`;
        if (updated.length && f) {
          await tx.migrationFolder.update({
            where: { id: f.row.id },
            data: { messagesCopied: f.copied, messagesSkipped: f.skipped, messagesFailed: f.failed, bytesCopied: f.bytes, lastUid: f.lastUid },
          });
        }
        return updated;
      });
      if (!rows.length) this.interrupt(new MigrationInterrupted('lease-lost'));
      else if (rows[0]!.cancel_requested || rows[0]!.status === 'CANCELLED') this.interrupt(new MigrationInterrupted('cancelled'));
      else await notify(this.migrationId, 'RUNNING');
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }
}

interface Claimed {
  /** The attempt number within the current run (or the current sync). */
  attempt: number;
  kind: RunKind;
}

/**
 * Takes the lease; null when not ours. A SYNCING migration stays SYNCING while a sync runs; an IDLE
 * one is only taken when its sync is due or finishMigration asked for the last one (a stray early
 * job does nothing — the scheduled one is still there).
 */
async function claim(migrationId: string, leaseId: string, leaseSeconds: number, attemptsAllowed: number): Promise<Claimed | null> {
  const rows = await db().$queryRaw<{ attempts: number; sync_run: boolean; sync_interval_minutes: number | null; finish_requested: boolean }[]>`
    UPDATE migrations SET lease_id = ${leaseId}::uuid, heartbeat_at = now(),
      status = CASE WHEN status = 'SYNCING' THEN 'SYNCING'::"MigrationStatus" ELSE 'RUNNING'::"MigrationStatus" END, phase = 'CONNECTING',
      attempts = attempts + 1, max_attempts = CASE WHEN attempts = 0 THEN ${attemptsAllowed}::int ELSE max_attempts END,
      next_retry_at = NULL, next_sync_at = NULL, started_at = COALESCE(started_at, now()), updated_at = now()
    WHERE id = ${migrationId}::uuid AND status IN ('QUEUED', 'RUNNING', 'SYNCING') AND NOT cancel_requested
      AND (lease_id IS NULL OR heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => ${leaseSeconds}))
      AND (phase <> 'IDLE' OR finish_requested OR next_sync_at IS NULL OR next_sync_at <= now() + interval '2 seconds')
    RETURNING attempts, status = 'SYNCING' AS sync_run, sync_interval_minutes, finish_requested`;
  const r = rows[0];
  if (!r) return null;
  return { attempt: r.attempts, kind: { syncIntervalMinutes: r.sync_interval_minutes, syncRun: r.sync_run, finishRequested: r.finish_requested } };
}

/** Ends the migration (only while this runner holds the lease): final status, password wiped. */
async function finish(
  migrationId: string,
  leaseId: string,
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
  counters: Counters | null,
  error: MigrationError | null,
): Promise<void> {
  await db().$executeRaw`
    UPDATE migrations SET status = ${status}::"MigrationStatus", phase = 'FINISHED', finished_at = now(), updated_at = now(),
      source_password_enc = NULL, lease_id = NULL, cancel_requested = false, next_retry_at = NULL, next_sync_at = NULL,
      error_code = ${error?.code ?? null}::"MigrationErrorCode", error_message = ${error?.message ?? null},
      folders_done = COALESCE(${counters?.foldersDone ?? null}::int, folders_done),
      messages_copied = COALESCE(${counters?.messagesCopied ?? null}::int, messages_copied),
      messages_skipped = COALESCE(${counters?.messagesSkipped ?? null}::int, messages_skipped),
      messages_failed = COALESCE(${counters?.messagesFailed ?? null}::int, messages_failed),
      messages_total = COALESCE(${counters?.messagesTotal ?? null}::int, messages_total),
      bytes_copied = COALESCE(${counters?.bytesCopied ?? null}::bigint, bytes_copied)
    WHERE id = ${migrationId}::uuid AND (lease_id = ${leaseId}::uuid OR lease_id IS NULL)`;
  await db().$executeRaw`UPDATE migration_folders SET status = 'PENDING', updated_at = now() WHERE migration_id = ${migrationId}::uuid AND status = 'COPYING'`;
  await notify(migrationId, status);
}

export async function runMigration(migrationId: string, opts: RunOptions): Promise<RunOutcome> {
  const cfg = config();
  const leaseId = randomUUID();
  const policy = { retries: cfg.MIGRATION_RETRIES, baseSeconds: cfg.MIGRATION_RETRY_DELAY_SECONDS };
  const claimed = await claim(migrationId, leaseId, cfg.MIGRATION_LEASE_SECONDS, maxAttempts(policy));
  if (claimed === null) {
    // Finished, cancelled, not due yet, or another worker holds a live lease: nothing to do here.
    const row = await db().migration.findUnique({ where: { id: migrationId }, select: { status: true, cancelRequested: true, leaseId: true, heartbeatAt: true } });
    if (row && row.cancelRequested && (row.status === 'QUEUED' || row.status === 'RUNNING' || row.status === 'SYNCING') && !row.leaseId) {
      await finish(migrationId, row.leaseId ?? randomUUID(), 'CANCELLED', null, null);
    }
    return 'not-mine';
  }
  const { attempt, kind } = claimed;
  await notify(migrationId, 'RUNNING');
  const state = new RunState(migrationId, leaseId, cfg.MIGRATION_LEASE_SECONDS, opts.signal);
  state.startHeartbeat();
  let source: SourceLink | null = null;
  let target: Target | null = null;
  let allowedAttempts = maxAttempts(policy);
  let settings: SourceSettings | null = null;
  try {
    const m = await db().migration.findUniqueOrThrow({ where: { id: migrationId }, include: { mailbox: { include: { domain: true } }, folders: true } });
    allowedAttempts = m.maxAttempts;
    if (m.mailbox.provisioning === 'DELETING') throw new MigrationError('TARGET_ERROR', 'The target mailbox is being deleted.', true);
    // Deleted in its grace period: out of the mail views, so nothing may be copied into it (a
    // keep-in-sync migration would otherwise fail every interval until the purge).
    if (m.mailbox.deletedAt) throw new MigrationError('TARGET_ERROR', 'The target mailbox was deleted.', true);
    // A later attempt of the same run (after a crash or a transient failure) continues the counters
    // and skips the folders it already finished. A sync continues the counters too, but looks at every
    // folder again (each from its checkpoint: a folder without new UIDs costs one SELECT).
    const resumed = attempt > 1 || kind.syncRun;
    if (resumed) {
      // From the folder rows: each is written with its checkpoint, so they are exact where the run's
      // own (throttled) counters may lag a little behind a crash.
      const sum = (k: 'messagesCopied' | 'messagesSkipped' | 'messagesFailed') => m.folders.reduce((n, f) => n + f[k], 0);
      Object.assign(state.counters, {
        foldersDone: m.folders.filter((f) => f.status === 'DONE' || f.status === 'SKIPPED').length,
        messagesCopied: sum('messagesCopied'),
        messagesSkipped: sum('messagesSkipped'),
        messagesFailed: sum('messagesFailed'),
        bytesCopied: m.folders.reduce((n, f) => n + f.bytesCopied, 0n),
      });
    }
    if (!m.sourcePasswordEnc) throw new MigrationError('INTERNAL', 'The source password is no longer stored; retry the migration and enter it again.', true);
    settings = {
      host: m.sourceHost,
      port: m.sourcePort,
      security: m.sourceSecurity,
      username: m.sourceUsername,
      password: decryptSecret(m.sourcePasswordEnc, cfg.encryptionKey),
    };
    source = await SourceLink.open(settings);
    state.check();
    target = cfg.DOVECOT_CONFIG
      ? await DovecotTarget.open({ doveadm: cfg.DOVEADM_PATH, config: cfg.DOVECOT_CONFIG, user: m.mailbox.address }).catch((e) => {
          throw e instanceof TargetError ? e : new TargetError((e as Error).message);
        })
      : new MaildirTarget({
          home: mailboxHome(cfg.mailRoot, m.mailbox.domain.name, m.mailbox.localPart),
          uid: cfg.MAIL_UID,
          gid: cfg.MAIL_GID,
          quotaBytes: m.mailbox.quotaMb > 0 ? m.mailbox.quotaMb * 1024 * 1024 : null,
        });
    await db().migration.update({ where: { id: migrationId }, data: { phase: 'PLANNING', engine: target.engine } });
    await notify(migrationId, 'RUNNING');

    // Plan: every source folder gets a row (kept across runs, with its checkpoint).
    const listed = await source.conn.listFolders(true);
    const plans = planFolders(listed, { personalPrefix: source.conn.personalPrefix, target: await target.listFolders(), overrides: overridesOf(m.folderOverrides) });
    const counts = new Map(listed.map((f) => [f.path, f.messages ?? 0]));
    const delimiters = new Map(listed.map((f) => [f.path, f.delimiter]));
    const rows = new Map<string, FolderRow>();
    for (const [position, p] of plans.entries()) {
      const row = await db().migrationFolder.upsert({
        where: { migrationId_sourceName: { migrationId, sourceName: p.sourcePath } },
        create: {
          migrationId,
          position,
          sourceName: p.sourcePath,
          targetName: p.targetName,
          specialUse: p.specialUse,
          messagesTotal: counts.get(p.sourcePath) ?? 0,
          status: p.copy ? 'PENDING' : 'SKIPPED',
          errorMessage: p.skipReason ?? null,
        },
        update: {
          position,
          targetName: p.targetName,
          specialUse: p.specialUse,
          messagesTotal: counts.get(p.sourcePath) ?? 0,
          ...(resumed
            ? {}
            : { status: p.copy ? 'PENDING' : 'SKIPPED', errorMessage: p.skipReason ?? null, messagesCopied: 0, messagesSkipped: 0, messagesFailed: 0, bytesCopied: 0 }),
        },
      });
      rows.set(p.sourcePath, row);
    }
    state.counters.messagesTotal = plans.filter((p) => p.copy).reduce((n, p) => n + (counts.get(p.sourcePath) ?? 0), 0);
    if (!resumed || kind.syncRun) state.counters.foldersDone = plans.filter((p) => !p.copy).length;
    await db().migration.update({
      where: { id: migrationId },
      data: { phase: 'COPYING', foldersTotal: plans.length, foldersDone: state.counters.foldersDone, messagesTotal: state.counters.messagesTotal },
    });
    await state.flush(true);

    for (const plan of plans.filter((p) => p.copy)) {
      state.check();
      if (resumed && !kind.syncRun && rows.get(plan.sourcePath)!.status === 'DONE') continue;
      await copyFolder({ plan, row: rows.get(plan.sourcePath)!, src: source, target, state, settings, fastPath: opts.fastPath ?? cfg.MIGRATION_FAST_PATH, user: m.mailbox.address, personalPrefix: source.conn.personalPrefix, delimiter: delimiters.get(plan.sourcePath) ?? null, resumed });
      state.counters.foldersDone++;
      await state.flush();
    }
    state.check();

    if (!verifiesRun(kind)) {
      state.stopHeartbeat();
      await goIdle(migrationId, leaseId, state.counters, kind.syncIntervalMinutes!, null, opts.scheduleRetry);
      return 'finished';
    }
    // SUCCEEDED means verified: every copied folder, source against target.
    const verifyStarted = Date.now();
    await db().migration.update({ where: { id: migrationId }, data: { phase: 'VERIFYING' } });
    await notify(migrationId, 'RUNNING');
    const fresh = new Map((await db().migrationFolder.findMany({ where: { migrationId } })).map((r) => [r.sourceName, r]));
    const verdict = await verifyAll({ plans: plans.filter((p) => p.copy), rows: fresh, src: source, target, state, settings, user: m.mailbox.address, personalPrefix: source.conn.personalPrefix, delimiters });
    state.check();
    state.stopHeartbeat();
    await db().migration.update({ where: { id: migrationId }, data: { verifiedAt: new Date(), verifyMissing: verdict.missing, verifyExtra: verdict.extra, verifyRepaired: verdict.repaired } });
    log.info('migration: verified', { migrationId, seconds: (Date.now() - verifyStarted) / 1000, missing: verdict.missing, extra: verdict.extra, repaired: verdict.repaired });
    if (verdict.missing > 0) {
      const list = verdict.failed.map((f) => `${f.targetName} (${f.missing} of ${f.source} missing)`).join(', ');
      await finish(migrationId, leaseId, 'FAILED', state.counters, new MigrationError('VERIFY_FAILED', `Verification found ${verdict.missing} message(s) missing after a repair attempt: ${list}.`, true));
      return 'finished';
    }
    if (!isFinalRun(kind)) {
      // The first copy of a keep-in-sync migration, verified: from now on only new mail.
      await goIdle(migrationId, leaseId, state.counters, kind.syncIntervalMinutes!, null, opts.scheduleRetry);
      return 'finished';
    }
    // The last sync of a keep-in-sync migration is a sync too: the panel shows what it copied.
    if (kind.syncIntervalMinutes !== null) await recordSync(migrationId, leaseId, state.counters);
    await finish(migrationId, leaseId, 'SUCCEEDED', state.counters, null);
    return 'finished';
  } catch (err) {
    state.stopHeartbeat();
    if (err instanceof MigrationInterrupted || state.interrupted) {
      const reason = err instanceof MigrationInterrupted ? err.reason : state.interrupted!.reason;
      if (reason === 'cancelled') {
        await finish(migrationId, leaseId, 'CANCELLED', state.counters, null);
        return 'finished';
      }
      if (reason === 'lease-lost') return 'not-mine';
      // The worker is stopping: the next attempt starts at once, on whichever worker is up.
      if (opts.scheduleRetry) {
        await release(migrationId, leaseId, state.counters, null, 0, opts.scheduleRetry);
        return 'finished';
      }
      return 'retry';
    }
    const failure = classifyError(err instanceof PartialAppendError ? err.cause : err, settings ? { host: settings.host, port: settings.port, security: settings.security, secrets: [settings.password] } : {});
    if (failure.code === 'INTERNAL') log.error('migration: unexpected error', { migrationId, err, where: (err as Error)?.stack?.split('\n').slice(1, 6).join(' | ') });
    else log.info('migration: failed', { migrationId, code: failure.code, permanent: failure.permanent });
    if (state.folder && failure.code === 'TARGET_OVER_QUOTA') {
      await db().migrationFolder.update({ where: { id: state.folder.row.id }, data: { status: 'FAILED', errorMessage: failure.message } }).catch(() => {});
    }
    const delay = retryDelaySeconds(policy, attempt, allowedAttempts);
    if (!failure.permanent && delay === null && kind.syncRun && opts.scheduleRetry) {
      // One sync failed on every attempt: sync mode goes on (the next sync at the usual interval),
      // with the error shown until a sync succeeds.
      await goIdle(migrationId, leaseId, state.counters, kind.syncIntervalMinutes!, failure, opts.scheduleRetry);
      return 'finished';
    }
    if (failure.permanent || delay === null || !opts.scheduleRetry) {
      await finish(migrationId, leaseId, 'FAILED', state.counters, failure);
      return 'finished';
    }
    await release(migrationId, leaseId, state.counters, failure, delay, opts.scheduleRetry);
    return 'finished';
  } finally {
    state.stopHeartbeat();
    await Promise.all([source?.close(), target?.close()]).catch(() => {});
    if (settings) settings.password = '';
  }
}

/** Gives the migration back to the queue: progress kept, lease released, the next attempt enqueued. */
async function release(migrationId: string, leaseId: string, c: Counters, error: MigrationError | null, delaySeconds: number, scheduleRetry: NonNullable<RunOptions['scheduleRetry']>) {
  await db().$transaction(async (tx) => {
    const n = await tx.$executeRaw`
      UPDATE migrations SET phase = 'WAITING', lease_id = NULL, updated_at = now(),
        next_retry_at = now() + make_interval(secs => ${delaySeconds}),
        error_code = ${error?.code ?? null}::"MigrationErrorCode",
        error_message = ${error ? error.message : null},
        folders_done = ${c.foldersDone}, messages_copied = ${c.messagesCopied}, messages_skipped = ${c.messagesSkipped},
        messages_failed = ${c.messagesFailed}, bytes_copied = ${c.bytesCopied}
      WHERE id = ${migrationId}::uuid AND lease_id = ${leaseId}::uuid`;
    await tx.$executeRaw`UPDATE migration_folders SET status = 'PENDING', updated_at = now() WHERE migration_id = ${migrationId}::uuid AND status = 'COPYING'`;
    if (n === 1) await scheduleRetry(tx, delaySeconds);
  });
  await notify(migrationId, 'RUNNING');
}

/**
 * A keep-in-sync migration after a copy: SYNCING, phase IDLE, lease released, the next sync enqueued
 * in the same transaction. After a successful sync (error null) its numbers are recorded; after a
 * failed one the error stays and the numbers of the last good sync remain. finishMigration's request
 * makes the next sync start at once (it is the last); finishMigration enqueues it itself only when no
 * runner holds the lease, so a request that races this update is never lost.
 */
async function goIdle(migrationId: string, leaseId: string, c: Counters, intervalMinutes: number, error: MigrationError | null, schedule: RunOptions['scheduleRetry']) {
  if (!schedule) throw new Error('a keep-in-sync migration needs a queue to schedule its next sync');
  const interval = syncDelaySeconds(intervalMinutes, config().MIGRATION_SYNC_MINUTE_SECONDS);
  const ok = error === null;
  await db().$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ finish_requested: boolean }[]>`
      UPDATE migrations SET status = 'SYNCING', phase = 'IDLE', lease_id = NULL, attempts = 0, next_retry_at = NULL, updated_at = now(),
        error_code = ${error?.code ?? null}::"MigrationErrorCode", error_message = ${error?.message ?? null},
        folders_done = ${c.foldersDone}, messages_copied = ${c.messagesCopied}, messages_skipped = ${c.messagesSkipped},
        messages_failed = ${c.messagesFailed}, messages_total = ${c.messagesTotal}, bytes_copied = ${c.bytesCopied},
        sync_count = sync_count + ${ok ? 1 : 0}::int,
        last_sync_at = CASE WHEN ${ok}::boolean THEN now() ELSE last_sync_at END,
        last_sync_messages = CASE WHEN ${ok}::boolean THEN ${c.messagesCopied}::int - sync_base_messages ELSE last_sync_messages END,
        last_sync_bytes = CASE WHEN ${ok}::boolean THEN ${c.bytesCopied}::bigint - sync_base_bytes ELSE last_sync_bytes END,
        sync_base_messages = CASE WHEN ${ok}::boolean THEN ${c.messagesCopied}::int ELSE sync_base_messages END,
        sync_base_bytes = CASE WHEN ${ok}::boolean THEN ${c.bytesCopied}::bigint ELSE sync_base_bytes END,
        next_sync_at = now() + make_interval(secs => CASE WHEN finish_requested AND ${ok}::boolean THEN 0 ELSE ${interval}::int END)
      WHERE id = ${migrationId}::uuid AND lease_id = ${leaseId}::uuid
      RETURNING finish_requested`;
    await tx.$executeRaw`UPDATE migration_folders SET status = 'PENDING', updated_at = now() WHERE migration_id = ${migrationId}::uuid AND status = 'COPYING'`;
    if (rows.length) await schedule(tx, rows[0]!.finish_requested && ok ? 0 : interval);
  });
  await notify(migrationId, 'SYNCING');
}

/** Records a completed sync of a keep-in-sync migration that ends here (the last one, before SUCCEEDED). */
async function recordSync(migrationId: string, leaseId: string, c: Counters) {
  await db().$executeRaw`
    UPDATE migrations SET sync_count = sync_count + 1, last_sync_at = now(),
      last_sync_messages = ${c.messagesCopied}::int - sync_base_messages, last_sync_bytes = ${c.bytesCopied}::bigint - sync_base_bytes,
      sync_base_messages = ${c.messagesCopied}::int, sync_base_bytes = ${c.bytesCopied}::bigint
    WHERE id = ${migrationId}::uuid AND lease_id = ${leaseId}::uuid`;
}

/** A migration's per-folder target names chosen at start ({ sourceName, targetName }[] in the row). */
function overridesOf(json: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(json)) for (const o of json) if (o && typeof o.sourceName === 'string' && typeof o.targetName === 'string') out[o.sourceName] = o.targetName;
  return out;
}

/** The source session of a run, replaced by a new login when the server drops it. */
class SourceLink {
  private constructor(
    public conn: SourceConnection,
    private readonly settings: SourceSettings,
  ) {}

  static async open(settings: SourceSettings): Promise<SourceLink> {
    return new SourceLink(await SourceConnection.connect(settings), settings);
  }

  async reconnect(): Promise<void> {
    const old = this.conn;
    void old.close().catch(() => {});
    this.conn = await SourceConnection.connect(this.settings);
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}

/** Failures a new source session can cure: the session dropped, reset or went silent. */
function sessionLost(err: unknown): boolean {
  if (err instanceof PartialAppendError || err instanceof TargetError || err instanceof MigrationInterrupted) return false;
  const e = err instanceof MigrationError ? err : classifyError(err);
  return !e.permanent && ['CONNECTION_LOST', 'TIMEOUT', 'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'HOST_UNREACHABLE', 'SOURCE_ERROR'].includes(e.code);
}

/** Runs fn on the source; a lost session is reconnected and fn run again (up to `tries` times in a row). */
async function withSource<T>(src: SourceLink, state: RunState, fn: (conn: SourceConnection) => Promise<T>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    state.check();
    try {
      return await fn(src.conn);
    } catch (e) {
      if (!sessionLost(e) || i >= tries || state.interrupted) throw e;
      log.info('migration: source session lost, reconnecting', { migrationId: state.migrationId, try: i });
      await src.reconnect();
    }
  }
}

interface CopyFolderArgs {
  plan: FolderPlan;
  row: FolderRow;
  src: SourceLink;
  target: Target;
  state: RunState;
  settings: SourceSettings;
  fastPath: boolean;
  user: string;
  personalPrefix: string;
  delimiter: string | null;
  resumed: boolean;
}

type FolderState = NonNullable<RunState['folder']>;
interface SourceBox {
  uidValidity: bigint;
  uidNext: number | null;
  exists: number;
}

async function copyFolder(a: CopyFolderArgs): Promise<void> {
  const { plan, row, target, state } = a;
  await target.ensureFolder(plan.targetName);
  const box = await withSource(a.src, state, (c) => c.open(plan.sourcePath));
  const run = planFolderRun({ uidValidity: row.uidValidity, lastUid: row.lastUid }, { uidValidity: box.uidValidity, uidNext: box.uidNext, exists: box.exists });
  // Resuming a folder this run had started: its counters go on from where they were.
  const cont = a.resumed && !run.reset;
  const f: FolderState = {
    row,
    copied: cont ? row.messagesCopied : 0,
    skipped: cont ? row.messagesSkipped : 0,
    failed: cont ? row.messagesFailed : 0,
    bytes: cont ? row.bytesCopied : 0n,
    lastUid: BigInt(run.fromUid - 1),
    total: box.exists,
  };
  state.folder = f;
  await db().migrationFolder.update({
    where: { id: row.id },
    data: { status: 'COPYING', uidValidity: box.uidValidity, lastUid: f.lastUid, messagesTotal: box.exists, errorMessage: null, engine: target.engine },
  });
  const done = async (engine?: 'DOVEADM_IMPORT') => {
    // What was not copied or refused was already there: in the target from an earlier run.
    const already = Math.max(0, box.exists - f.copied - f.failed - f.skipped);
    f.skipped += already;
    state.counters.messagesSkipped += already;
    // The folder's final counters and checkpoint go with its DONE; the run's counters follow with the
    // next (throttled) flush — a forced round trip per folder costs seconds on mailboxes with many folders.
    await db().migrationFolder.update({
      where: { id: row.id },
      data: { status: 'DONE', messagesCopied: f.copied, messagesSkipped: f.skipped, messagesFailed: f.failed, bytesCopied: f.bytes, lastUid: f.lastUid, ...(engine ? { engine } : {}) },
    });
    state.folder = null;
    await state.flush();
  };
  if (run.upToDate) return done();

  const fastName = imapcName(plan.sourcePath, a.delimiter, a.personalPrefix, plan.targetName);
  if (a.fastPath && target instanceof DovecotTarget && run.fromUid === 1 && box.uidNext && fastName && (await target.messageCount(plan.targetName)) === 0) {
    if (await fastImport(a, f, fastName, box.uidNext - 1)) return done('DOVEADM_IMPORT');
    // The native copier goes on after the last chunk doveadm confirmed; it reads the target's keys
    // first (the failed chunk may have stored part of its messages), so nothing arrives twice.
  }
  await nativeCopy(a, f, box);
  await done();
}

/**
 * The fast path, in chunks of UIDs sized to take about CHUNK_MS each: every chunk is one doveadm
 * import and one committed transaction, after which the counters and the checkpoint move (live
 * progress) — so a failure or a killed worker leaves at most one chunk unconfirmed. False when a
 * chunk failed: the caller continues natively from the checkpoint.
 */
async function fastImport(a: CopyFolderArgs, f: FolderState, folder: string, maxUid: number): Promise<boolean> {
  const { state, target, plan } = a;
  const c = cfgDovecot();
  let inTarget = 0;
  let chunk = 500;
  for (let from = Number(f.lastUid) + 1; from <= maxUid; ) {
    const to = Math.min(maxUid, from + chunk - 1);
    const t0 = Date.now();
    const r = await doveadmImport({ doveadm: c.doveadm, config: c.config, user: a.user, source: a.settings, folder, fromUid: from, toUid: to, signal: state.controller.signal });
    state.check();
    if (!r.ok) {
      log.info('migration: doveadm import failed, using the native copier', { migrationId: state.migrationId, folder: plan.targetName, reason: r.reason });
      return false;
    }
    const n = await target.messageCount(plan.targetName);
    f.copied += n - inTarget;
    state.counters.messagesCopied += n - inTarget;
    inTarget = n;
    f.lastUid = BigInt(to);
    await state.flush(true);
    const ms = Math.max(1, Date.now() - t0);
    chunk = Math.max(100, Math.min(10000, Math.round((chunk * CHUNK_MS) / ms)));
    from = to + 1;
  }
  return true;
}

/** The native copier from the folder's checkpoint on; a lost source session is resumed from the last confirmed UID. */
async function nativeCopy(a: CopyFolderArgs, f: FolderState, box: SourceBox): Promise<void> {
  let stuck = 0;
  for (;;) {
    const before = f.lastUid;
    try {
      await nativePass(a, f, Number(f.lastUid) + 1);
      // imapflow may end a FETCH quietly when the socket closes: a pass only counts on a live session.
      if (!a.src.conn.client.usable) throw new SourceServerError('CONNECTION_LOST', 'The connection to the source server was lost.', false);
      return;
    } catch (e) {
      stuck = f.lastUid > before ? 1 : stuck + 1;
      if (!sessionLost(e) || stuck > 3 || a.state.interrupted) throw e;
      log.info('migration: source session lost mid-folder, resuming from the last confirmed UID', { migrationId: a.state.migrationId, folder: a.plan.targetName, lastUid: String(f.lastUid) });
      await a.src.reconnect();
      const again = await a.src.conn.open(a.plan.sourcePath);
      if (again.uidValidity !== box.uidValidity) throw new SourceServerError('SOURCE_ERROR', 'The source folder was recreated during the migration (UIDVALIDITY changed); it is copied again on the next attempt.', false);
    }
  }
}

async function nativePass(a: CopyFolderArgs, f: FolderState, fromUid: number): Promise<void> {
  const { plan, target, state } = a;
  const source = a.src.conn;
  // Keys of what the target folder holds right now (none when it is empty): read here, not before a
  // fast-path import, so what a partial import stored is recognised.
  const targetCount = await target.messageCount(plan.targetName);
  const existing = targetCount > 0 ? await target.keys(plan.targetName) : new KeyCounter();
  state.check();
  const checkpoint = new UidCheckpoint(fromUid - 1);
  let ranges: string[];
  // With copies in the target, a header pass decides first what to skip; UIDs are then known up front.
  const headerPass = existing.size > 0;
  if (headerPass) {
    // The target's copies of messages at or below the checkpoint belong to those messages.
    if (fromUid > 1) for await (const h of source.headers(1, fromUid - 1)) existing.take(keyOfHeader(h));
    const all: number[] = [];
    const skip: number[] = [];
    for await (const h of source.headers(fromUid, '*')) {
      if (h.uid < fromUid || (all.length && h.uid <= all[all.length - 1]!)) continue;
      all.push(h.uid);
      if (existing.take(keyOfHeader(h))) skip.push(h.uid);
    }
    if (!source.client.usable) throw new SourceServerError('CONNECTION_LOST', 'The connection to the source server was lost.', false);
    checkpoint.expect(all);
    f.skipped += skip.length;
    state.counters.messagesSkipped += skip.length;
    f.lastUid = BigInt(checkpoint.finish(skip));
    const skipSet = new Set(skip);
    const wanted = all.filter((u) => !skipSet.has(u));
    ranges = [];
    for (let i = 0; i < wanted.length; i += 500) ranges.push(uidSet(wanted.slice(i, i + 500)));
  } else ranges = [`${fromUid}:*`];
  await state.flush();

  // Pipeline: the source streams the next batch while the target stores the current one.
  const queue: OutgoingMessage[][] = [];
  let producerDone = false;
  let producerError: unknown = null;
  let wake: (() => void) | null = null;
  let room: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const producer = (async () => {
    let lastSeen = 0;
    let batch: OutgoingMessage[] = [];
    let bytes = 0;
    const push = async () => {
      if (!batch.length) return;
      while (queue.length >= 2 && !state.interrupted) await new Promise<void>((r) => (room = r));
      queue.push(batch);
      batch = [];
      bytes = 0;
      signal();
    };
    try {
      for (const range of ranges) {
        for await (const m of source.messages(range) as AsyncGenerator<SourceMessage>) {
          if (state.interrupted) return;
          // Servers answer in ascending UID order; anything else (an unsolicited repeat) is ignored.
          if (m.uid < fromUid || m.uid <= lastSeen) continue;
          lastSeen = m.uid;
          batch.push(m);
          bytes += m.raw.length;
          if (batch.length >= BATCH_MESSAGES || bytes >= BATCH_BYTES) await push();
        }
      }
      await push();
    } catch (e) {
      producerError = e;
      // The messages that arrived whole before the session dropped are good: store them too, so
      // every session makes progress however often the source cuts it.
      await push().catch(() => {});
    } finally {
      producerDone = true;
      signal();
    }
  })();

  try {
    for (;;) {
      if (!queue.length) {
        if (producerDone) break;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      const batch = queue.shift()!;
      const r = room as (() => void) | null;
      room = null;
      r?.();
      state.check();
      if (!headerPass) checkpoint.expect(batch.map((m) => m.uid));
      let stored = batch.length;
      let refused: number[] = [];
      let failure: unknown = null;
      try {
        refused = (await target.append(plan.targetName, batch)).refused;
      } catch (e) {
        if (!(e instanceof PartialAppendError)) throw e;
        stored = e.stored;
        failure = e;
      }
      const ok = batch.slice(0, stored).filter((m) => !refused.includes(m.uid));
      const bytes = ok.reduce((n, m) => n + BigInt(m.size), 0n);
      f.copied += ok.length;
      f.failed += refused.length;
      f.bytes += bytes;
      state.counters.messagesCopied += ok.length;
      state.counters.messagesFailed += refused.length;
      state.counters.bytesCopied += bytes;
      f.lastUid = BigInt(checkpoint.finish(batch.slice(0, stored).map((m) => m.uid)));
      if (failure) {
        await state.flush(true);
        throw failure;
      }
      await state.flush();
    }
    if (producerError) throw producerError;
  } finally {
    if (!producerDone) {
      const r = room as (() => void) | null;
      room = null;
      r?.();
    }
    await Promise.race([producer, new Promise((res) => setTimeout(res, 5000))]);
  }
}

interface VerifyArgs {
  plans: FolderPlan[];
  rows: Map<string, FolderRow & { messagesTotal: number }>;
  src: SourceLink;
  target: Target;
  state: RunState;
  settings: SourceSettings;
  user: string;
  personalPrefix: string;
  delimiters: Map<string, string | null>;
}

interface FolderVerdict {
  targetName: string;
  source: number;
  target: number;
  missing: number;
  extra: number;
}

/** Source messages the target lacks, and target messages the source lacks (multisets of dedupe keys). */
function compareKeys(source: KeyCounter, target: KeyCounter): { missing: number; extra: number } {
  let missing = 0;
  let extra = 0;
  for (const [k, n] of source.entries()) missing += Math.max(0, n - target.count(k));
  for (const [k, n] of target.entries()) extra += Math.max(0, n - source.count(k));
  return { missing, extra };
}

async function sourceKeys(src: SourceLink, state: RunState, path: string): Promise<KeyCounter> {
  return withSource(src, state, async (c) => {
    const box = await c.open(path);
    const keys = new KeyCounter();
    if (box.exists > 0) for await (const h of c.headers(1, '*')) keys.add(keyOfHeader(h));
    if (!c.client.usable) throw new SourceServerError('CONNECTION_LOST', 'The connection to the source server was lost.', false);
    return keys;
  });
}

/**
 * The VERIFYING phase: every copied folder, source against target. A folder missing messages is
 * copied again from UID 1 (the header pass copies exactly what is missing) and compared once more.
 */
async function verifyAll(v: VerifyArgs): Promise<{ missing: number; extra: number; repaired: number; failed: FolderVerdict[] }> {
  let missing = 0;
  let extra = 0;
  let repaired = 0;
  const failed: FolderVerdict[] = [];
  for (const plan of v.plans) {
    v.state.check();
    const row = v.rows.get(plan.sourcePath)!;
    const src = await sourceKeys(v.src, v.state, plan.sourcePath);
    let tgt = await v.target.keys(plan.targetName);
    let cmp = compareKeys(src, tgt);
    if (cmp.missing > 0) {
      log.warn('migration: verification found missing messages, repairing', { migrationId: v.state.migrationId, folder: plan.targetName, missing: cmp.missing });
      const before = cmp.missing;
      const f: FolderState = { row, copied: row.messagesCopied, skipped: row.messagesSkipped, failed: row.messagesFailed, bytes: row.bytesCopied, lastUid: 0n, total: src.size };
      v.state.folder = f;
      const box = await withSource(v.src, v.state, (c) => c.open(plan.sourcePath));
      await nativeCopy({ plan, row, src: v.src, target: v.target, state: v.state, settings: v.settings, fastPath: false, user: v.user, personalPrefix: v.personalPrefix, delimiter: v.delimiters.get(plan.sourcePath) ?? null, resumed: true }, f, box);
      await v.state.flush(true);
      v.state.folder = null;
      tgt = await v.target.keys(plan.targetName);
      cmp = compareKeys(src, tgt);
      repaired += Math.max(0, before - cmp.missing);
    }
    missing += cmp.missing;
    extra += cmp.extra;
    const verdict = { targetName: plan.targetName, source: src.size, target: tgt.size, ...cmp };
    if (cmp.missing > 0) failed.push(verdict);
    const note = cmp.missing > 0 ? `${cmp.missing} of ${src.size} messages missing after a repair attempt` : cmp.extra > 0 ? `${cmp.extra} message(s) in the target that the source does not have (kept)` : null;
    await db().migrationFolder.update({
      where: { id: row.id },
      data: { verifiedSource: src.size, verifiedTarget: tgt.size, verifyMissing: cmp.missing, verifyExtra: cmp.extra, ...(note ? { errorMessage: note } : {}), ...(cmp.missing > 0 ? { status: 'FAILED' } : {}) },
    });
    await v.state.flush();
  }
  return { missing, extra, repaired, failed };
}

function keyOfHeader(h: { headers: Buffer; size: number; internalDate: Date | null }): string {
  return dedupeKey({ headers: parseHeaders(headerBlock(h.headers)), size: h.size, internalDate: h.internalDate });
}

function cfgDovecot() {
  const c = config();
  return { doveadm: c.DOVEADM_PATH, config: c.DOVECOT_CONFIG! };
}
