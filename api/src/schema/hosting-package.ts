import { db } from '@mailpanel/core/db';
import { FieldErrors, ValidationError } from '@mailpanel/core/errors';
import { config } from '@mailpanel/core/env';
import { checkMessageSizeMb, effectiveMessageSizeBytes } from '@mailpanel/core/message-size';
import { checkText, LIMITS } from '@mailpanel/core/validation';
import { MAX_DELETE_GRACE_DAYS } from '@mailpanel/core/mailbox-deletion';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, notFoundUnless, selection, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';

builder.prismaNode('HostingPackage', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.hostingPackage(ctx.viewer) }) as never,
  fields: (t) => ({
    name: t.exposeString('name'),
    maxDomains: t.exposeInt('maxDomains', { description: '0 = unlimited' }),
    maxMailboxes: t.exposeInt('maxMailboxes', { description: '0 = unlimited' }),
    maxForwards: t.exposeInt('maxForwards', { description: '0 = unlimited' }),
    totalQuotaMb: t.exposeInt('totalQuotaMb', { description: 'Sum of all mailbox quotas; 0 = unlimited' }),
    maxEmailsPerHour: t.exposeInt('maxEmailsPerHour', { description: 'Outbound e-mails per hour for the whole customer; 0 = unlimited' }),
    maxEmailsPerHourMailbox: t.exposeInt('maxEmailsPerHourMailbox', { description: 'Outbound e-mails per hour per mailbox; 0 = unlimited' }),
    maxEmailsPerHourDomain: t.exposeInt('maxEmailsPerHourDomain', { description: 'Outbound e-mails per hour per domain; 0 = unlimited' }),
    maxMessageSizeMb: t.exposeInt('maxMessageSizeMb', { nullable: true, description: "Largest message its mailboxes accept, in MB; null = the server's limit" }),
    messageSizeLimitBytes: t.int({
      description: "The largest message its mailboxes accept, in bytes: the package's limit, or the server's (never unlimited, whatever the quota)",
      select: { maxMessageSizeMb: true },
      resolve: (p) => effectiveMessageSizeBytes(p.maxMessageSizeMb, config().MESSAGE_SIZE_LIMIT_BYTES),
    }),
    deleteGraceDays: t.exposeInt('deleteGraceDays', {
      description: 'Days a deleted mailbox can be restored before it and its mail are purged; 0 = deleted at once',
    }),
    customerCount: t.relationCount('customers'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const LIMIT_FIELDS = ['maxDomains', 'maxMailboxes', 'maxForwards', 'totalQuotaMb', 'maxEmailsPerHour', 'maxEmailsPerHourMailbox', 'maxEmailsPerHourDomain'] as const;

const HostingPackageInput = builder.inputType('HostingPackageInput', {
  description: 'Every limit is a whole number; 0 means unlimited.',
  fields: (t) => ({
    name: t.string({ required: false }),
    ...Object.fromEntries(LIMIT_FIELDS.map((f) => [f, t.int({ required: false })])),
    maxMessageSizeMb: t.int({ required: false, description: "Largest message in MB, at most the server's limit; 0 = the server's limit" }),
    deleteGraceDays: t.int({ required: false, description: `Days a deleted mailbox can be restored (0..${MAX_DELETE_GRACE_DAYS}); 0 = deleted at once` }),
  }) as never,
});

type PackageInput = { name?: string | null; maxMessageSizeMb?: number | null; deleteGraceDays?: number | null } & Partial<Record<(typeof LIMIT_FIELDS)[number], number | null>>;

function validatePackage(input: PackageInput, creating: boolean) {
  const errors = new FieldErrors();
  const data: Record<string, string | number | null> = {};
  if (input.name != null || creating) data.name = checkText(errors, 'name', (input.name ?? '').trim(), { max: LIMITS.name, min: 1, singleLine: true, label: 'Name' });
  for (const f of LIMIT_FIELDS) {
    const v = input[f];
    if (v == null) continue;
    if (!Number.isInteger(v) || v < 0 || v > 1_000_000_000) errors.add(f, 'INVALID', 'Must be a whole number, 0 (unlimited) or more');
    else data[f] = v;
  }
  if (input.deleteGraceDays != null) {
    const v = input.deleteGraceDays;
    if (!Number.isInteger(v) || v < 0 || v > MAX_DELETE_GRACE_DAYS)
      errors.add('deleteGraceDays', 'INVALID', `Must be a whole number of days from 0 (delete at once) to ${MAX_DELETE_GRACE_DAYS}`);
    else data.deleteGraceDays = v;
  }
  if (input.maxMessageSizeMb != null) data.maxMessageSizeMb = checkMessageSizeMb(errors, 'maxMessageSizeMb', input.maxMessageSizeMb, config().MESSAGE_SIZE_LIMIT_BYTES);
  errors.throwIfAny();
  return data;
}

builder.queryFields((t) => ({
  hostingPackages: t.prismaConnection({
    type: 'HostingPackage',
    cursor: 'id',
    authScopes: { panelUser: true },
    resolve: (query, _root, _args, ctx) => db().hostingPackage.findMany({ ...query, where: tenantWhere.hostingPackage(ctx.viewer), orderBy: [{ name: 'asc' }, { id: 'asc' }] }),
    totalCount: (_root, _args, ctx) => db().hostingPackage.count({ where: tenantWhere.hostingPackage(ctx.viewer) }),
  }),
}));

builder.mutationFields((t) => ({
  createHostingPackage: t.prismaField({
    type: 'HostingPackage',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'hostingPackage' } },
    args: { input: t.arg({ type: HostingPackageInput, required: true }) },
    resolve: (query, _root, { input }, ctx) => {
      const data = validatePackage(input as PackageInput, true);
      return transaction(async (tx) => {
        if (await tx.hostingPackage.findUnique({ where: { name: String(data.name) } }))
          throw ValidationError.of('name', 'TAKEN', 'A package with this name exists');
        const pkg = await tx.hostingPackage.create({ ...selection(query), data: data as never });
        await audit(tx, ctx, { action: 'package.create', targetType: 'HostingPackage', targetId: pkg.id, targetLabel: pkg.name, details: data });
        return pkg;
      });
    },
  }),
  updateHostingPackage: t.prismaField({
    type: 'HostingPackage',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'hostingPackage' } },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: HostingPackageInput, required: true }) },
    resolve: (query, _root, { id, input }, ctx) => {
      const data = validatePackage(input as PackageInput, false);
      return transaction(async (tx) => {
        const current = notFoundUnless(await tx.hostingPackage.findUnique({ where: { id: idOf(String(id), 'HostingPackage') } }), 'HostingPackage');
        if (data.name && data.name !== current.name && (await tx.hostingPackage.findUnique({ where: { name: String(data.name) } })))
          throw ValidationError.of('name', 'TAKEN', 'A package with this name exists');
        const pkg = await tx.hostingPackage.update({ ...selection(query), where: { id: current.id }, data });
        await audit(tx, ctx, { action: 'package.update', targetType: 'HostingPackage', targetId: pkg.id, targetLabel: pkg.name, details: data });
        return pkg;
      });
    },
  }),
  deleteHostingPackage: t.field({
    type: 'ID',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'deletedId' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) =>
      transaction(async (tx) => {
        const pkg = notFoundUnless(
          await tx.hostingPackage.findUnique({ where: { id: idOf(String(id), 'HostingPackage') }, include: { _count: { select: { customers: true } } } }),
          'HostingPackage',
        );
        if (pkg._count.customers > 0) throw ValidationError.of('id', 'IN_USE', `${pkg._count.customers} customers use this package`);
        await tx.hostingPackage.delete({ where: { id: pkg.id } });
        await audit(tx, ctx, { action: 'package.delete', targetType: 'HostingPackage', targetId: pkg.id, targetLabel: pkg.name });
        return String(id);
      }),
  }),
}));
