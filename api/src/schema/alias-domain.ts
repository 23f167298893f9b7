import { LimitExceededError, ValidationError } from '@mailpanel/core/errors';
import { enqueue } from '@mailpanel/core/jobs';
import { parseDomain } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, lockCustomer, notFoundUnless, selection, transaction } from '../mutation-helpers.js';
import { lockForwardRouting, refuseLoops } from '../forward-loops.js';
import { sourcesSendingTo } from '../alias-domains.js';
import { MUTATION_ERRORS } from './errors.js';

builder.prismaObjectFields('Domain', (t) => ({
  aliasOf: t.relation('aliasOf', {
    nullable: true,
    description: 'Set on an alias domain: mail to x@this domain is delivered as x@aliasOf',
  }),
  aliasDomains: t.relation('aliasDomains', {
    description: 'The alias domains whose mail this domain receives',
    query: { orderBy: [{ name: 'asc' }, { id: 'asc' }] },
  }),
}));

builder.mutationFields((t) => ({
  createAliasDomain: t.prismaField({
    type: 'Domain',
    description:
      'An alias domain: every address x@name (catch-all included) is delivered as x@target. It belongs to the target\'s customer and counts against its package\'s maxDomains.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'domain' } },
    args: { name: t.arg.string({ required: true }), targetDomainId: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => {
      const forms = parseDomain(args.name);
      if (!forms) throw ValidationError.of('name', 'INVALID', 'Not a valid domain name (internationalised names are welcome: bücher.de or xn--bcher-kva.de)');
      const { ascii: name, unicode: nameUnicode } = forms;
      return transaction(async (tx) => {
        const target = notFoundUnless(
          await tx.domain.findFirst({
            where: { id: idOf(String(args.targetDomainId), 'Domain'), ...tenantWhere.domain(ctx.viewer) },
            include: { customer: { include: { package: true } }, aliasOf: { select: { nameUnicode: true } } },
          }),
          'Domain',
        );
        if (target.aliasOf)
          throw ValidationError.of('targetDomainId', 'ALIAS_DOMAIN', `${target.nameUnicode} is itself an alias of ${target.aliasOf.nameUnicode}: choose ${target.aliasOf.nameUnicode}`);
        await lockCustomer(tx, target.customerId);
        if (await tx.domain.findUnique({ where: { name } })) throw ValidationError.of('name', 'TAKEN', `${nameUnicode} is already in use`);
        const max = target.customer.package.maxDomains;
        if (max > 0 && (await tx.domain.count({ where: { customerId: target.customerId } })) >= max)
          throw new LimitExceededError('maxDomains', max, `Your package allows ${max} domains`);
        await lockForwardRouting(tx);
        const domain = await tx.domain.create({
          ...selection(query),
          data: { name, nameUnicode, customerId: target.customerId, aliasOfId: target.id },
        });
        // Forwards that already send to this name now reach the target: refused if that closes a loop.
        await refuseLoops(tx, ctx.viewer, await sourcesSendingTo(tx, name), 'name');
        await enqueue(ctx.boss, tx, 'rspamd-sync', { reason: 'domain.create' });
        await audit(tx, ctx, {
          action: 'alias_domain.create',
          targetType: 'Domain',
          targetId: domain.id,
          targetLabel: nameUnicode,
          customerId: target.customerId,
          details: { target: target.nameUnicode },
        });
        return domain;
      });
    },
  }),
  deleteAliasDomain: t.field({
    type: 'ID',
    description: 'Removes an alias domain: its addresses are no longer received. The target is untouched.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'deletedId' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) =>
      transaction(async (tx) => {
        const d = notFoundUnless(
          await tx.domain.findFirst({
            where: { id: idOf(String(id), 'Domain'), aliasOfId: { not: null }, ...tenantWhere.domain(ctx.viewer) },
            include: { aliasOf: { select: { nameUnicode: true } } },
          }),
          'Domain',
        );
        await tx.domain.delete({ where: { id: d.id } });
        await enqueue(ctx.boss, tx, 'rspamd-sync', { reason: 'domain.delete' });
        await audit(tx, ctx, {
          action: 'alias_domain.delete',
          targetType: 'Domain',
          targetId: d.id,
          targetLabel: d.nameUnicode,
          customerId: d.customerId,
          details: { target: d.aliasOf?.nameUnicode },
        });
        return String(id);
      }),
  }),
}));
