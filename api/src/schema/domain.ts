import { DELETED_MAILBOX, LIVE_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import { db } from '@mailpanel/core/db';
import { LimitExceededError, ValidationError } from '@mailpanel/core/errors';
import { parseDomain, searchForms, searchTerm } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import type { Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, lockCustomer, notFoundUnless, selection, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';
import { DOMAIN_COLUMNS } from './columns.js';
import { reads } from './row-reads.js';
import { enqueue } from '@mailpanel/core/jobs';
import { Forward } from './forward.js';
import { endSessionsAfterCommit } from './mailbox.js';
import { lockForwardRouting, refuseLoops } from '../forward-loops.js';
import { sourcesSendingTo } from '../alias-domains.js';

export const Domain = builder.prismaNode('Domain', {
  id: { field: 'id' },
  // Its names, state and date on every row, as plain fields (columns.ts).
  select: DOMAIN_COLUMNS,
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.domain(ctx.viewer) }) as never,
  fields: (t) => ({
    name: t.string({
      description: 'The name as people type and read it: the U-label of an internationalised domain (bücher.test), else the ASCII name',
      extensions: reads('nameUnicode'),
      resolve: (d) => d.nameUnicode,
    }),
    asciiName: t.string({
      description: 'The A-label (xn--bcher-kva.test) the mail servers, DNS zones and DKIM records use; equal to name for an ASCII domain',
      extensions: reads('name'),
      resolve: (d) => d.name,
    }),
    enabled: t.boolean({ extensions: reads('enabled'), resolve: (d) => d.enabled }),
    customer: t.relation('customer'),
    mailboxCount: t.relationCount('mailboxes', { where: LIVE_MAILBOX }),
    forwardCount: t.relationCount('forwards', { authScopes: { panelUser: true } }),
    catchAll: t.field({
      type: Forward,
      nullable: true,
      authScopes: { panelUser: true },
      select: { forwards: { where: { localPart: '*' } } },
      resolve: (d) => d.forwards[0] ?? null,
    }),
    createdAt: t.field({ type: 'DateTime', extensions: reads('createdAt'), resolve: (d) => d.createdAt }),
  }),
});

function domainWhere(ctx: Context, filter: { customerId?: string | number | null; search?: string | null; alias?: boolean | null } | null | undefined) {
  const and: object[] = [tenantWhere.domain(ctx.viewer)];
  if (filter?.customerId) and.push({ customerId: idOf(String(filter.customerId), 'Customer') });
  if (filter?.alias != null) and.push({ aliasOfId: filter.alias ? { not: null } : null });
  const q = searchTerm(filter?.search);
  if (q) and.push({ OR: [{ nameUnicode: q }, ...searchForms(q).map((f) => ({ name: f }))] });
  return { AND: and };
}

const DomainFilter = builder.inputType('DomainFilter', {
  fields: (t) => ({
    customerId: t.id({ required: false }),
    search: t.string({ required: false }),
    alias: t.boolean({ required: false, description: 'true: only alias domains; false: only domains with addresses of their own' }),
  }),
});

builder.queryFields((t) => ({
  domains: t.prismaConnection({
    type: 'Domain',
    cursor: 'id',
    authScopes: { authenticated: true },
    args: { filter: t.arg({ type: DomainFilter, required: false }) },
    resolve: (query, _root, args, ctx) => db().domain.findMany({ ...query, where: domainWhere(ctx, args.filter), orderBy: [{ name: 'asc' }, { id: 'asc' }] }),
    totalCount: (_root, args, ctx) => db().domain.count({ where: domainWhere(ctx, args.filter) }),
  }),
}));

builder.mutationFields((t) => ({
  createDomain: t.prismaField({
    type: 'Domain',
    description: 'Admins create a domain for any customer (customerId required); customers for themselves, within their package.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'domain' } },
    args: { name: t.arg.string({ required: true }), customerId: t.arg.id({ required: false }), enabled: t.arg.boolean({ required: false }) },
    resolve: (query, _root, args, ctx) => {
      const forms = parseDomain(args.name);
      if (!forms) throw ValidationError.of('name', 'INVALID', 'Not a valid domain name (internationalised names are welcome: bücher.de or xn--bcher-kva.de)');
      const { ascii: name, unicode: nameUnicode } = forms;
      const v = ctx.viewer;
      const isAdmin = v.kind === 'user' && v.role === 'ADMIN';
      if (isAdmin && !args.customerId) throw ValidationError.of('customerId', 'REQUIRED', 'Choose the customer that owns the domain');
      if (!isAdmin && args.enabled === false) throw ValidationError.of('enabled', 'FORBIDDEN', 'Only an administrator can create a disabled domain');
      return transaction(async (tx) => {
        const customerId = isAdmin ? idOf(String(args.customerId), 'Customer') : (v.kind === 'user' ? v.customerId : null);
        const customer = customerId ? await tx.customer.findUnique({ where: { id: customerId }, include: { package: true } }) : null;
        if (!customer) throw ValidationError.of('customerId', 'NOT_FOUND', 'Customer not found');
        await lockCustomer(tx, customer.id);
        // Either form of a name finds the one row: bücher.test and xn--bcher-kva.test are one domain.
        if (await tx.domain.findUnique({ where: { name } })) throw ValidationError.of('name', 'TAKEN', `${nameUnicode} is already in use`);
        const max = customer.package.maxDomains;
        if (max > 0 && (await tx.domain.count({ where: { customerId: customer.id } })) >= max)
          throw new LimitExceededError('maxDomains', max, `Your package allows ${max} domains`);
        const domain = await tx.domain.create({ ...selection(query), data: { name, nameUnicode, customerId: customer.id, enabled: args.enabled ?? true } });
        // rspamd gets the new domain's spam policy now, not at the next periodic resync.
        await enqueue(ctx.boss, tx, 'rspamd-sync', { reason: 'domain.create' });
        await audit(tx, ctx, { action: 'domain.create', targetType: 'Domain', targetId: domain.id, targetLabel: nameUnicode, customerId: customer.id });
        return domain;
      });
    },
  }),
  updateDomain: t.prismaField({
    type: 'Domain',
    description: 'Enable/disable a domain (all its mailboxes and forwards stop at once) or move it to another customer.',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'domain' } },
    args: { id: t.arg.id({ required: true }), enabled: t.arg.boolean({ required: false }), customerId: t.arg.id({ required: false }) },
    resolve: (query, _root, args, ctx) =>
      transaction(async (tx) => {
        const current = notFoundUnless(await tx.domain.findUnique({ where: { id: idOf(String(args.id), 'Domain') } }), 'Domain');
        const data: { enabled?: boolean; customerId?: string } = {};
        if (args.enabled != null) data.enabled = args.enabled;
        if (args.customerId) {
          const c = await tx.customer.findUnique({ where: { id: idOf(String(args.customerId), 'Customer') } });
          if (!c) throw ValidationError.of('customerId', 'NOT_FOUND', 'Customer not found');
          if (current.aliasOfId && c.id !== current.customerId)
            throw ValidationError.of('customerId', 'ALIAS_DOMAIN', 'An alias domain belongs to its target\'s customer: move the target domain');
          data.customerId = c.id;
        }
        // Enabling brings the domain's forwards back to the mail server: refused when one of them
        // would then loop (api/src/forward-loops.ts).
        const enabling = data.enabled === true && !current.enabled;
        if (enabling) await lockForwardRouting(tx);
        const domain = await tx.domain.update({ ...selection(query), where: { id: current.id }, data });
        // Its alias domains stay with it (same customer as their target).
        if (data.customerId && data.customerId !== current.customerId)
          await tx.domain.updateMany({ where: { aliasOfId: current.id }, data: { customerId: data.customerId } });
        if (current.enabled && data.enabled === false) {
          // Its mailboxes can no longer log in: their open sessions end too.
          const mailboxes = await tx.mailbox.findMany({ where: { domainId: current.id, provisioning: { not: 'DELETING' } }, select: { id: true } });
          for (const m of mailboxes) await endSessionsAfterCommit(tx, ctx, m.id);
        }
        if (enabling) {
          // An alias domain has no forwards; enabling it routes the forwards that send to it.
          const sources = current.aliasOfId
            ? await sourcesSendingTo(tx, current.name)
            : (await tx.forward.findMany({ where: { domainId: current.id }, select: { source: true } })).map((f) => f.source);
          await refuseLoops(tx, ctx.viewer, sources, 'enabled');
        }
        await enqueue(ctx.boss, tx, 'rspamd-sync', { reason: 'domain.update' });
        await audit(tx, ctx, { action: 'domain.update', targetType: 'Domain', targetId: domain.id, targetLabel: domain.name, customerId: domain.customerId, details: data });
        return domain;
      }),
  }),
  deleteDomain: t.field({
    type: 'ID',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'deletedId' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) =>
      transaction(async (tx) => {
        const d = notFoundUnless(
          await tx.domain.findFirst({
            where: { id: idOf(String(id), 'Domain'), ...tenantWhere.domain(ctx.viewer) },
            include: { _count: { select: { mailboxes: true, forwards: true, aliasDomains: true } } },
          }),
          'Domain',
        );
        if (d._count.aliasDomains > 0) throw ValidationError.of('id', 'IN_USE', `Delete its ${d._count.aliasDomains} alias domains first`);
        // Deleted mailboxes in their restore period keep their rows (and addresses) until purged.
        const deleted = d._count.mailboxes && (await tx.mailbox.count({ where: { domainId: d.id, ...DELETED_MAILBOX } }));
        if (d._count.mailboxes - deleted + d._count.forwards > 0)
          throw ValidationError.of('id', 'IN_USE', `Delete its ${d._count.mailboxes - deleted} mailboxes and ${d._count.forwards} forwards first`);
        if (deleted > 0)
          throw ValidationError.of('id', 'IN_USE', `${deleted} deleted mailboxes of this domain can still be restored: it can go once they are purged (an admin can purge them now)`);
        await tx.domain.delete({ where: { id: d.id } });
        await enqueue(ctx.boss, tx, 'rspamd-sync', { reason: 'domain.delete' });
        await audit(tx, ctx, { action: 'domain.delete', targetType: 'Domain', targetId: d.id, targetLabel: d.name, customerId: d.customerId });
        return String(id);
      }),
  }),
}));
