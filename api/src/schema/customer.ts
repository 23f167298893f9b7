import { LIVE_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import { db } from '@mailpanel/core/db';
import { FieldErrors, ValidationError } from '@mailpanel/core/errors';
import { checkText, LIMITS, normalizeAddress, searchTerm } from '@mailpanel/core/validation';
import type { Context } from '../context.js';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, notFoundUnless, selection, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';
import { CUSTOMER_COLUMNS } from './columns.js';
import { reads } from './row-reads.js';

const CustomerUsage = builder
  .objectRef<{ domains: number; mailboxes: number; forwards: number; quotaAllocatedMb: number; quotaUsedBytes: number }>('CustomerUsage')
  .implement({
    fields: (t) => ({
      domains: t.exposeInt('domains'),
      mailboxes: t.exposeInt('mailboxes'),
      forwards: t.exposeInt('forwards'),
      quotaAllocatedMb: t.exposeInt('quotaAllocatedMb'),
      quotaUsedBytes: t.exposeFloat('quotaUsedBytes'),
    }),
  });

export const Customer = builder.prismaNode('Customer', {
  id: { field: 'id' },
  // Its name, email and date on every row, as plain fields (columns.ts).
  select: CUSTOMER_COLUMNS,
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.customer(ctx.viewer) }) as never,
  fields: (t) => ({
    name: t.string({ extensions: reads('name'), resolve: (c) => c.name }),
    email: t.string({ nullable: true, extensions: reads('email'), resolve: (c) => c.email }),
    package: t.relation('package'),
    domains: t.relatedConnection('domains', {
      cursor: 'id',
      query: (_args, ctx) => ({ where: tenantWhere.domain(ctx.viewer), orderBy: { name: 'asc' } }),
      totalCount: true,
    }),
    users: t.relation('users', { authScopes: { panelUser: true } }),
    usage: t.field({
      type: CustomerUsage,
      authScopes: { panelUser: true },
      extensions: reads(), // its id only
      resolve: async (c) => {
        const [domains, mailboxes, forwards] = await Promise.all([
          db().domain.count({ where: { customerId: c.id } }),
          db().mailbox.aggregate({ where: { customerId: c.id, ...LIVE_MAILBOX }, _count: true, _sum: { quotaMb: true, quotaUsedBytes: true } }),
          db().forward.count({ where: { domain: { customerId: c.id } } }),
        ]);
        return {
          domains,
          mailboxes: mailboxes._count,
          forwards,
          quotaAllocatedMb: mailboxes._sum.quotaMb ?? 0,
          quotaUsedBytes: Number(mailboxes._sum.quotaUsedBytes ?? 0),
        };
      },
    }),
    createdAt: t.field({ type: 'DateTime', extensions: reads('createdAt'), resolve: (c) => c.createdAt }),
  }),
});

function customerWhere(ctx: Context, search: string | null | undefined, packageId: string | number | null | undefined) {
  const q = searchTerm(search, LIMITS.name);
  return {
    AND: [
      tenantWhere.customer(ctx.viewer),
      q ? { name: { ...q, mode: 'insensitive' as const } } : {},
      packageId ? { packageId: idOf(String(packageId), 'HostingPackage') } : {},
    ],
  };
}

builder.queryFields((t) => ({
  customers: t.prismaConnection({
    type: 'Customer',
    cursor: 'id',
    authScopes: { panelUser: true },
    args: { search: t.arg.string({ required: false }), packageId: t.arg.id({ required: false, description: 'Only the customers on this hosting package' }) },
    resolve: (query, _root, args, ctx) =>
      db().customer.findMany({
        ...query,
        where: customerWhere(ctx, args.search, args.packageId),
        orderBy: [{ name: 'asc' }, { id: 'asc' }],
      }),
    totalCount: (_root, args, ctx) =>
      db().customer.count({ where: customerWhere(ctx, args.search, args.packageId) }),
  }),
}));

function validateCustomer(input: { name?: string | null; email?: string | null }, creating: boolean) {
  const errors = new FieldErrors();
  const data: { name?: string; email?: string | null } = {};
  if (input.name != null || creating) data.name = checkText(errors, 'name', (input.name ?? '').trim(), { max: LIMITS.name, min: 1, singleLine: true, label: 'Name' });
  if (input.email != null) {
    const email = input.email.trim() ? normalizeAddress(input.email) : null;
    if (input.email.trim() && !email) errors.add('email', 'INVALID', 'Not a valid e-mail address');
    data.email = email;
  }
  errors.throwIfAny();
  return data;
}

builder.mutationFields((t) => ({
  createCustomer: t.prismaField({
    type: 'Customer',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'customer' } },
    args: { name: t.arg.string({ required: true }), email: t.arg.string({ required: false }), packageId: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => {
      const data = validateCustomer(args, true);
      return transaction(async (tx) => {
        const pkg = await tx.hostingPackage.findUnique({ where: { id: idOf(String(args.packageId), 'HostingPackage') } }).catch(() => null);
        if (!pkg) throw ValidationError.of('packageId', 'NOT_FOUND', 'Hosting package not found');
        if (await tx.customer.findUnique({ where: { name: data.name! } })) throw ValidationError.of('name', 'TAKEN', 'A customer with this name exists');
        const customer = await tx.customer.create({ ...selection(query), data: { name: data.name!, email: data.email ?? null, packageId: pkg.id } });
        await audit(tx, ctx, { action: 'customer.create', targetType: 'Customer', targetId: customer.id, targetLabel: customer.name, customerId: customer.id });
        return customer;
      });
    },
  }),
  updateCustomer: t.prismaField({
    type: 'Customer',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'customer' } },
    args: { id: t.arg.id({ required: true }), name: t.arg.string({ required: false }), email: t.arg.string({ required: false }), packageId: t.arg.id({ required: false }) },
    resolve: (query, _root, args, ctx) => {
      const data: { name?: string; email?: string | null; packageId?: string } = validateCustomer(args, false);
      return transaction(async (tx) => {
        const current = notFoundUnless(await tx.customer.findUnique({ where: { id: idOf(String(args.id), 'Customer') } }), 'Customer');
        if (data.name && data.name !== current.name && (await tx.customer.findUnique({ where: { name: data.name } })))
          throw ValidationError.of('name', 'TAKEN', 'A customer with this name exists');
        if (args.packageId) {
          const pkg = await tx.hostingPackage.findUnique({ where: { id: idOf(String(args.packageId), 'HostingPackage') } });
          if (!pkg) throw ValidationError.of('packageId', 'NOT_FOUND', 'Hosting package not found');
          data.packageId = pkg.id;
        }
        const customer = await tx.customer.update({ ...selection(query), where: { id: current.id }, data });
        await audit(tx, ctx, { action: 'customer.update', targetType: 'Customer', targetId: customer.id, targetLabel: customer.name, customerId: customer.id, details: data });
        return customer;
      });
    },
  }),
  deleteCustomer: t.field({
    type: 'ID',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'deletedId' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) =>
      transaction(async (tx) => {
        const c = notFoundUnless(
          await tx.customer.findUnique({ where: { id: idOf(String(id), 'Customer') }, include: { _count: { select: { domains: true } } } }),
          'Customer',
        );
        if (c._count.domains > 0) throw ValidationError.of('id', 'IN_USE', `Delete the customer's ${c._count.domains} domains first`);
        await tx.customer.delete({ where: { id: c.id } });
        await audit(tx, ctx, { action: 'customer.delete', targetType: 'Customer', targetId: c.id, targetLabel: c.name, customerId: c.id });
        return String(id);
      }),
  }),
}));
