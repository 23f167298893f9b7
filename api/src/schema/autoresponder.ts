import { FieldErrors } from '@mailpanel/core/errors';
import { enqueue } from '@mailpanel/core/jobs';
import { checkText, LIMITS } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, notFoundUnless, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';
import { autoresponderActive, Mailbox } from './mailbox.js';

builder.prismaObject('Autoresponder', {
  fields: (t) => ({
    enabled: t.exposeBoolean('enabled'),
    active: t.boolean({ description: 'Enabled and inside its date window now', resolve: (a) => autoresponderActive(a) }),
    subject: t.exposeString('subject'),
    message: t.exposeString('message'),
    startsAt: t.expose('startsAt', { type: 'DateTime', nullable: true }),
    endsAt: t.expose('endsAt', { type: 'DateTime', nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const AutoresponderInput = builder.inputType('AutoresponderInput', {
  fields: (t) => ({
    enabled: t.boolean({ required: true }),
    subject: t.string({ required: true }),
    message: t.string({ required: true }),
    startsAt: t.field({ type: 'DateTime', required: false }),
    endsAt: t.field({ type: 'DateTime', required: false }),
  }),
});

builder.mutationFields((t) => ({
  setAutoresponder: t.field({
    type: Mailbox,
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'mailbox' } },
    args: { mailboxId: t.arg.id({ required: true }), input: t.arg({ type: AutoresponderInput, required: true }) },
    resolve: (_root, { mailboxId, input }, ctx) => {
      const errors = new FieldErrors();
      const subject = checkText(errors, 'subject', input.subject.trim(), {
        max: LIMITS.subject, singleLine: true, min: input.enabled ? 1 : undefined, label: 'Subject',
      });
      const message = checkText(errors, 'message', input.message, { max: LIMITS.message, min: input.enabled ? 1 : undefined, label: 'Message' });
      if (input.startsAt && input.endsAt && input.endsAt <= input.startsAt) errors.add('endsAt', 'BEFORE_START', 'The end must be after the start');
      errors.throwIfAny();
      return transaction(async (tx) => {
        const mailbox = notFoundUnless(
          await tx.mailbox.findFirst({
            where: { id: idOf(String(mailboxId), 'Mailbox'), provisioning: { not: 'DELETING' }, ...tenantWhere.mailbox(ctx.viewer) },
            include: { domain: true },
          }),
          'Mailbox',
        );
        const data = { enabled: input.enabled, subject, message, startsAt: input.startsAt ?? null, endsAt: input.endsAt ?? null };
        await tx.autoresponder.upsert({ where: { mailboxId: mailbox.id }, create: { mailboxId: mailbox.id, ...data }, update: data });
        // provision-mailbox brings the on-disk state (Maildir, Sieve script) in line with the rows.
        await enqueue(ctx.boss, tx, 'provision-mailbox', { mailboxId: mailbox.id });
        await audit(tx, ctx, {
          action: 'autoresponder.set', targetType: 'Mailbox', targetId: mailbox.id, targetLabel: mailbox.address,
          customerId: mailbox.domain.customerId, details: { enabled: data.enabled, startsAt: data.startsAt, endsAt: data.endsAt },
        });
        return tx.mailbox.findUniqueOrThrow({ where: { id: mailbox.id } });
      });
    },
  }),
}));
