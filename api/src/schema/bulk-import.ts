// Bulk import and export of mailboxes and forwards as CSV (issue 16). The CSV rules are core's
// (core/src/bulk): a dry run and the real run plan the same file with the same checks as
// createMailbox / createForward, limits counted over the whole file. A file with any row in error
// starts nothing. Mailboxes are written by a background job (hashing is the cost); forwards, which
// cost nothing to write, in the mutation's own transaction, where forwarding loops are checked with
// the file's writes in place. Generated passwords are answered once, here, and never stored in clear.
import { db, type Tx } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { encryptSecret } from '@mailpanel/core/crypto/secretbox';
import { NotFoundError, type FieldError } from '@mailpanel/core/errors';
import { enqueue } from '@mailpanel/core/jobs';
import { BulkImportKind, BulkImportStatus } from '@mailpanel/core/generated/prisma/enums';
import { parseCsvTable, toCsv } from '@mailpanel/core/bulk/csv';
import { MAILBOX_COLUMNS, namedInMailboxTable, planMailboxImport, publicRow, type ImportDomain, type MailboxRowPlan, type RowOutcome } from '@mailpanel/core/bulk/mailbox-import';
import { FORWARD_COLUMNS, namedInForwardTable, planForwardImport, type ForwardRowPlan } from '@mailpanel/core/bulk/forward-import';
import { displayAddress } from '@mailpanel/core/validation';
import { LIVE_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import type { Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';
import { loadOncePerEvent, visibleRow, whileVisible } from '../pubsub.js';
import { actor, idOf, lockCustomer, transaction } from '../mutation-helpers.js';
import { lockForwardRouting, refuseLoops } from '../forward-loops.js';
import { FieldErrorRef, MUTATION_ERRORS } from './errors.js';
import { MailboxFilter, mailboxWhere } from './mailbox.js';
import { ForwardFilter, forwardWhere } from './forward.js';
import { throttledMigrationEvents } from './migration.js';

const BulkImportKindEnum = builder.enumType(BulkImportKind, { name: 'BulkImportKind' });
const BulkImportStatusEnum = builder.enumType(BulkImportStatus, { name: 'BulkImportStatus' });
const BulkRowOutcome = builder.enumType('BulkRowOutcome', {
  values: ['CREATE', 'UPDATE', 'UNCHANGED', 'ERROR'] as const,
  description: 'CREATE/UPDATE: what the row does (dry run) or did; UNCHANGED: it matches what exists; ERROR: see fieldErrors',
});

type PublicRow = { row: number; address: string; outcome: RowOutcome; errors: FieldError[]; generated?: boolean };

const BulkImportRow = builder.objectRef<PublicRow>('BulkImportRow').implement({
  fields: (t) => ({
    row: t.exposeInt('row', { description: 'The line of the file the row starts on (the header is line 1)' }),
    address: t.exposeString('address', { description: 'The address (or forward source) as read from the row' }),
    outcome: t.field({ type: BulkRowOutcome, resolve: (r) => r.outcome }),
    fieldErrors: t.field({ type: [FieldErrorRef], description: 'field is the CSV column', resolve: (r) => r.errors }),
    generatedPassword: t.boolean({ description: 'The password was generated (it is in generatedPasswordsCsv of the answer that started the import, and nowhere else)', resolve: (r) => r.generated ?? false }),
  }),
});

export const BulkImport = builder.prismaNode('BulkImport', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.bulkImport(ctx.viewer) }) as never,
  fields: (t) => ({
    kind: t.expose('kind', { type: BulkImportKindEnum }),
    status: t.expose('status', { type: BulkImportStatusEnum }),
    total: t.exposeInt('total'),
    processed: t.exposeInt('processed', { description: 'Rows done so far (of total)' }),
    created: t.exposeInt('created'),
    updated: t.exposeInt('updated'),
    unchanged: t.exposeInt('unchanged'),
    failed: t.exposeInt('failed'),
    error: t.exposeString('error', { nullable: true }),
    rows: t.field({ type: [BulkImportRow], description: 'Per row: its outcome', resolve: (b) => (b.rows as unknown as PublicRow[]).map(publicOf) }),
    createdBy: t.exposeString('createdByLabel'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

function publicOf(r: PublicRow): PublicRow {
  return { row: r.row, address: r.address, outcome: r.outcome, errors: r.errors, generated: r.generated ?? false };
}

interface ImportAnswer {
  dryRun: boolean;
  rows: PublicRow[];
  bulkImport: { id: string } | null;
  generatedPasswordsCsv: string | null;
}

const BulkImportResult = builder.objectRef<ImportAnswer>('BulkImportResult').implement({
  description: 'A dry run, or a started import. With any row in ERROR nothing is started (bulkImport is null).',
  fields: (t) => ({
    dryRun: t.exposeBoolean('dryRun'),
    valid: t.boolean({ description: 'No row has an error', resolve: (a) => a.rows.every((r) => r.outcome !== 'ERROR') }),
    rows: t.field({ type: [BulkImportRow], resolve: (a) => a.rows }),
    toCreate: t.int({ resolve: (a) => a.rows.filter((r) => r.outcome === 'CREATE').length }),
    toUpdate: t.int({ resolve: (a) => a.rows.filter((r) => r.outcome === 'UPDATE').length }),
    unchanged: t.int({ resolve: (a) => a.rows.filter((r) => r.outcome === 'UNCHANGED').length }),
    errors: t.int({ resolve: (a) => a.rows.filter((r) => r.outcome === 'ERROR').length }),
    bulkImport: t.prismaField({
      type: 'BulkImport',
      nullable: true,
      resolve: (query, a) => (a.bulkImport ? db().bulkImport.findUnique({ ...query, where: { id: a.bulkImport.id } }) : null),
    }),
    generatedPasswordsCsv: t.string({
      nullable: true,
      description: 'address,password of every mailbox whose password the import generated — shown this once, never stored in clear, never answered again',
      resolve: (a) => a.generatedPasswordsCsv,
    }),
  }),
});

const ImportInput = (name: string, what: string) =>
  builder.inputType(name, {
    fields: (t) => ({
      csv: t.string({ required: true, description: `The CSV text (UTF-8, header row required): ${what}. docs/bulk.md` }),
      dryRun: t.boolean({ required: false, defaultValue: false, description: 'Only check every row and answer what would happen' }),
      customerId: t.id({ required: false, description: "Admins: only this customer's domains count (otherwise each row's domain decides)" }),
    }),
  });
const ImportMailboxesInput = ImportInput('ImportMailboxesInput', 'address, password (or "generate"), quota (MB), status, name');
const ImportForwardsInput = ImportInput('ImportForwardsInput', 'source, destinations');


/** The domains the file names that the viewer may use (admins: of customerId when given). */
async function loadDomains(tx: Tx, ctx: Context, names: string[], customerId: string | null): Promise<Map<string, ImportDomain>> {
  const rows = await tx.domain.findMany({
    where: { name: { in: names }, ...tenantWhere.domain(ctx.viewer), ...(customerId ? { customerId } : {}) },
    select: { id: true, name: true, nameUnicode: true, customerId: true, aliasOfId: true },
  });
  return new Map(rows.map((d) => [d.name, { id: d.id, name: d.name, nameUnicode: d.nameUnicode, customerId: d.customerId, isAlias: !!d.aliasOfId }]));
}

/** Takes each customer's limit lock in one order (two imports never wait on each other in a circle). */
async function lockCustomers(tx: Tx, customerIds: Iterable<string>) {
  for (const id of [...new Set(customerIds)].sort()) await lockCustomer(tx, id);
}

function customerArg(ctx: Context, id: string | number | null | undefined): string | null {
  if (!id) return null;
  const customerId = idOf(String(id), 'Customer');
  // A customer's own imports are limited to its domains by the tenant filter; another id is not found.
  if (ctx.viewer.kind === 'user' && ctx.viewer.role !== 'ADMIN' && ctx.viewer.customerId !== customerId) throw new NotFoundError('Customer');
  return customerId;
}

/** The customer an import belongs to: the viewer's, or the one customer all its rows are of. */
function ownerOf(ctx: Context, rows: { customerId?: string }[]): string | null {
  if (ctx.viewer.kind === 'user' && ctx.viewer.role !== 'ADMIN') return ctx.viewer.customerId ?? null;
  const ids = new Set(rows.map((r) => r.customerId).filter(Boolean));
  return ids.size === 1 ? [...ids][0]! : null;
}

/** The plan of a mailbox file. Inside the starting transaction (`locked`) under the customers' limit
 *  locks; a dry run, and the check before that transaction, read without them. */
async function planMailboxes(
  tx: Tx,
  ctx: Context,
  csv: string,
  customerId: string | null,
  opts: { locked: boolean; passwordChecks: Map<string, FieldError[]> },
): Promise<MailboxRowPlan[]> {
  const table = parseCsvTable(csv, MAILBOX_COLUMNS);
  const named = namedInMailboxTable(table);
  const domains = await loadDomains(tx, ctx, named.domains, customerId);
  const customers = [...new Set([...domains.values()].map((d) => d.customerId))];
  if (opts.locked) await lockCustomers(tx, customers);
  const [existing, forwards, packages, counts, quotas] = await Promise.all([
    tx.mailbox.findMany({
      where: { address: { in: named.addresses } },
      select: { id: true, address: true, quotaMb: true, status: true, name: true, provisioning: true, purgeAt: true },
    }),
    tx.forward.findMany({ where: { source: { in: named.addresses } }, select: { source: true } }),
    tx.customer.findMany({ where: { id: { in: customers } }, select: { id: true, package: { select: { maxMailboxes: true, totalQuotaMb: true } } } }),
    // As createMailbox counts (checkMailboxCount, checkQuotaBudget): mailboxes in their deletion grace
    // period count against neither limit; the quota budget also leaves out those being purged.
    tx.mailbox.groupBy({ by: ['customerId'], where: { customerId: { in: customers }, deletedAt: null }, _count: { _all: true } }),
    tx.mailbox.groupBy({ by: ['customerId'], where: { customerId: { in: customers }, ...LIVE_MAILBOX }, _sum: { quotaMb: true } }),
  ]);
  return planMailboxImport(table, {
    domains,
    existing: new Map(existing.map((m) => [m.address, { ...m, deleting: m.provisioning === 'DELETING' }])),
    forwardSources: new Set(forwards.map((f) => f.source)),
    packages: new Map(
      packages.map((c) => [
        c.id,
        {
          ...c.package,
          mailboxes: counts.find((x) => x.customerId === c.id)?._count._all ?? 0,
          quotaMb: quotas.find((x) => x.customerId === c.id)?._sum.quotaMb ?? 0,
        },
      ]),
    ),
    defaultQuotaMb: config().DEFAULT_QUOTA_MB,
    minPasswordScore: config().PASSWORD_MIN_SCORE,
    passwordChecks: opts.passwordChecks,
  });
}

async function planForwards(tx: Tx, ctx: Context, csv: string, customerId: string | null): Promise<ForwardRowPlan[]> {
  const table = parseCsvTable(csv, FORWARD_COLUMNS);
  const named = namedInForwardTable(table);
  const domains = await loadDomains(tx, ctx, named.domains, customerId);
  const customers = [...new Set([...domains.values()].map((d) => d.customerId))];
  await lockCustomers(tx, customers);
  const [existing, mailboxes, packages, counts] = await Promise.all([
    tx.forward.findMany({ where: { source: { in: named.sources } }, select: { id: true, source: true, destinations: true } }),
    tx.mailbox.findMany({ where: { address: { in: named.sources } }, select: { address: true } }),
    tx.customer.findMany({ where: { id: { in: customers } }, select: { id: true, package: { select: { maxForwards: true } } } }),
    tx.forward.findMany({ where: { domain: { customerId: { in: customers } } }, select: { domain: { select: { customerId: true } } } }),
  ]);
  return planForwardImport(table, {
    domains,
    existing: new Map(existing.map((f) => [f.source, f])),
    mailboxes: new Set(mailboxes.map((m) => m.address)),
    packages: new Map(packages.map((c) => [c.id, { maxForwards: c.package.maxForwards, forwards: counts.filter((f) => f.domain.customerId === c.id).length }])),
  });
}

/** Thrown to roll a dry run's writes back. */
class DryRunDone extends Error {
  constructor(readonly answer: ImportAnswer) {
    super('dry run');
  }
}

function counts(rows: { outcome: RowOutcome }[]) {
  const n = (o: RowOutcome) => rows.filter((r) => r.outcome === o).length;
  return { created: n('CREATE'), updated: n('UPDATE'), unchanged: n('UNCHANGED'), failed: n('ERROR') };
}

builder.mutationFields((t) => ({
  importMailboxes: t.field({
    type: BulkImportResult,
    description:
      'Creates and updates mailboxes from a CSV file (docs/bulk.md). dryRun answers what each row would do. Otherwise, when no row has an error, ' +
      'a background job applies it (bulkImportProgress streams its progress): idempotent by address — a second run of the same file changes nothing, ' +
      "and an existing mailbox's password is never changed.",
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'result' } },
    args: { input: t.arg({ type: ImportMailboxesInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const customerId = customerArg(ctx, input.customerId);
      // The slow part of a plan (password strength) runs once, outside any transaction; the starting
      // transaction plans again under the limit locks with those answers.
      const passwordChecks = new Map<string, FieldError[]>();
      const first = await planMailboxes(db() as unknown as Tx, ctx, input.csv, customerId, { locked: false, passwordChecks });
      if (input.dryRun || first.some((p) => p.outcome === 'ERROR'))
        return { dryRun: !!input.dryRun, rows: first.map(publicRow), bulkImport: null, generatedPasswordsCsv: null };
      const answer = await transaction(async (tx): Promise<ImportAnswer> => {
        const plan = await planMailboxes(tx, ctx, input.csv, customerId, { locked: true, passwordChecks });
        const rows = plan.map(publicRow);
        if (rows.some((r) => r.outcome === 'ERROR')) return { dryRun: false, rows, bulkImport: null, generatedPasswordsCsv: null };
        const secrets = Object.fromEntries(plan.filter((p) => p.password !== undefined).map((p) => [p.asciiAddress!, p.password!]));
        const stored = plan.map(({ password: _password, ...row }) => row);
        const c = counts(plan);
        const owner = ownerOf(ctx, plan);
        const row = await tx.bulkImport.create({
          data: {
            kind: 'MAILBOXES',
            customerId: owner,
            ...actor(ctx),
            total: plan.length,
            rows: stored as never,
            secretsEnc: Object.keys(secrets).length ? encryptSecret(JSON.stringify(secrets), config().encryptionKey) : null,
          },
        });
        await enqueue(ctx.boss, tx, 'bulk-import', { importId: row.id });
        await audit(tx, ctx, {
          action: 'mailbox.import', targetType: 'BulkImport', targetId: row.id, targetLabel: `${plan.length} rows`, customerId: owner,
          details: { rows: plan.length, create: c.created, update: c.updated, unchanged: c.unchanged, generatedPasswords: plan.filter((p) => p.generated).length },
        });
        const generated = plan.filter((p) => p.generated);
        return {
          dryRun: false,
          rows,
          bulkImport: { id: row.id },
          generatedPasswordsCsv: generated.length ? toCsv(['address', 'password'], generated.map((p) => [p.address, p.password!])) : null,
        };
      });
      return answer;
    },
  }),

  importForwards: t.field({
    type: BulkImportResult,
    description:
      'Creates and updates forwards from a CSV file (source, destinations; docs/bulk.md). All rows are written together, in one transaction, or none: ' +
      'with any row in error, or a forwarding loop the file would close, nothing is written. Idempotent by source.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'result' } },
    args: { input: t.arg({ type: ImportForwardsInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const customerId = customerArg(ctx, input.customerId);
      try {
        return await transaction(async (tx): Promise<ImportAnswer> => {
          const plan = await planForwards(tx, ctx, input.csv, customerId);
          const rows = plan.map((p) => ({ row: p.row, address: p.address, outcome: p.outcome, errors: p.errors }));
          if (rows.some((r) => r.outcome === 'ERROR')) throw new DryRunDone({ dryRun: !!input.dryRun, rows, bulkImport: null, generatedPasswordsCsv: null });
          await lockForwardRouting(tx);
          for (const p of plan) {
            if (p.outcome === 'CREATE') await tx.forward.create({ data: { domainId: p.domainId!, localPart: p.localPart!, source: p.source!, destinations: p.destinations! } });
            else if (p.outcome === 'UPDATE') await tx.forward.update({ where: { id: p.forwardId! }, data: { destinations: p.destinations! } });
          }
          // The same check as createForward, over every source the file writes, with all of them in place.
          await refuseLoops(tx, ctx.viewer, plan.filter((p) => p.outcome !== 'UNCHANGED').map((p) => p.source!), 'csv');
          if (input.dryRun) throw new DryRunDone({ dryRun: true, rows, bulkImport: null, generatedPasswordsCsv: null });
          const c = counts(plan);
          const owner = ownerOf(ctx, plan);
          const row = await tx.bulkImport.create({
            data: {
              kind: 'FORWARDS', customerId: owner, ...actor(ctx), status: 'SUCCEEDED', total: plan.length, processed: plan.length, ...c,
              rows: rows as never, startedAt: new Date(), finishedAt: new Date(),
            },
          });
          await audit(tx, ctx, {
            action: 'forward.import', targetType: 'BulkImport', targetId: row.id, targetLabel: `${plan.length} rows`, customerId: owner,
            details: { rows: plan.length, create: c.created, update: c.updated, unchanged: c.unchanged },
          });
          return { dryRun: false, rows, bulkImport: { id: row.id }, generatedPasswordsCsv: null };
        });
      } catch (err) {
        if (err instanceof DryRunDone) return err.answer;
        throw err;
      }
    },
  }),
}));

const EXPORT_PAGE = 1000;

/** Every row of a filtered listing, a page at a time (a keyset on id keeps each page one index range). */
async function* pages<T extends { id: string }>(load: (after: string | null) => Promise<T[]>): AsyncGenerator<T[]> {
  let after: string | null = null;
  for (;;) {
    const page = await load(after);
    if (page.length) yield page;
    if (page.length < EXPORT_PAGE) return;
    after = page.at(-1)!.id;
  }
}

builder.queryFields((t) => ({
  exportMailboxes: t.string({
    description: 'The mailboxes the filter selects as CSV (address, quota, status, name) — the import format, without passwords: importing it again changes nothing',
    authScopes: { panelUser: true },
    args: { filter: t.arg({ type: MailboxFilter, required: false }) },
    resolve: async (_root, args, ctx) => {
      const rows: string[][] = [];
      const where = await mailboxWhere(ctx, args.filter);
      for await (const page of pages((after) =>
        db().mailbox.findMany({
          where: after ? { AND: [where, { id: { gt: after } }] } : where,
          select: { id: true, address: true, quotaMb: true, status: true, name: true },
          orderBy: { id: 'asc' },
          take: EXPORT_PAGE,
        }),
      ))
        for (const m of page) rows.push([displayAddress(m.address), String(m.quotaMb), m.status.toLowerCase(), m.name ?? '']);
      rows.sort((a, b) => a[0]!.localeCompare(b[0]!));
      return toCsv(['address', 'quota', 'status', 'name'], rows);
    },
  }),
  exportForwards: t.string({
    description: 'The forwards the filter selects as CSV (source, destinations separated by spaces) — the import format',
    authScopes: { panelUser: true },
    args: { filter: t.arg({ type: ForwardFilter, required: false }) },
    resolve: async (_root, args, ctx) => {
      const rows: string[][] = [];
      const where = await forwardWhere(ctx, args.filter);
      for await (const page of pages((after) =>
        db().forward.findMany({
          where: after ? { AND: [where, { id: { gt: after } }] } : where,
          select: { id: true, source: true, destinations: true },
          orderBy: { id: 'asc' },
          take: EXPORT_PAGE,
        }),
      ))
        for (const f of page) rows.push([displayAddress(f.source), f.destinations.map(displayAddress).join(' ')]);
      rows.sort((a, b) => a[0]!.localeCompare(b[0]!));
      return toCsv(['source', 'destinations'], rows);
    },
  }),
}));

builder.subscriptionFields((t) => ({
  bulkImportProgress: t.prismaField({
    type: 'BulkImport',
    description: 'The import now, then at most a few updates a second while it runs, ending with its final state.',
    authScopes: { panelUser: true },
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const id = idOf(String(args.id), 'BulkImport');
      const events = ctx.pubsub.subscribe('bulkImport', id);
      const where = { id, ...tenantWhere.bulkImport(ctx.viewer) };
      const row = await db().bulkImport.findFirst({ where, select: { id: true, status: true } });
      if (!row) {
        await events.return?.();
        throw new NotFoundError('BulkImport');
      }
      const visible = (e: object) => loadOncePerEvent(e, ['visible', where], async () => (await db().bulkImport.count({ where })) > 0);
      return whileVisible(throttledMigrationEvents(events, { id: row.id, status: row.status }), visible) as never;
    },
    resolve: async (query, payload, _args, ctx) => {
      const where = { id: (payload as unknown as { id: string }).id, ...tenantWhere.bulkImport(ctx.viewer) };
      return loadOncePerEvent(payload as object, [query, where], () => visibleRow(db().bulkImport.findFirst({ ...query, where }), 'BulkImport'));
    },
  }),
}));

