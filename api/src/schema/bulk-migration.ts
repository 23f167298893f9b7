// Bulk migration (issue 16): a CSV of target address, source host, port, security, username and
// password becomes one ordinary migration per row, grouped by a BulkMigration. Every row passes the
// single startMigration's checks (checkSource, the mailbox's tenancy, one migration per mailbox, room
// under the quota) through the same functions; the real run writes all rows or none. Passwords are
// only ever stored encrypted on their migration (erased when it ends) and are never in an answer.
import { db, type Tx } from '@mailpanel/core/db';
import { LIVE_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import { FieldErrors, NotFoundError, ValidationError, type FieldError } from '@mailpanel/core/errors';
import { TargetOverQuotaError } from '@mailpanel/core/migration/errors';
import { rateAndEta } from '@mailpanel/core/migration/checkpoint';
import { normalizeAddress } from '@mailpanel/core/validation';
import type { MigrationSecurity, MigrationStatus } from '@mailpanel/core/generated/prisma/enums';
import { Repeater } from 'graphql-yoga';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import type { Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';
import { actor, idOf, notFoundUnless, selection, transaction } from '../mutation-helpers.js';
import { loadOncePerEvent, visibleRow } from '../pubsub.js';
import { parseBulkMigrationCsv, type BulkCsvRow } from '../bulk-migration-csv.js';
import { FieldErrorRef, MUTATION_ERRORS } from './errors.js';
import {
  ACTIVE,
  MigrationSecurityEnum,
  MigrationStatusEnum,
  cancelLoadedMigration,
  checkSource,
  createMigration,
  requeueLoadedMigration,
} from './migration.js';

const SECURITIES: MigrationSecurity[] = ['SSL', 'STARTTLS', 'NONE'];
const RETRYABLE: MigrationStatus[] = ['FAILED', 'CANCELLED'];

// --- reading and checking rows -----------------------------------------------------------------

interface CheckedRow {
  line: number;
  address: string;
  host: string;
  port: number | null;
  security: MigrationSecurity | null;
  username: string;
  errors: FieldError[];
  /** Set when every check passed. */
  ready?: { mailbox: Awaited<ReturnType<typeof findMailbox>> & object; source: Awaited<ReturnType<typeof checkSource>> };
}

/** A target mailbox by address, as loadMailbox finds one by id: live (not deleted or being deleted), in the viewer's tenancy. */
function findMailbox(tx: Tx | ReturnType<typeof db>, ctx: Context, address: string) {
  return tx.mailbox.findFirst({ where: { address, ...LIVE_MAILBOX, ...tenantWhere.mailbox(ctx.viewer) }, include: { domain: true } });
}

/** A row's source error fields as the row's column names (source.host → host). */
const column = (field: string) => field.replace(/^source\./, '');

/** Every check of a single startMigration, per row, collecting the problems instead of stopping. */
async function checkRows(ctx: Context, rows: BulkCsvRow[]): Promise<CheckedRow[]> {
  const seen = new Map<string, number>();
  const out: CheckedRow[] = [];
  for (const r of rows) {
    const errors = new FieldErrors();
    const security = r.security ? (r.security.toUpperCase() as MigrationSecurity) : null;
    if (security && !SECURITIES.includes(security)) errors.add('security', 'INVALID', `Security must be one of ${SECURITIES.join(', ')}`);
    const port = r.port === null ? null : /^\d{1,5}$/.test(r.port) ? Number(r.port) : NaN;
    if (Number.isNaN(port)) errors.add('port', 'INVALID', 'Port must be a number between 1 and 65535');
    const address = normalizeAddress(r.address);
    let mailbox: Awaited<ReturnType<typeof findMailbox>> = null;
    if (!r.address) errors.add('address', 'REQUIRED', 'The target mailbox address is required');
    else if (!address) errors.add('address', 'INVALID', 'Not an email address');
    else if (seen.has(address)) errors.add('address', 'DUPLICATE', `This mailbox is already the target of line ${seen.get(address)}`);
    else {
      seen.set(address, r.line);
      mailbox = await findMailbox(db(), ctx, address);
      if (!mailbox) errors.add('address', 'NOT_FOUND', 'No such mailbox (or not yours)');
      else if (await db().migration.count({ where: { mailboxId: mailbox.id, status: { in: ACTIVE } } }))
        errors.add('address', 'MIGRATION_RUNNING', 'A migration into this mailbox is already queued or running');
      else if (mailbox.quotaMb > 0 && Number(mailbox.quotaUsedBytes) >= mailbox.quotaMb * 1024 * 1024)
        errors.add('address', 'TARGET_OVER_QUOTA', 'The target mailbox is already full: raise its quota or make room before migrating');
    }
    let source: Awaited<ReturnType<typeof checkSource>> | null = null;
    try {
      source = await checkSource({ host: r.host, port: Number.isNaN(port) ? null : port, security: errors.has('security') ? null : security, username: r.username, password: r.password });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      for (const f of err.fieldErrors) errors.add(column(f.field), f.code, f.message);
    }
    out.push({
      line: r.line,
      address: address ?? r.address,
      host: source?.host ?? r.host.trim(),
      port: source?.port ?? (Number.isNaN(port) ? null : port),
      security: source?.security ?? (errors.has('security') ? null : security),
      username: r.username.trim(),
      errors: errors.errors,
      ...(mailbox && source && !errors.errors.length ? { ready: { mailbox, source } } : {}),
    });
  }
  return out;
}

/** The rows' problems as one ValidationError, each field named rows.<line>.<column>. */
function rowErrors(rows: { line: number; errors: FieldError[] }[]): ValidationError {
  return new ValidationError(rows.flatMap((r) => r.errors.map((e) => ({ ...e, field: `rows.${r.line}.${e.field}`, message: `Line ${r.line}: ${e.message}` }))));
}

// --- types -------------------------------------------------------------------------------------

const BulkMigrationRow = builder.objectRef<CheckedRow>('BulkMigrationRowCheck').implement({
  description: 'One CSV row as checked by a dry run. The password is never returned.',
  fields: (t) => ({
    line: t.exposeInt('line', { description: 'Line in the file (the header is line 1)' }),
    address: t.exposeString('address'),
    host: t.exposeString('host'),
    port: t.exposeInt('port', { nullable: true }),
    security: t.expose('security', { type: MigrationSecurityEnum, nullable: true }),
    username: t.exposeString('username'),
    ok: t.boolean({ resolve: (r) => r.errors.length === 0 }),
    errors: t.field({ type: [FieldErrorRef], resolve: (r) => r.errors, description: 'field is the column: address, host, port, security, username or password' }),
  }),
});

const BulkMigrationSummary = builder
  .objectRef<{ total: number; waiting: number; queued: number; running: number; syncing: number; succeeded: number; failed: number; cancelled: number; messagesCopied: number; messagesTotal: number; rate: number; etaSeconds: number | null }>(
    'BulkMigrationSummary',
  )
  .implement({
    fields: (t) => ({
      total: t.exposeInt('total'),
      queued: t.exposeInt('queued', { description: 'Queued, not waiting for a slot' }),
      waiting: t.exposeInt('waiting', { description: 'Waiting for a slot of their source host (MIGRATION_PER_HOST_CONCURRENCY) or the global cap' }),
      running: t.exposeInt('running'),
      syncing: t.exposeInt('syncing', { description: 'Keeping in sync until cut-over (finishMigration)' }),
      succeeded: t.exposeInt('succeeded'),
      failed: t.exposeInt('failed'),
      cancelled: t.exposeInt('cancelled'),
      messagesCopied: t.exposeInt('messagesCopied', { description: 'Copied plus already present, over all rows' }),
      messagesTotal: t.exposeInt('messagesTotal'),
      rate: t.exposeFloat('rate', { description: 'Messages per second of the running rows together' }),
      etaSeconds: t.exposeInt('etaSeconds', { nullable: true }),
    }),
  });

async function summaryOf(bulkId: string, ctx: Context) {
  const rows = await db().migration.findMany({
    where: { bulkMigrationId: bulkId, ...tenantWhere.migration(ctx.viewer) },
    select: { status: true, gateWaitingSince: true, messagesCopied: true, messagesSkipped: true, messagesFailed: true, messagesTotal: true, startedAt: true, finishedAt: true },
  });
  const s = { total: rows.length, waiting: 0, queued: 0, running: 0, syncing: 0, succeeded: 0, failed: 0, cancelled: 0, messagesCopied: 0, messagesTotal: 0, rate: 0, etaSeconds: null as number | null };
  let remaining = 0;
  for (const m of rows) {
    if (m.status === 'QUEUED') m.gateWaitingSince ? s.waiting++ : s.queued++;
    else if (m.status === 'RUNNING') m.gateWaitingSince ? s.waiting++ : s.running++;
    else if (m.status === 'SYNCING') m.gateWaitingSince ? s.waiting++ : s.syncing++;
    else s[m.status.toLowerCase() as 'succeeded' | 'failed' | 'cancelled']++;
    s.messagesCopied += m.messagesCopied + m.messagesSkipped;
    s.messagesTotal += m.messagesTotal;
    if (m.status === 'RUNNING') {
      s.rate += rateAndEta(m, m.startedAt).rate ?? 0;
      remaining += Math.max(0, m.messagesTotal - m.messagesCopied - m.messagesSkipped - m.messagesFailed);
    }
  }
  if (s.rate > 0 && s.running + s.waiting + s.queued > 0) s.etaSeconds = Math.round(remaining / s.rate);
  return s;
}

export const BulkMigration = builder.prismaNode('BulkMigration', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.bulkMigration(ctx.viewer) }) as never,
  fields: (t) => ({
    name: t.exposeString('name', { nullable: true }),
    rows: t.exposeInt('rows', { description: 'Rows of the file, i.e. migrations started' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.exposeString('createdByLabel'),
    summary: t.field({ type: BulkMigrationSummary, resolve: (b, _args, ctx) => summaryOf(b.id, ctx) }),
    migrations: t.relatedConnection('migrations', {
      cursor: 'id',
      description: 'Its migrations in file order (those the viewer may see)',
      query: (_args, ctx) => ({ where: tenantWhere.migration(ctx.viewer), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
      totalCount: true,
    }),
  }),
});

builder.prismaObjectFields('Migration', (t) => ({
  bulkMigration: t.relation('bulkMigration', { nullable: true, query: (_args, ctx) => ({ where: tenantWhere.bulkMigration(ctx.viewer) }) }),
  waitingForSlot: t.boolean({
    description: 'Queued behind other migrations from the same source host (or the global cap); it starts when a slot frees',
    select: { gateWaitingSince: true, status: true },
    resolve: (m) => m.gateWaitingSince !== null && ACTIVE.includes(m.status),
  }),
}));

const BulkMigrationStart = builder
  .objectRef<{ dryRun: boolean; rows: CheckedRow[]; bulkMigrationId: string | null }>('BulkMigrationStart')
  .implement({
    description: 'A dry run: every row checked, nothing started. A real run: the bulk migration and its rows.',
    fields: (t) => ({
      dryRun: t.exposeBoolean('dryRun'),
      rows: t.field({ type: [BulkMigrationRow], resolve: (r) => r.rows }),
      valid: t.int({ resolve: (r) => r.rows.filter((x) => !x.errors.length).length }),
      invalid: t.int({ resolve: (r) => r.rows.filter((x) => x.errors.length).length }),
      bulkMigration: t.prismaField({
        type: 'BulkMigration',
        nullable: true,
        resolve: (query, r) => (r.bulkMigrationId ? db().bulkMigration.findUnique({ ...selection(query), where: { id: r.bulkMigrationId } }) : null),
      }),
    }),
  });

const StartBulkMigrationInput = builder.inputType('StartBulkMigrationInput', {
  fields: (t) => ({
    csv: t.string({ required: true, description: 'Header row, then one row per mailbox: address, host, port, security, username, password (docs/bulk.md)' }),
    dryRun: t.boolean({ required: false, defaultValue: false, description: 'Check every row and start nothing' }),
    name: t.string({ required: false, description: 'A label for the list, e.g. the file name' }),
  }),
});

// --- queries, mutations, subscription ----------------------------------------------------------

async function loadBulk(tx: Tx | ReturnType<typeof db>, ctx: Context, globalId: string) {
  const b = await tx.bulkMigration.findFirst({ where: { id: idOf(globalId, 'BulkMigration'), ...tenantWhere.bulkMigration(ctx.viewer) } });
  return notFoundUnless(b, 'BulkMigration');
}

function bulkRows(tx: Tx, ctx: Context, bulkId: string, status: MigrationStatus[]) {
  return tx.migration.findMany({
    where: { bulkMigrationId: bulkId, status: { in: status }, ...tenantWhere.migration(ctx.viewer) },
    include: { mailbox: { include: { domain: true } } },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
}

const publishRows = (ctx: Context, rows: { id: string; status: string }[]) => rows.forEach((m) => ctx.pubsub.publish('migration', m.id, { id: m.id, status: m.status }));

builder.queryFields((t) => ({
  bulkMigrations: t.prismaConnection(
    {
      type: 'BulkMigration',
      cursor: 'id',
      description: 'Newest first. Admins see every bulk migration; customers those into their mailboxes.',
      authScopes: { panelUser: true },
      resolve: (query, _root, _args, ctx) =>
        db().bulkMigration.findMany({ ...query, where: tenantWhere.bulkMigration(ctx.viewer), orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
      totalCount: (_root, _args, ctx) => db().bulkMigration.count({ where: tenantWhere.bulkMigration(ctx.viewer) }),
    },
    {},
  ),
}));

builder.mutationFields((t) => ({
  startBulkMigration: t.field({
    type: BulkMigrationStart,
    description:
      'One migration per CSV row (address, host, port, security, username, password). dryRun: checks every row with the rules of startMigration and starts nothing. Otherwise all rows start or, if any row has a problem, none (ValidationError with fields rows.<line>.<column>). Passwords are never returned.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'result' } },
    args: { input: t.arg({ type: StartBulkMigrationInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const name = args.input.name?.trim() || null;
      if (name && (name.length > 200 || /[\0\r\n]/.test(name))) throw ValidationError.of('name', 'INVALID', 'A single line of at most 200 characters');
      const rows = await checkRows(ctx, parseBulkMigrationCsv(args.input.csv));
      if (args.input.dryRun) return { dryRun: true, rows, bulkMigrationId: null };
      if (rows.some((r) => r.errors.length)) throw rowErrors(rows);
      const bulk = await transaction(async (tx) => {
        const customers = new Set(rows.map((r) => r.ready!.mailbox.customerId));
        const created = await tx.bulkMigration.create({
          data: { ...actor(ctx), name, rows: rows.length, customerId: customers.size === 1 ? [...customers][0]! : null },
        });
        for (const r of rows) {
          // Re-checked under the mailbox lock: a start that raced the dry run fails the whole file.
          await createMigration(tx, ctx, { mailbox: r.ready!.mailbox, source: r.ready!.source, bulkMigrationId: created.id }).catch((err) => {
            if (err instanceof ValidationError) throw rowErrors([{ line: r.line, errors: err.fieldErrors.map((f) => ({ ...f, field: 'address' })) }]);
            if (err instanceof TargetOverQuotaError) throw rowErrors([{ line: r.line, errors: [{ field: 'address', code: 'TARGET_OVER_QUOTA', message: err.message }] }]);
            throw err;
          });
        }
        await audit(tx, ctx, {
          action: 'bulk-migration.start',
          targetType: 'BulkMigration',
          targetId: created.id,
          targetLabel: name ?? `${rows.length} migrations`,
          customerId: created.customerId,
          details: { rows: rows.length, hosts: [...new Set(rows.map((r) => r.host))].slice(0, 20) },
        });
        return created;
      });
      return { dryRun: false, rows, bulkMigrationId: bulk.id };
    },
  }),

  cancelBulkMigration: t.prismaField({
    type: 'BulkMigration',
    description: 'Cancels every queued, waiting, running or syncing migration of the bulk. Finished ones stay as they are.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'bulkMigration' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { bulk, changed } = await transaction(async (tx) => {
        const bulk = await loadBulk(tx, ctx, String(args.id));
        const changed = [];
        for (const m of await bulkRows(tx, ctx, bulk.id, ACTIVE)) {
          // Ended meanwhile: nothing to cancel.
          const updated = await cancelLoadedMigration(tx, ctx, m).catch((e) => (e instanceof ValidationError ? null : Promise.reject(e)));
          if (updated) changed.push(updated);
        }
        await audit(tx, ctx, { action: 'bulk-migration.cancel', targetType: 'BulkMigration', targetId: bulk.id, targetLabel: bulk.name, customerId: bulk.customerId, details: { cancelled: changed.length } });
        return { bulk, changed };
      });
      publishRows(ctx, changed);
      return db().bulkMigration.findUniqueOrThrow({ ...selection(query), where: { id: bulk.id } });
    },
  }),

  retryBulkMigration: t.prismaField({
    type: 'BulkMigration',
    description:
      'Runs every failed or cancelled migration of the bulk again. Passwords are not kept after a migration ends: give the CSV again (the same file, or only the rows to retry); rows are matched by address, host and username.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'bulkMigration' } },
    args: { id: t.arg.id({ required: true }), csv: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const lines = parseBulkMigrationCsv(args.csv);
      const key = (address: string, host: string, username: string) => `${address}\n${host.trim().toLowerCase()}\n${username.trim()}`;
      const byKey = new Map(lines.map((l) => [key(normalizeAddress(l.address) ?? l.address, l.host, l.username), l]));
      const { bulk, requeued } = await transaction(async (tx) => {
        const bulk = await loadBulk(tx, ctx, String(args.id));
        const requeued = [];
        const problems: { line: number; errors: FieldError[] }[] = [];
        for (const m of await bulkRows(tx, ctx, bulk.id, RETRYABLE)) {
          const line = byKey.get(key(m.mailbox.address, m.sourceHost, m.sourceUsername));
          if (!line) continue;
          try {
            requeued.push(await requeueLoadedMigration(tx, ctx, m, line.password));
          } catch (err) {
            if (err instanceof ValidationError) problems.push({ line: line.line, errors: err.fieldErrors.map((f) => ({ ...f, field: f.field === 'mailboxId' ? 'address' : column(f.field) })) });
            else if (err instanceof TargetOverQuotaError) problems.push({ line: line.line, errors: [{ field: 'address', code: 'TARGET_OVER_QUOTA', message: err.message }] });
            else throw err;
          }
        }
        if (problems.length) throw rowErrors(problems);
        if (!requeued.length) throw ValidationError.of('csv', 'NO_MATCH', 'No failed or cancelled migration of this bulk matches a row of the file (address, host and username)');
        await audit(tx, ctx, { action: 'bulk-migration.retry', targetType: 'BulkMigration', targetId: bulk.id, targetLabel: bulk.name, customerId: bulk.customerId, details: { retried: requeued.length } });
        return { bulk, requeued };
      });
      publishRows(ctx, requeued);
      return db().bulkMigration.findUniqueOrThrow({ ...selection(query), where: { id: bulk.id } });
    },
  }),
}));

const BULK_THROTTLE_MS = 500;

/**
 * One event per BULK_THROTTLE_MS at most while any of the bulk's migrations publishes (the state is
 * re-read on each emit), the current state first. Ends only when the client leaves: a retry can
 * start the rows again.
 */
function throttledBulkEvents(sources: AsyncIterable<unknown>[], bulkId: string): AsyncIterable<{ id: string }> {
  return new Repeater<{ id: string }>(async (push, stop) => {
    const iterators = sources.map((s) => s[Symbol.asyncIterator]());
    let dirty = false;
    let timer: NodeJS.Timeout | null = null;
    const fire = () => {
      timer = null;
      if (!dirty) return;
      dirty = false;
      void push({ id: bulkId });
    };
    await push({ id: bulkId });
    const pumps = iterators.map(async (it) => {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        dirty = true;
        timer ??= setTimeout(fire, BULK_THROTTLE_MS);
      }
    });
    // A source that fails ends the stream (the client resubscribes); never an unhandled rejection.
    Promise.all(pumps).catch(() => stop());
    await stop;
    if (timer) clearTimeout(timer);
    await Promise.all(iterators.map((it) => it.return?.()));
  });
}

builder.subscriptionFields((t) => ({
  bulkMigrationProgress: t.prismaField({
    type: 'BulkMigration',
    description: 'The bulk migration now, then at most two updates a second while any of its migrations moves.',
    authScopes: { panelUser: true },
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const id = idOf(String(args.id), 'BulkMigration');
      const where = { id, ...tenantWhere.bulkMigration(ctx.viewer) };
      const bulk = await db().bulkMigration.findFirst({ where, select: { id: true } });
      if (!bulk) throw new NotFoundError('BulkMigration');
      const children = await db().migration.findMany({ where: { bulkMigrationId: id, ...tenantWhere.migration(ctx.viewer) }, select: { id: true } });
      return throttledBulkEvents(children.map((c) => ctx.pubsub.subscribe('migration', c.id)), id) as never;
    },
    resolve: async (query, payload, _args, ctx) => {
      const where = { id: (payload as unknown as { id: string }).id, ...tenantWhere.bulkMigration(ctx.viewer) };
      return loadOncePerEvent(payload as object, [query, where], () => visibleRow(db().bulkMigration.findFirst({ ...selection(query), where }), 'BulkMigration'));
    },
  }),
}));
