import type { Prisma, Tx } from '@mailpanel/core/db';
import { ValidationError } from '@mailpanel/core/errors';
import { enqueue } from '@mailpanel/core/jobs';
import { QuarantineStatus } from '@mailpanel/core/generated/prisma/enums';
import { searchTerm } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import type { Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, notFoundUnless, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';

const QuarantineStatusEnum = builder.enumType(QuarantineStatus, {
  name: 'QuarantineStatus',
  description: 'HELD: waiting for a decision. RELEASING: being delivered into the INBOX. RELEASED / DELETED: done.',
});

export const QuarantineItem = builder.prismaNode('QuarantineItem', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.quarantineItem(ctx.viewer) }) as never,
  fields: (t) => ({
    recipient: t.exposeString('recipient'),
    sender: t.exposeString('sender'),
    subject: t.exposeString('subject'),
    score: t.exposeFloat('score', { nullable: true, description: 'rspamd’s spam score' }),
    receivedAt: t.expose('receivedAt', { type: 'DateTime' }),
    sizeBytes: t.exposeInt('sizeBytes'),
    status: t.expose('status', { type: QuarantineStatusEnum }),
    releasedAt: t.expose('releasedAt', { type: 'DateTime', nullable: true }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true }),
    domain: t.relation('domain'),
    mailbox: t.relation('mailbox', { nullable: true }),
  }),
});

const QuarantineFilter = builder.inputType('QuarantineFilter', {
  fields: (t) => ({
    status: t.field({ type: QuarantineStatusEnum, required: false, description: 'Default HELD' }),
    search: t.string({ required: false, description: 'Part of the sender or subject' }),
  }),
});

function quarantineWhere(ctx: Context, filter: { status?: QuarantineStatus | null; search?: string | null } | null | undefined): Prisma.QuarantineItemWhereInput {
  const q = searchTerm(filter?.search, 200);
  return {
    AND: [
      tenantWhere.quarantineItem(ctx.viewer),
      { status: filter?.status ?? 'HELD' },
      q && 'contains' in q ? { OR: [{ sender: { contains: q.contains, mode: 'insensitive' } }, { subject: { contains: q.contains, mode: 'insensitive' } }] } : q ? { id: { in: [] } } : {},
    ],
  };
}

const ORDER = [{ receivedAt: 'desc' as const }, { id: 'desc' as const }];

builder.prismaObjectFields('Domain', (t) => ({
  quarantine: t.relatedConnection('quarantineItems', {
    cursor: 'id',
    totalCount: true,
    description: 'Messages held for this domain (a mailbox owner sees only its own), newest first.',
    args: { filter: t.arg({ type: QuarantineFilter, required: false }) },
    query: (args, ctx) => ({ where: quarantineWhere(ctx, args.filter), orderBy: ORDER }),
  }),
}));

builder.prismaObjectFields('Mailbox', (t) => ({
  quarantine: t.relatedConnection('quarantineItems', {
    cursor: 'id',
    totalCount: true,
    description: 'Messages held for this mailbox, newest first.',
    args: { filter: t.arg({ type: QuarantineFilter, required: false }) },
    query: (args, ctx) => ({ where: quarantineWhere(ctx, args.filter), orderBy: ORDER }),
  }),
}));

async function loadHeld(ctx: Context, tx: Tx, globalId: string | number) {
  const item = notFoundUnless(
    await tx.quarantineItem.findFirst({ where: { id: idOf(String(globalId), 'QuarantineItem'), ...tenantWhere.quarantineItem(ctx.viewer) }, include: { domain: true } }),
    'QuarantineItem',
  );
  if (item.status !== 'HELD') throw ValidationError.of('id', 'NOT_HELD', `This message was already ${item.status === 'DELETED' ? 'deleted' : 'released'}`);
  return item;
}

builder.mutationFields((t) => ({
  releaseQuarantined: t.field({
    type: QuarantineItem,
    description: 'Delivers a held message into its mailbox’s INBOX (status RELEASING, then RELEASED).',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'item' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) =>
      transaction(async (tx) => {
        const item = await loadHeld(ctx, tx, id);
        const updated = await tx.quarantineItem.update({ where: { id: item.id }, data: { status: 'RELEASING' } });
        await enqueue(ctx.boss, tx, 'quarantine-release', { itemId: item.id });
        await audit(tx, ctx, {
          action: 'quarantine.release',
          targetType: 'QuarantineItem',
          targetId: item.id,
          targetLabel: `${item.sender} → ${item.recipient}`,
          customerId: item.domain.customerId,
          details: { subject: item.subject },
        });
        return updated;
      }),
  }),
  deleteQuarantined: t.field({
    type: QuarantineItem,
    description: 'Deletes a held message for good.',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'item' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) =>
      transaction(async (tx) => {
        const item = await loadHeld(ctx, tx, id);
        const updated = await tx.quarantineItem.update({ where: { id: item.id }, data: { status: 'DELETED', deletedAt: new Date() } });
        await enqueue(ctx.boss, tx, 'quarantine-delete', { itemId: item.id });
        await audit(tx, ctx, {
          action: 'quarantine.delete',
          targetType: 'QuarantineItem',
          targetId: item.id,
          targetLabel: `${item.sender} → ${item.recipient}`,
          customerId: item.domain.customerId,
          details: { subject: item.subject },
        });
        return updated;
      }),
  }),
}));
