import { FieldErrors, ValidationError } from '@mailpanel/core/errors';
import { renderVacationSieve, SieveRenderError, type SieveRenderErrorCode } from '@mailpanel/core/render/sieve';
import { enqueue } from '@mailpanel/core/jobs';
import { LIVE_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import { checkText, LIMITS } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, notFoundUnless, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';
import { MAILBOX_COLUMNS } from './columns.js';
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

// Text the Sieve renderer cannot encode (UTF-8) must be refused here, as a field error.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const SIEVE_CODE: Record<SieveRenderErrorCode, string> = {
  NUL: 'INVALID_CHARACTERS',
  INVALID_UNICODE: 'INVALID_CHARACTERS',
  NEWLINE: 'INVALID_CHARACTERS',
  TOO_LONG: 'TOO_LONG',
  EMPTY: 'REQUIRED',
  INVALID: 'INVALID',
};
const INPUT_FIELDS = new Set(['subject', 'message', 'startsAt', 'endsAt']);

/**
 * The worker renders this autoresponder into a Sieve script (core/src/render/sieve.ts); whatever
 * that renderer refuses must be refused now, as a field error, never fail later in the worker.
 * The checks above give the precise messages; this renders the script once as the last word.
 */
function assertRenderable(input: Parameters<typeof renderVacationSieve>[0]): void {
  try {
    renderVacationSieve(input);
  } catch (e) {
    if (!(e instanceof SieveRenderError)) throw e;
    const field = INPUT_FIELDS.has(e.field) ? e.field : 'input';
    throw ValidationError.of(field, SIEVE_CODE[e.code], `The autoresponder cannot be used: ${e.message}`);
  }
}

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
      for (const [field, value, label] of [['subject', subject, 'Subject'], ['message', message, 'Message']] as const)
        if (LONE_SURROGATE.test(value) && !errors.has(field)) errors.add(field, 'INVALID_CHARACTERS', `${label} contains an invalid character (a lone UTF-16 surrogate)`);
      for (const [field, value] of [['startsAt', input.startsAt], ['endsAt', input.endsAt]] as const) {
        const year = value?.getUTCFullYear();
        if (year !== undefined && (year < 1970 || year > 9999)) errors.add(field, 'OUT_OF_RANGE', 'The date must be between 1970 and 9999 (UTC)');
      }
      if (input.startsAt && input.endsAt && input.endsAt <= input.startsAt) errors.add('endsAt', 'BEFORE_START', 'The end must be after the start');
      errors.throwIfAny();
      return transaction(async (tx) => {
        const mailbox = notFoundUnless(
          await tx.mailbox.findFirst({
            where: { id: idOf(String(mailboxId), 'Mailbox'), ...LIVE_MAILBOX, ...tenantWhere.mailbox(ctx.viewer) },
            include: { domain: true },
          }),
          'Mailbox',
        );
        const data = { enabled: input.enabled, subject, message, startsAt: input.startsAt ?? null, endsAt: input.endsAt ?? null };
        assertRenderable({ ...data, address: mailbox.address });
        await tx.autoresponder.upsert({ where: { mailboxId: mailbox.id }, create: { mailboxId: mailbox.id, ...data }, update: data });
        // provision-mailbox brings the on-disk state (Maildir, Sieve script) in line with the rows;
        // PENDING until it has (READY then tells the panel the autoresponder is in force).
        await tx.mailbox.update({ where: { id: mailbox.id }, data: { provisioning: 'PENDING', provisioningError: null } });
        await enqueue(ctx.boss, tx, 'provision-mailbox', { mailboxId: mailbox.id });
        await audit(tx, ctx, {
          action: 'autoresponder.set', targetType: 'Mailbox', targetId: mailbox.id, targetLabel: mailbox.address,
          customerId: mailbox.domain.customerId, details: { enabled: data.enabled, startsAt: data.startsAt, endsAt: data.endsAt },
        });
        return tx.mailbox.findUniqueOrThrow({ where: { id: mailbox.id }, select: MAILBOX_COLUMNS });
      });
    },
  }),
}));
