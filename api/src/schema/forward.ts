import { db } from '@mailpanel/core/db';
import { FieldErrors, LimitExceededError, ValidationError } from '@mailpanel/core/errors';
import { checkDestinations, checkForwardSource, displayAddress, searchForms, searchTerm } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import type { Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';
import { addressSearch, listingWhere } from '../address-search.js';
import { idOf, lockCustomer, notFoundUnless, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';
import { aliasDomainHasNoAddresses } from '../alias-domains.js';
import { assertAddressFree, orderBy } from './mailbox.js';
import { SortDirection } from './scalars.js';
import { Customer } from './customer.js';
import { loadRoutingTable, lockForwardRouting, loopVisibility, refuseLoops } from '../forward-loops.js';
import { describeLoop, findLoops } from '@mailpanel/core/forward-routing';

export const Forward = builder.prismaNode('Forward', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.forward(ctx.viewer) }) as never,
  fields: (t) => ({
    source: t.string({ resolve: (f) => displayAddress(f.source) }),
    catchAll: t.boolean({ resolve: (f) => f.localPart === '*' }),
    destinations: t.stringList({ resolve: (f) => f.destinations.map(displayAddress) }),
    domain: t.relation('domain'),
    customer: t.field({ type: Customer, select: { domain: { select: { customer: true } } }, resolve: (f) => f.domain.customer }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const ForwardFilter = builder.inputType('ForwardFilter', {
  fields: (t) => ({
    domainId: t.id({ required: false }),
    customerId: t.id({ required: false }),
    catchAll: t.boolean({ required: false }),
    search: t.string({ required: false, description: 'Part of the source (either form of its domain), or a whole destination address (either form)' }),
  }),
});
const ForwardOrderField = builder.enumType('ForwardOrderField', { values: ['SOURCE', 'CREATED_AT'] as const });
const ForwardOrder = builder.inputType('ForwardOrder', {
  fields: (t) => ({
    field: t.field({ type: ForwardOrderField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: 'ASC' }),
  }),
});

/** The listing's where. A search matches the source as addressSearch explains, or a whole destination
 *  in either form of its domain. */
export function forwardWhere(ctx: Context, f: { domainId?: string | number | null; customerId?: string | number | null; catchAll?: boolean | null; search?: string | null } | null | undefined) {
  return listingWhere(ctx, 'forwards', f, async () => {
    const and: object[] = [tenantWhere.forward(ctx.viewer)];
    if (f?.domainId) and.push({ domainId: idOf(String(f.domainId), 'Domain') });
    if (f?.customerId) and.push({ domain: { customerId: idOf(String(f.customerId), 'Customer') } });
    if (f?.catchAll != null) and.push(f.catchAll ? { localPart: '*' } : { localPart: { not: '*' } });
    const q = searchTerm(f?.search);
    if (q) {
      const destinations = searchForms(q).flatMap((form) => ('contains' in form ? [form.contains] : []));
      and.push({ OR: [...(await addressSearch(q, 'source')), ...(destinations.length ? [{ destinations: { hasSome: destinations } }] : [])] });
    }
    return { AND: and };
  });
}

builder.queryFields((t) => ({
  forwards: t.prismaConnection({
    type: 'Forward',
    cursor: 'id',
    authScopes: { panelUser: true },
    args: { filter: t.arg({ type: ForwardFilter, required: false }), orderBy: t.arg({ type: ForwardOrder, required: false }) },
    resolve: async (query, _root, args, ctx) =>
      db().forward.findMany({
        ...query,
        where: await forwardWhere(ctx, args.filter),
        orderBy: orderBy(args.orderBy, { source: 'asc' }, { SOURCE: (d) => ({ source: d }), CREATED_AT: (d) => ({ createdAt: d }) }),
      }),
    totalCount: async (_root, args, ctx) => db().forward.count({ where: await forwardWhere(ctx, args.filter) }),
  }),
}));

type LoopShape = { path: string; sources: string[] };
const ForwardLoop = builder.objectRef<LoopShape>('ForwardLoop').implement({
  description: 'Forwards that send mail round in a circle (saved before loops were refused, or made by deleting a mailbox or forward). The mail server bounces such mail with 5.4.6.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'The way the mail goes round, e.g. "a@x → b@y → a@x"; addresses of other customers read "…"' }),
    forwards: t.prismaField({
      type: ['Forward'],
      description: 'The forwards of the loop that you may see and edit',
      resolve: (query, loop, _args, ctx) =>
        db().forward.findMany({ ...query, where: { source: { in: loop.sources }, ...tenantWhere.forward(ctx.viewer) }, orderBy: { source: 'asc' } }),
    }),
  }),
});

builder.queryFields((t) => ({
  forwardLoops: t.field({
    type: [ForwardLoop],
    description: 'Every forwarding loop the mail server currently sees. An admin sees all; a customer those through its own domains.',
    authScopes: { panelUser: true },
    resolve: async (_root, _args, ctx) => {
      // A customer's screen asks this on every visit: first the mail server's own per-address check
      // on its forwards (a few index probes each), and the whole graph only when one of them loops.
      const v = ctx.viewer;
      if (v.kind === 'user' && v.role !== 'ADMIN') {
        const looping = await db().$queryRaw<unknown[]>`SELECT 1 FROM forwards f JOIN domains d ON d.id = f.domain_id
          WHERE d.customer_id = ${v.customerId}::uuid AND d.enabled AND mail_alias_loops(f.source) LIMIT 1`;
        if (looping.length === 0) return [];
      }
      const visible = await loopVisibility(db(), ctx.viewer);
      const loops = findLoops(await loadRoutingTable(db())).filter((hops) => hops.some((h) => visible(h.source)));
      return loops.map((hops): LoopShape => ({ path: describeLoop(hops, visible), sources: hops.map((h) => h.source) }));
    },
  }),
}));

builder.mutationFields((t) => ({
  createForward: t.field({
    type: Forward,
    description: 'source is local@domain, or *@domain for the catch-all. destinations: a list, or one comma-separated string. Refused (destinations FORWARD_LOOP) when mail would come back to it.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'forward' } },
    args: {
      source: t.arg.string({ required: true }),
      destinations: t.arg.stringList({ required: true }),
    },
    resolve: (_root, args, ctx) => {
      const errors = new FieldErrors();
      const parsed = checkForwardSource(errors, 'source', args.source);
      const destinations = checkDestinations(errors, 'destinations', args.destinations, parsed?.source ?? '');
      errors.throwIfAny();
      const { localPart, domain: domainName, source } = parsed!;
      return transaction(async (tx) => {
        const domain = await tx.domain.findFirst({ where: { name: domainName!, ...tenantWhere.domain(ctx.viewer) }, include: { customer: { include: { package: true } } } });
        if (!domain) throw ValidationError.of('source', 'NOT_FOUND', `Domain ${domainName} not found`);
        if (domain.aliasOfId) throw ValidationError.of('source', 'ALIAS_DOMAIN', aliasDomainHasNoAddresses(domain.nameUnicode));
        await lockCustomer(tx, domain.customerId);
        await lockForwardRouting(tx);
        if (localPart === '*') {
          if (await tx.forward.findUnique({ where: { source } }))
            throw ValidationError.of('source', 'TAKEN', `${domain.name} already has a catch-all`);
        } else await assertAddressFree(tx, source, 'source');
        const max = domain.customer.package.maxForwards;
        if (max > 0 && (await tx.forward.count({ where: { domain: { customerId: domain.customerId } } })) >= max)
          throw new LimitExceededError('maxForwards', max, `Your package allows ${max} forwards`);
        const forward = await tx.forward.create({ data: { domainId: domain.id, localPart: localPart!, source, destinations } });
        await refuseLoops(tx, ctx.viewer, [source], 'destinations');
        await audit(tx, ctx, { action: 'forward.create', targetType: 'Forward', targetId: forward.id, targetLabel: source, customerId: domain.customerId, details: { destinations } });
        return forward;
      });
    },
  }),

  updateForward: t.field({
    type: Forward,
    description: 'Replace the destinations of a forward or catch-all. Refused (destinations FORWARD_LOOP) when mail would come back to it.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'forward' } },
    args: {
      id: t.arg.id({ required: true }),
      destinations: t.arg.stringList({ required: true }),
    },
    resolve: (_root, args, ctx) =>
      transaction(async (tx) => {
        const current = notFoundUnless(
          await tx.forward.findFirst({ where: { id: idOf(String(args.id), 'Forward'), ...tenantWhere.forward(ctx.viewer) }, include: { domain: true } }),
          'Forward',
        );
        const errors = new FieldErrors();
        const destinations = checkDestinations(errors, 'destinations', args.destinations, current.source);
        errors.throwIfAny();
        await lockForwardRouting(tx);
        const forward = await tx.forward.update({ where: { id: current.id }, data: { destinations } });
        await refuseLoops(tx, ctx.viewer, [current.source], 'destinations');
        await audit(tx, ctx, {
          action: 'forward.update', targetType: 'Forward', targetId: current.id, targetLabel: current.source, customerId: current.domain.customerId,
          details: { destinations, previous: current.destinations },
        });
        return forward;
      }),
  }),
  deleteForward: t.field({
    type: 'ID',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'deletedId' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      transaction(async (tx) => {
        const forward = notFoundUnless(
          await tx.forward.findFirst({ where: { id: idOf(String(args.id), 'Forward'), ...tenantWhere.forward(ctx.viewer) }, include: { domain: true } }),
          'Forward',
        );
        await tx.forward.delete({ where: { id: forward.id } });
        await audit(tx, ctx, { action: 'forward.delete', targetType: 'Forward', targetId: forward.id, targetLabel: forward.source, customerId: forward.domain.customerId });
        return String(args.id);
      }),
  }),
}));
