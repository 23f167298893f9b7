import { LIVE_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import { db, type Tx } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { lastAttemptAt } from '@mailpanel/core/migration/retry-schedule';
import { encryptSecret } from '@mailpanel/core/crypto/secretbox';
import { FieldErrors, NotFoundError, TooManyAttemptsError, ValidationError } from '@mailpanel/core/errors';
import { enqueue } from '@mailpanel/core/jobs';
import {
  MigrationEngine,
  MigrationErrorCode,
  MigrationFolderStatus,
  MigrationPhase,
  MigrationSecurity,
  MigrationStatus,
} from '@mailpanel/core/generated/prisma/enums';
import { rateAndEta } from '@mailpanel/core/migration/checkpoint';
import {
  MigrationError,
  SourceAuthenticationError,
  SourceServerError,
  SourceTimeoutError,
  SourceTlsError,
  SourceUnreachableError,
  TargetOverQuotaError,
} from '@mailpanel/core/migration/errors';
import { validTargetName } from '@mailpanel/core/migration/folder-mapping';
import { preflight } from '@mailpanel/core/migration/preflight';
import { SYNC_INTERVAL_DEFAULT, SYNC_INTERVAL_MAX, SYNC_INTERVAL_MIN, syncIntervalProblem } from '@mailpanel/core/migration/sync';
import { sourceAddressProblem, validHostSyntax } from '@mailpanel/core/migration/source-address';
import { Repeater } from 'graphql-yoga';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import type { Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';
import { loadOncePerEvent, visibleRow, whileVisible } from '../pubsub.js';
import { actor, idOf, notFoundUnless, transaction } from '../mutation-helpers.js';
import { FailureWindow } from '../auth/failure-window.js';
import { ErrorInterface, MUTATION_ERRORS } from './errors.js';

export const MigrationStatusEnum = builder.enumType(MigrationStatus, { name: 'MigrationStatus' });
export const MigrationPhaseEnum = builder.enumType(MigrationPhase, { name: 'MigrationPhase' });
export const MigrationSecurityEnum = builder.enumType(MigrationSecurity, {
  name: 'MigrationSecurity',
  description: 'SSL: TLS from the start (usually port 993). STARTTLS: upgrade after connecting (usually 143). NONE: unencrypted.',
});
export const MigrationEngineEnum = builder.enumType(MigrationEngine, { name: 'MigrationEngine' });
export const MigrationErrorCodeEnum = builder.enumType(MigrationErrorCode, { name: 'MigrationErrorCode' });
export const MigrationFolderStatusEnum = builder.enumType(MigrationFolderStatus, { name: 'MigrationFolderStatus' });

const MB = 1024 * 1024;
/** Not ended: one such migration per mailbox; cancel applies. SYNCING = keep in sync until cut-over. */
export const ACTIVE: MigrationStatus[] = ['QUEUED', 'RUNNING', 'SYNCING'];

// --- typed errors ----------------------------------------------------------------------------

for (const [cls, name, description] of [
  [SourceAuthenticationError, 'SourceAuthenticationError', 'The source server rejected the username or password.'],
  [SourceTlsError, 'SourceTlsError', 'No trusted TLS connection could be made (wrong port for SSL, no STARTTLS, untrusted certificate).'],
  [SourceUnreachableError, 'SourceUnreachableError', 'The source host could not be found or reached, or refused the connection.'],
  [TargetOverQuotaError, 'TargetOverQuotaError', 'The target mailbox has no room left under its quota.'],
  [SourceTimeoutError, 'SourceTimeoutError', 'No connection in time (CONNECT_TIMEOUT), a connection but no greeting (GREETING_TIMEOUT), or the server stopped answering (TIMEOUT).'],
  [SourceServerError, 'SourceServerError', 'The source server failed in another way (lost connection, refused request).'],
] as const) {
  builder.objectType(cls as never, {
    name,
    description,
    interfaces: [ErrorInterface],
    isTypeOf: (e: unknown) => e instanceof (cls as unknown as typeof MigrationError) && (e as Error).constructor === cls,
    fields: (t: any) => ({ code: t.field({ type: MigrationErrorCodeEnum, resolve: (e: MigrationError) => e.code }) }),
  } as never);
}

export const SOURCE_ERRORS = [SourceAuthenticationError, SourceTlsError, SourceUnreachableError, SourceTimeoutError, SourceServerError];

// --- object types ----------------------------------------------------------------------------

const MigrationSource = builder
  .objectRef<{ host: string; port: number; security: MigrationSecurity; username: string }>('MigrationSource')
  .implement({
    description: 'Where mail is copied from. The password is never returned.',
    fields: (t) => ({
      host: t.exposeString('host'),
      port: t.exposeInt('port'),
      security: t.expose('security', { type: MigrationSecurityEnum }),
      username: t.exposeString('username'),
    }),
  });

const MigrationFailure = builder.objectRef<{ code: MigrationErrorCode; message: string }>('MigrationFailure').implement({
  description: 'Why a migration failed (or, while it still runs, the last error: why it is waiting to retry).',
  fields: (t) => ({
    code: t.expose('code', { type: MigrationErrorCodeEnum }),
    message: t.exposeString('message'),
  }),
});

const MigrationActor = builder.objectRef<{ type: string; label: string }>('MigrationActor').implement({
  fields: (t) => ({ type: t.exposeString('type'), label: t.exposeString('label') }),
});

const FolderVerification = builder
  .objectRef<{ sourceMessages: number; targetMessages: number; missing: number; extra: number }>('MigrationFolderVerification')
  .implement({
    fields: (t) => ({
      sourceMessages: t.exposeInt('sourceMessages'),
      targetMessages: t.exposeInt('targetMessages'),
      missing: t.exposeInt('missing', { description: 'Source messages not in the target (after a repair attempt)' }),
      extra: t.exposeInt('extra', { description: 'Target messages the source does not have (kept, e.g. mail delivered after the MX switch)' }),
    }),
  });

const MigrationVerification = builder
  .objectRef<{ checkedAt: Date; missing: number; extra: number; repaired: number }>('MigrationVerification')
  .implement({
    description: 'The VERIFYING phase: every copied folder compared, message count and dedupe keys. SUCCEEDED only with missing = 0.',
    fields: (t) => ({
      checkedAt: t.expose('checkedAt', { type: 'DateTime' }),
      ok: t.boolean({ resolve: (v) => v.missing === 0 }),
      missing: t.exposeInt('missing'),
      extra: t.exposeInt('extra'),
      repaired: t.exposeInt('repaired', { description: 'Messages found missing and copied during verification' }),
    }),
  });

const MigrationRetry = builder.objectRef<{ attempt: number; maxAttempts: number; nextRetryAt: Date | null }>('MigrationAttempt').implement({
  description: 'Attempt n of m of this run; while WAITING after a transient failure, when the next one starts.',
  fields: (t) => ({
    attempt: t.exposeInt('attempt'),
    maxAttempts: t.exposeInt('maxAttempts'),
    nextRetryAt: t.expose('nextRetryAt', { type: 'DateTime', nullable: true }),
    lastAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'While WAITING: when the last attempt starts if every one before it fails too (the retry schedule); if that one fails, the migration ends FAILED',
      resolve: (a) => {
        if (!a.nextRetryAt) return null;
        const cfg = config();
        return lastAttemptAt({ retries: cfg.MIGRATION_RETRIES, baseSeconds: cfg.MIGRATION_RETRY_DELAY_SECONDS }, a.attempt, a.nextRetryAt, a.maxAttempts);
      },
    }),
  }),
});

builder.prismaObject('MigrationFolder', {
  description: 'One source folder: where it goes and how far it got. lastUid is the checkpoint a re-run continues from.',
  fields: (t) => ({
    sourceName: t.exposeString('sourceName'),
    targetName: t.exposeString('targetName'),
    specialUse: t.exposeString('specialUse', { nullable: true }),
    status: t.expose('status', { type: MigrationFolderStatusEnum }),
    engine: t.expose('engine', { type: MigrationEngineEnum, nullable: true }),
    lastUid: t.float({ resolve: (f) => Number(f.lastUid) }),
    messagesTotal: t.exposeInt('messagesTotal'),
    messagesCopied: t.exposeInt('messagesCopied'),
    messagesSkipped: t.exposeInt('messagesSkipped'),
    messagesFailed: t.exposeInt('messagesFailed'),
    bytesCopied: t.float({ resolve: (f) => Number(f.bytesCopied) }),
    note: t.exposeString('errorMessage', { nullable: true }),
    verification: t.field({
      type: FolderVerification,
      nullable: true,
      description: 'Source against target after the copy (null until the VERIFYING phase reached this folder)',
      resolve: (f) =>
        f.verifiedSource === null ? null : { sourceMessages: f.verifiedSource, targetMessages: f.verifiedTarget ?? 0, missing: f.verifyMissing ?? 0, extra: f.verifyExtra ?? 0 },
    }),
  }),
});

export const Migration = builder.prismaNode('Migration', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.migration(ctx.viewer) }) as never,
  fields: (t) => ({
    mailbox: t.relation('mailbox'),
    source: t.field({
      type: MigrationSource,
      resolve: (m) => ({ host: m.sourceHost, port: m.sourcePort, security: m.sourceSecurity, username: m.sourceUsername }),
    }),
    status: t.expose('status', { type: MigrationStatusEnum }),
    phase: t.expose('phase', { type: MigrationPhaseEnum }),
    cancelRequested: t.exposeBoolean('cancelRequested'),
    engine: t.expose('engine', { type: MigrationEngineEnum, nullable: true, description: 'The native engine in use; folders copied by doveadm import say so on the folder' }),
    runs: t.exposeInt('runs', { description: 'How many times it was started (retries and re-runs included)' }),
    foldersDone: t.exposeInt('foldersDone'),
    foldersTotal: t.exposeInt('foldersTotal'),
    messagesCopied: t.exposeInt('messagesCopied'),
    messagesSkipped: t.exposeInt('messagesSkipped', { description: 'Already in the target (earlier run, or the same message delivered there)' }),
    messagesFailed: t.exposeInt('messagesFailed'),
    messagesTotal: t.exposeInt('messagesTotal'),
    bytesCopied: t.float({ resolve: (m) => Number(m.bytesCopied) }),
    rate: t.float({
      nullable: true,
      description: 'Messages per second in this run',
      resolve: (m) => (m.status === 'RUNNING' || m.finishedAt ? rateAndEta(m, m.startedAt, m.finishedAt ?? new Date()).rate : null),
    }),
    etaSeconds: t.int({ nullable: true, resolve: (m) => (m.status === 'RUNNING' ? rateAndEta(m, m.startedAt).etaSeconds : null) }),
    error: t.field({
      type: MigrationFailure,
      nullable: true,
      resolve: (m) => (m.errorCode && m.errorMessage ? { code: m.errorCode, message: m.errorMessage } : null),
    }),
    attempt: t.field({
      type: MigrationRetry,
      nullable: true,
      description: 'Null before the first attempt started',
      resolve: (m) =>
        m.attempts > 0 ? { attempt: m.attempts, maxAttempts: m.maxAttempts, nextRetryAt: m.status === 'RUNNING' || m.status === 'SYNCING' ? m.nextRetryAt : null } : null,
    }),
    verification: t.field({
      type: MigrationVerification,
      nullable: true,
      resolve: (m) => (m.verifiedAt ? { checkedAt: m.verifiedAt, missing: m.verifyMissing ?? 0, extra: m.verifyExtra ?? 0, repaired: m.verifyRepaired ?? 0 } : null),
    }),
    folders: t.relation('folders', { query: { orderBy: [{ position: 'asc' }, { sourceName: 'asc' }] } }),
    createdBy: t.field({ type: MigrationActor, resolve: (m) => ({ type: m.createdByType, label: m.createdByLabel }) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    heartbeatAt: t.expose('heartbeatAt', { type: 'DateTime', nullable: true }),
  }),
});

const PreflightFolder = builder
  .objectRef<{ name: string; targetName: string; specialUse: string | null; messages: number; sizeBytes: number | null; copied: boolean; note: string | null }>('ImapFolderPreview')
  .implement({
    fields: (t) => ({
      name: t.exposeString('name'),
      targetName: t.exposeString('targetName', { description: 'Where a migration would put it' }),
      specialUse: t.exposeString('specialUse', { nullable: true }),
      messages: t.exposeInt('messages'),
      sizeBytes: t.exposeFloat('sizeBytes', { nullable: true }),
      copied: t.exposeBoolean('copied', { description: 'false for virtual folders (e.g. Gmail "All Mail")' }),
      note: t.exposeString('note', { nullable: true }),
    }),
  });

const ImapConnectionTest = builder
  .objectRef<{ folders: unknown[]; totalMessages: number; totalBytes: number | null; tls: boolean; capabilities: string[]; quotaFreeBytes: number | null; fitsQuota: boolean | null }>(
    'ImapConnectionTest',
  )
  .implement({
    description: 'A successful login to the source and what a migration would copy. Nothing was copied.',
    fields: (t) => ({
      folders: t.field({ type: [PreflightFolder], resolve: (r) => r.folders as never }),
      totalMessages: t.exposeInt('totalMessages'),
      totalBytes: t.exposeFloat('totalBytes', { nullable: true }),
      tls: t.exposeBoolean('tls'),
      capabilities: t.exposeStringList('capabilities'),
      quotaFreeBytes: t.exposeFloat('quotaFreeBytes', { nullable: true, description: 'Room left in the target mailbox; null when unlimited or no mailbox was given' }),
      fitsQuota: t.exposeBoolean('fitsQuota', { nullable: true }),
    }),
  });

// --- inputs and validation -------------------------------------------------------------------

const FolderOverrideInput = builder.inputType('MigrationFolderOverride', {
  description: 'Put a source folder somewhere else than the planned name (testImapConnection shows the plan).',
  fields: (t) => ({
    sourceName: t.string({ required: true, description: 'The folder as the source lists it (ImapFolderPreview.name)' }),
    targetName: t.string({ required: true, description: '"/"-separated target folder name' }),
  }),
});

const SyncInput = builder.inputType('MigrationSyncInput', {
  description: 'Keep in sync until cut-over: after the first full copy, copy new mail every intervalMinutes until finishMigration.',
  fields: (t) => ({
    intervalMinutes: t.int({ required: false, defaultValue: SYNC_INTERVAL_DEFAULT, description: `Minutes between syncs, ${SYNC_INTERVAL_MIN} to ${SYNC_INTERVAL_MAX} (default ${SYNC_INTERVAL_DEFAULT})` }),
  }),
});

function checkSync(sync: { intervalMinutes?: number | null } | null | undefined): number | null {
  if (!sync) return null;
  const minutes = sync.intervalMinutes ?? SYNC_INTERVAL_DEFAULT;
  const problem = syncIntervalProblem(minutes);
  if (problem) throw ValidationError.of('sync.intervalMinutes', 'OUT_OF_RANGE', problem);
  return minutes;
}

function checkOverrides(list: { sourceName: string; targetName: string }[] | null | undefined) {
  if (!list?.length) return null;
  const errors = new FieldErrors();
  const seenSource = new Set<string>();
  const seenTarget = new Set<string>();
  list.forEach((o, i) => {
    const target = o.targetName.trim();
    if (!o.sourceName || o.sourceName.length > 1000 || BROKEN_UNICODE.test(o.sourceName)) errors.add(`folders.${i}.sourceName`, 'INVALID', 'Not a folder name');
    else if (seenSource.has(o.sourceName)) errors.add(`folders.${i}.sourceName`, 'DUPLICATE', 'This folder already has an override');
    if (!validTargetName(target) || BROKEN_UNICODE.test(target)) errors.add(`folders.${i}.targetName`, 'INVALID', 'Folder names are "/"-separated, without empty parts or control characters');
    else if (seenTarget.has(target.toUpperCase() === 'INBOX' ? 'INBOX' : target)) errors.add(`folders.${i}.targetName`, 'DUPLICATE', 'Two folders may not go into the same target folder');
    seenSource.add(o.sourceName);
    seenTarget.add(target.toUpperCase() === 'INBOX' ? 'INBOX' : target);
  });
  if (list.length > 1000) errors.add('folders', 'TOO_MANY', 'At most 1000 overrides');
  errors.throwIfAny();
  return list.map((o) => ({ sourceName: o.sourceName, targetName: o.targetName.trim() }));
}

const SourceInput = builder.inputType('ImapSourceInput', {
  fields: (t) => ({
    host: t.string({ required: true }),
    port: t.int({ required: false, description: 'Default 993 for SSL, 143 otherwise' }),
    security: t.field({ type: MigrationSecurityEnum, required: false, defaultValue: 'SSL' }),
    username: t.string({ required: true }),
    password: t.string({ required: true }),
  }),
});

/** Lone UTF-16 surrogates cannot be sent to a server or stored: not a real character. */
export const BROKEN_UNICODE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type SourceArgs = { host: string; port?: number | null; security?: MigrationSecurity | null; username: string; password: string };

export async function checkSource(input: SourceArgs) {
  const errors = new FieldErrors();
  const host = input.host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (!host) errors.add('source.host', 'REQUIRED', 'Host is required');
  else if (!validHostSyntax(host)) errors.add('source.host', 'INVALID', 'Not a valid host name or IP address');
  const security = input.security ?? 'SSL';
  const port = input.port ?? (security === 'SSL' ? 993 : 143);
  if (!Number.isInteger(port) || port < 1 || port > 65535) errors.add('source.port', 'INVALID', 'Port must be between 1 and 65535');
  const username = input.username.trim();
  if (!username) errors.add('source.username', 'REQUIRED', 'Username is required');
  else if (username.length > 320 || /[\0\r\n]/.test(username) || BROKEN_UNICODE.test(username)) errors.add('source.username', 'INVALID', 'Username must be a single line of at most 320 characters');
  if (!input.password) errors.add('source.password', 'REQUIRED', 'Password is required');
  else if (input.password.length > 1024 || /[\0\r\n]/.test(input.password) || BROKEN_UNICODE.test(input.password)) errors.add('source.password', 'INVALID', 'Password must be a single line of at most 1024 characters');
  errors.throwIfAny();
  const problem = await sourceAddressProblem(host, config().MIGRATION_ALLOW_PRIVATE_SOURCES ?? config().NODE_ENV !== 'production');
  if (problem) throw ValidationError.of('source.host', 'NOT_ALLOWED', problem);
  return { host, port, security, username, password: input.password };
}

export async function loadMailbox(tx: Tx | ReturnType<typeof db>, ctx: Context, globalId: string) {
  const m = await tx.mailbox.findFirst({
    where: { id: idOf(globalId, 'Mailbox'), ...LIVE_MAILBOX, ...tenantWhere.mailbox(ctx.viewer) },
    include: { domain: true },
  });
  return notFoundUnless(m, 'Mailbox');
}

function freeBytes(m: { quotaMb: number; quotaUsedBytes: bigint }): number | null {
  return m.quotaMb > 0 ? Math.max(0, m.quotaMb * MB - Number(m.quotaUsedBytes)) : null;
}

export async function loadMigration(tx: Tx, ctx: Context, globalId: string) {
  const m = await tx.migration.findFirst({
    where: { id: idOf(globalId, 'Migration'), ...tenantWhere.migration(ctx.viewer) },
    include: { mailbox: { include: { domain: true } } },
  });
  return notFoundUnless(m, 'Migration');
}

/** One migration at a time per mailbox; serialised so two starts cannot race. */
export async function lockMailbox(tx: Tx, mailboxId: string) {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`migration:${mailboxId}`}))`;
  const busy = await tx.migration.count({ where: { mailboxId, status: { in: ACTIVE } } });
  if (busy) throw ValidationError.of('mailboxId', 'MIGRATION_RUNNING', 'A migration into this mailbox is already queued or running');
}

export function overQuota(m: { quotaMb: number; quotaUsedBytes: bigint }) {
  const free = freeBytes(m);
  if (free !== null && free <= 0) throw new TargetOverQuotaError('The target mailbox is already full: raise its quota or make room before migrating.');
}

type CheckedSource = Awaited<ReturnType<typeof checkSource>>;
type TargetMailbox = Awaited<ReturnType<typeof loadMailbox>>;

/**
 * Creates one migration (single or a bulk's row) after its checks — one at a time per mailbox, room
 * under the quota — with its job and audit event, in the caller's transaction. The password is stored
 * only encrypted.
 */
export async function createMigration(
  tx: Tx,
  ctx: Context,
  input: {
    mailbox: TargetMailbox;
    source: CheckedSource;
    overrides?: { sourceName: string; targetName: string }[] | null;
    /** Keep in sync until cut-over: minutes between syncs (null: end after the first copy). */
    syncIntervalMinutes?: number | null;
    bulkMigrationId?: string;
  },
) {
  const { mailbox, source, overrides } = input;
  await lockMailbox(tx, mailbox.id);
  overQuota(mailbox);
  const migration = await tx.migration.create({
    data: {
      mailboxId: mailbox.id,
      ...actor(ctx),
      sourceHost: source.host,
      sourcePort: source.port,
      sourceSecurity: source.security,
      sourceUsername: source.username,
      sourcePasswordEnc: encryptSecret(source.password, config().encryptionKey),
      ...(overrides ? { folderOverrides: overrides } : {}),
      syncIntervalMinutes: input.syncIntervalMinutes ?? null,
      ...(input.bulkMigrationId ? { bulkMigrationId: input.bulkMigrationId } : {}),
    },
  });
  await enqueue(ctx.boss, tx, 'migrate-mailbox', { migrationId: migration.id });
  await audit(tx, ctx, {
    action: 'migration.start',
    targetType: 'Mailbox',
    targetId: mailbox.id,
    targetLabel: mailbox.address,
    customerId: mailbox.domain.customerId,
    details: {
      migrationId: migration.id,
      host: source.host,
      port: source.port,
      security: source.security,
      username: source.username,
      ...(input.syncIntervalMinutes != null ? { syncIntervalMinutes: input.syncIntervalMinutes } : {}),
      ...(input.bulkMigrationId ? { bulkMigrationId: input.bulkMigrationId } : {}),
    },
  });
  return migration;
}

/** A migration's audit event: recorded on its mailbox, with the migration's id among the details. */
export function auditMigration(tx: Tx, ctx: Context, m: Awaited<ReturnType<typeof loadMigration>>, action: string, details: Record<string, unknown>) {
  return audit(tx, ctx, { action, targetType: 'Mailbox', targetId: m.mailboxId, targetLabel: m.mailbox.address, customerId: m.mailbox.domain.customerId, details: { migrationId: m.id, ...details } });
}

/** The migration's row as it is now, locked until the transaction ends: ordered against the runner's
 *  own updates (a cancel or finish request and the runner's release cannot miss each other). */
export async function lockMigration(tx: Tx, id: string) {
  await tx.$executeRaw`SELECT id FROM migrations WHERE id = ${id}::uuid FOR UPDATE`;
  return tx.migration.findUniqueOrThrow({ where: { id } });
}

/**
 * Cancels a loaded migration that has not ended (queued, running or syncing; NOT_RUNNING otherwise):
 * with no live runner it ends now, otherwise its runner sees the request within a batch.
 */
export async function cancelLoadedMigration(tx: Tx, ctx: Context, m: Awaited<ReturnType<typeof loadMigration>>) {
  const current = await lockMigration(tx, m.id);
  if (!ACTIVE.includes(current.status)) throw ValidationError.of('id', 'NOT_RUNNING', `The migration has already ended (${current.status.toLowerCase()})`);
  const leaseStale = !current.leaseId || !current.heartbeatAt || current.heartbeatAt.getTime() < Date.now() - config().MIGRATION_LEASE_SECONDS * 1000;
  // No live runner: it ends now. Otherwise the runner sees the request within a batch and ends it.
  const updated = await tx.migration.update({
    where: { id: m.id },
    data: leaseStale
      ? { status: 'CANCELLED', phase: 'FINISHED', finishedAt: new Date(), sourcePasswordEnc: null, leaseId: null, cancelRequested: false, nextSyncAt: null }
      : { cancelRequested: true },
  });
  await auditMigration(tx, ctx, m, 'migration.cancel', {});
  return updated;
}

/**
 * Queues an ended migration again with the source password (not kept after a run): a new run that
 * continues from the folder checkpoints, with its job and audit event in the caller's transaction.
 */
export async function requeueLoadedMigration(tx: Tx, ctx: Context, m: Awaited<ReturnType<typeof loadMigration>>, password: string) {
  await checkSource({ host: m.sourceHost, port: m.sourcePort, security: m.sourceSecurity, username: m.sourceUsername, password: password }).catch((e) => {
    if (e instanceof ValidationError)
      throw new ValidationError(e.fieldErrors.map((f) => ({ ...f, field: f.field === 'source.password' ? 'password' : f.field })));
    throw e;
  });
  await lockMailbox(tx, m.mailboxId);
  overQuota(m.mailbox);
  const updated = await tx.migration.update({
    where: { id: m.id },
    data: {
      status: 'QUEUED',
      phase: 'WAITING',
      runs: { increment: 1 },
      attempts: 0,
      cancelRequested: false,
      sourcePasswordEnc: encryptSecret(password, config().encryptionKey),
      errorCode: null,
      errorMessage: null,
      nextRetryAt: null,
      nextSyncAt: null,
      finishRequested: false,
      syncBaseMessages: 0,
      syncBaseBytes: 0,
      verifiedAt: null,
      verifyMissing: null,
      verifyExtra: null,
      verifyRepaired: null,
      leaseId: null,
      gateWaitingSince: null,
      gateSlotAt: null,
      startedAt: null,
      finishedAt: null,
      foldersDone: 0,
      messagesCopied: 0,
      messagesSkipped: 0,
      messagesFailed: 0,
      bytesCopied: 0,
    },
  });
  await tx.migrationFolder.updateMany({
    where: { migrationId: m.id },
    data: { messagesCopied: 0, messagesSkipped: 0, messagesFailed: 0, bytesCopied: 0, status: 'PENDING', verifiedSource: null, verifiedTarget: null, verifyMissing: null, verifyExtra: null },
  });
  await enqueue(ctx.boss, tx, 'migrate-mailbox', { migrationId: m.id });
  await auditMigration(tx, ctx, m, 'migration.retry', { run: updated.runs });
  return updated;
}

const testThrottle = new FailureWindow({ perAccount: 10, perIp: 30, windowMs: 10 * 60_000 });

export const publishState = (ctx: Context, id: string, status: MigrationStatus) => ctx.pubsub.publish('migration', id, { id, status });

// --- queries, mutations, subscription --------------------------------------------------------

const MigrationFilter = builder.inputType('MigrationFilter', {
  fields: (t) => ({
    mailboxId: t.id({ required: false }),
    status: t.field({ type: [MigrationStatusEnum], required: false }),
  }),
});

function migrationWhere(ctx: Context, filter: { mailboxId?: string | number | null; status?: MigrationStatus[] | null } | null | undefined) {
  const and: object[] = [tenantWhere.migration(ctx.viewer)];
  if (filter?.mailboxId) and.push({ mailboxId: idOf(String(filter.mailboxId), 'Mailbox') });
  if (filter?.status?.length) and.push({ status: { in: filter.status } });
  return { AND: and };
}

builder.queryFields((t) => ({
  migrations: t.prismaConnection(
    {
      type: 'Migration',
      cursor: 'id',
      description: 'Newest first. Admins see every migration; customers those into their mailboxes; a mailbox owner its own.',
      authScopes: { authenticated: true },
      args: { filter: t.arg({ type: MigrationFilter, required: false }) },
      resolve: (query, _root, args, ctx) =>
        db().migration.findMany({ ...query, where: migrationWhere(ctx, args.filter), orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
      totalCount: (_root, args, ctx) => db().migration.count({ where: migrationWhere(ctx, args.filter) }),
    },
    {},
  ),
}));

builder.mutationFields((t) => ({
  testImapConnection: t.field({
    type: ImapConnectionTest,
    description: 'Logs in to the source server and lists its folders, counts and sizes. Nothing is copied or stored.',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: [...SOURCE_ERRORS, ValidationError, NotFoundError, TooManyAttemptsError], dataField: { name: 'result' } },
    args: {
      source: t.arg({ type: SourceInput, required: true }),
      mailboxId: t.arg.id({ required: false, description: 'The mailbox it would go into: checks that it fits the quota' }),
    },
    resolve: async (_root, args, ctx) => {
      const mailbox = args.mailboxId ? await loadMailbox(db(), ctx, String(args.mailboxId)) : null;
      const source = await checkSource(args.source);
      const who = ctx.viewer.kind === 'user' ? `u:${ctx.viewer.userId}` : ctx.viewer.kind === 'mailbox' ? `m:${ctx.viewer.mailboxId}` : 'anon';
      testThrottle.check(who, ctx.clientIp);
      let result: Awaited<ReturnType<typeof preflight>> | null = null;
      let failure: unknown = null;
      try {
        result = await preflight(source);
      } catch (err) {
        if (err instanceof SourceAuthenticationError) testThrottle.fail(who, ctx.clientIp);
        // Anything the classifier could not name is still an answer about the source server.
        failure = err instanceof MigrationError && !SOURCE_ERRORS.some((c) => err instanceof c) ? new SourceServerError(err.code, err.message, false) : err;
      }
      const outcome = result ? 'OK' : failure instanceof MigrationError ? failure.code : 'ERROR';
      await transaction((tx) =>
        audit(tx, ctx, {
          action: 'migration.test',
          targetType: mailbox ? 'Mailbox' : 'ImapSource',
          targetId: mailbox?.id ?? null,
          targetLabel: mailbox?.address ?? `${source.username}@${source.host}`,
          customerId: mailbox?.domain.customerId ?? (ctx.viewer.kind === 'anonymous' ? null : ctx.viewer.customerId),
          details: { host: source.host, port: source.port, security: source.security, username: source.username, outcome },
        }),
      );
      if (!result) throw failure;
      const free = mailbox ? freeBytes(mailbox) : null;
      return {
        ...result,
        quotaFreeBytes: free,
        fitsQuota: mailbox ? (free === null ? true : result.totalBytes === null ? null : result.totalBytes <= free) : null,
      };
    },
  }),

  startMigration: t.field({
    type: Migration,
    description: 'Queues a background import from the source into the mailbox. Existing mail is never replaced; only missing messages are added.',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: [...MUTATION_ERRORS, TargetOverQuotaError], dataField: { name: 'migration' } },
    args: {
      mailboxId: t.arg.id({ required: true }),
      source: t.arg({ type: SourceInput, required: true }),
      folders: t.arg({ type: [FolderOverrideInput], required: false, description: 'Per-folder target names instead of the planned ones' }),
      sync: t.arg({ type: SyncInput, required: false, description: 'Keep in sync until cut-over (finishMigration) instead of ending after the first copy' }),
    },
    resolve: async (_root, args, ctx) => {
      const syncMinutes = checkSync(args.sync);
      const source = await checkSource(args.source);
      const overrides = checkOverrides(args.folders);
      return transaction(async (tx) => createMigration(tx, ctx, { mailbox: await loadMailbox(tx, ctx, String(args.mailboxId)), source, overrides, syncIntervalMinutes: syncMinutes }));
    },
  }),

  cancelMigration: t.field({
    type: Migration,
    description: 'Stops a queued, running or syncing migration. Messages already copied stay; a running one (or a sync in progress) stops after its current batch.',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'migration' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const migration = await transaction(async (tx) => {
        const m = await loadMigration(tx, ctx, String(args.id));
        return cancelLoadedMigration(tx, ctx, m);
      });
      publishState(ctx, migration.id, migration.status);
      return migration;
    },
  }),

  retryMigration: t.field({
    type: Migration,
    description:
      'Runs a failed, cancelled or finished migration again with the source password (it is not kept after a migration ends). Folders continue from their checkpoints: only mail that is not in the target yet is copied.',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: [...MUTATION_ERRORS, TargetOverQuotaError], dataField: { name: 'migration' } },
    args: { id: t.arg.id({ required: true }), password: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) =>
      transaction(async (tx) => {
        const m = await loadMigration(tx, ctx, String(args.id));
        return requeueLoadedMigration(tx, ctx, m, args.password);
      }),
  }),
}));

const TERMINAL = new Set<string>(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const THROTTLE_MS = 250;

/**
 * The events of one migration, at most one per THROTTLE_MS: bursts collapse into their latest event
 * (the row is re-read on each emit, so nothing is lost), the current state comes first, and the
 * stream ends after a final state. A Repeater rather than an async generator: return() (the client
 * leaves) stops it at once and unsubscribes from the events, even while it waits for the next one
 * (a generator would wait for that event first, holding its subscription until then).
 */
export function throttledMigrationEvents(
  events: AsyncIterable<{ id: string; status: string }>,
  initial: { id: string; status: string },
  intervalMs = THROTTLE_MS,
): AsyncIterableIterator<{ id: string; status: string }> {
  type Event = { id: string; status: string };
  return new Repeater<Event>(async (push, stop) => {
    const it = events[Symbol.asyncIterator]();
    const stopped = stop.then(() => 'stop' as const);
    let timer: NodeJS.Timeout | undefined;
    let lastEmit = Date.now();
    const emit = async (e: Event) => {
      lastEmit = Date.now();
      await push(e);
      return TERMINAL.has(e.status);
    };
    try {
      if (await emit(initial)) return;
      let latest: Event | null = null;
      let pending: Promise<IteratorResult<Event>> | null = null;
      for (;;) {
        pending ??= it.next();
        const wait: number | null = latest ? Math.max(0, lastEmit + intervalMs - Date.now()) : null;
        const tick: Promise<'tick'> | null = wait === null ? null : new Promise<'tick'>((res) => (timer = setTimeout(() => res('tick'), wait)));
        const r: IteratorResult<Event> | 'tick' | 'stop' = await Promise.race(tick ? [pending, stopped, tick] : [pending, stopped]);
        clearTimeout(timer);
        if (r === 'stop') return;
        if (r === 'tick') {
          const e = latest!;
          latest = null;
          if (await emit(e)) return;
          continue;
        }
        pending = null;
        if (r.done) return;
        latest = r.value;
        if (TERMINAL.has(r.value.status) || Date.now() - lastEmit >= intervalMs) {
          const e = r.value;
          latest = null;
          if (await emit(e)) return;
        }
      }
    } finally {
      clearTimeout(timer);
      stop();
      await it.return?.();
    }
  });
}

builder.subscriptionFields((t) => ({
  migrationProgress: t.prismaField({
    type: 'Migration',
    description: 'The migration now, then at most a few updates a second while it runs, ending with its final state.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const id = idOf(String(args.id), 'Migration');
      const events = ctx.pubsub.subscribe('migration', id);
      const row = await db().migration.findFirst({ where: { id, ...tenantWhere.migration(ctx.viewer) }, select: { id: true, status: true } });
      if (!row) {
        await events.return?.();
        throw new NotFoundError('Migration');
      }
      const where = { id, ...tenantWhere.migration(ctx.viewer) };
      const visible = (e: object) => loadOncePerEvent(e, ['visible', where], async () => (await db().migration.count({ where })) > 0);
      return whileVisible(throttledMigrationEvents(events, { id: row.id, status: row.status }), visible) as never;
    },
    resolve: async (query, payload, _args, ctx) => {
      const where = { id: (payload as unknown as { id: string }).id, ...tenantWhere.migration(ctx.viewer) };
      return loadOncePerEvent(payload as object, [query, where], () => visibleRow(db().migration.findFirst({ ...query, where }), 'Migration'));
    },
  }),
}));
