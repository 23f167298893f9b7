// Deleted mailboxes in their grace period (core/src/mailbox-deletion.ts): restoreMailbox brings one
// back as it was — its row was never changed but for deletedAt/purgeAt, so status, quota, password,
// app passwords, autoresponder and forwards pointing to it are all still there — after the package
// limits are checked as for a new mailbox; purgeMailbox (admins) ends the grace period at once.
import type { Tx } from '@mailpanel/core/db';
import { NotFoundError, ValidationError } from '@mailpanel/core/errors';
import { enqueue } from '@mailpanel/core/jobs';
import { beginPurge, DELETED_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import { publish } from '@mailpanel/core/pubsub';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import type { Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, lockCustomer, notFoundUnless, transaction } from '../mutation-helpers.js';
import { MAILBOX_COLUMNS } from './columns.js';
import { MUTATION_ERRORS } from './errors.js';
import { checkMailboxCount, checkQuotaBudget, Mailbox } from './mailbox.js';

/** A mailbox of the viewer's tenancy that is not being purged (deleted or not). */
async function loadRestorable(tx: Tx, ctx: Context, globalId: string) {
  const m = await tx.mailbox.findFirst({
    where: { id: idOf(globalId, 'Mailbox'), provisioning: { not: 'DELETING' }, ...tenantWhere.mailbox(ctx.viewer) },
    include: { domain: { include: { customer: { include: { package: true } } } }, autoresponder: true },
  });
  return notFoundUnless(m, 'Mailbox');
}

builder.prismaObjectField('Mailbox', 'deleteGraceDays', (t) =>
  t.int({
    description: "Days this mailbox could still be restored after a deletion (its package's deleteGraceDays); 0 = deleting it is immediate and final",
    select: { domain: { select: { customer: { select: { package: { select: { deleteGraceDays: true } } } } } } },
    resolve: (m) => m.domain.customer.package.deleteGraceDays,
  }),
);

builder.mutationFields((t) => ({
  restoreMailbox: t.field({
    type: Mailbox,
    description:
      'Brings a deleted mailbox back as it was before (status, quota, password, forwards, autoresponder, mail), if the package limits allow it. ' +
      'A mailbox that is not deleted is returned unchanged.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'mailbox' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      transaction(async (tx) => {
        const current = await loadRestorable(tx, ctx, String(args.id));
        if (!current.deletedAt) return current;
        const { customerId, customer } = current.domain;
        await lockCustomer(tx, customerId);
        await checkMailboxCount(tx, customerId, customer.package.maxMailboxes);
        await checkQuotaBudget(tx, customerId, customer.package.totalQuotaMb, current.quotaMb, current.id);
        // Compare-and-set: a purge (admin or schedule) that committed since the read wins.
        const restored = await tx.mailbox.updateMany({
          where: { id: current.id, ...DELETED_MAILBOX },
          // A provisioning run puts back what a mailbox needs on disk, should anything be missing.
          data: { deletedAt: null, purgeAt: null, provisioning: 'PENDING', provisioningError: null },
        });
        if (restored.count === 0) throw new NotFoundError('Mailbox');
        const mailbox = await tx.mailbox.findUniqueOrThrow({ where: { id: current.id }, select: MAILBOX_COLUMNS });
        await enqueue(ctx.boss, tx, 'provision-mailbox', { mailboxId: current.id });
        await publish(tx, 'mailbox:' + current.id, { id: current.id });
        await audit(tx, ctx, {
          action: 'mailbox.restore', targetType: 'Mailbox', targetId: current.id, targetLabel: current.address, customerId,
          details: { deletedAt: current.deletedAt.toISOString() },
        });
        return mailbox;
      }),
  }),

  purgeMailbox: t.field({
    type: 'ID',
    description: 'Admins: removes a deleted mailbox and all its mail now instead of at purgeAt; its address becomes free. Returns the id.',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'purgedId' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      transaction(async (tx) => {
        const id = idOf(String(args.id), 'Mailbox');
        const current = notFoundUnless(await tx.mailbox.findFirst({ where: { id, ...tenantWhere.mailbox(ctx.viewer) }, select: { address: true, customerId: true, deletedAt: true, provisioning: true } }), 'Mailbox');
        if (current.provisioning === 'DELETING') return String(args.id); // already on its way out
        if (!current.deletedAt) throw ValidationError.of('id', 'NOT_DELETED', 'Only a deleted mailbox can be purged; delete it first');
        // Compare-and-set: a restore that committed since the read wins.
        const mine = await tx.mailbox.updateMany({ where: { id, ...DELETED_MAILBOX }, data: { provisioning: 'DELETING' } });
        if (mine.count === 0) throw ValidationError.of('id', 'NOT_DELETED', 'The mailbox was restored meanwhile');
        await beginPurge(ctx.boss, tx, id);
        await audit(tx, ctx, { action: 'mailbox.purge', targetType: 'Mailbox', targetId: id, targetLabel: current.address, customerId: current.customerId });
        return String(args.id);
      }),
  }),
}));

