// App passwords: passwords for mail clients, per mailbox, each limited to the services it names, shown
// once. Dovecot's passdb (dovecot-sql.conf.ext, view mail_app_passwords) picks the one whose sha256 is
// the typed password's and verifies its argon2 hash; a revoked one is refused at the next login
// (no auth cache), and the mailbox's open sessions are ended. "Mail clients need app passwords"
// (appPasswordsOnly) leaves the mailbox's own password to the panel, where two-factor login guards it.
import { randomBytes } from 'node:crypto';
import { db } from '@mailpanel/core/db';
import { FieldErrors, LimitExceededError, ValidationError } from '@mailpanel/core/errors';
import { hashPassword } from '@mailpanel/core/crypto/password';
import { sha256 } from '@mailpanel/core/crypto/tokens';
import { checkText } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { idOf, notFoundUnless, selection, transaction } from '../mutation-helpers.js';
import { tenantWhere } from '../tenancy.js';
import { MUTATION_ERRORS } from './errors.js';
import { endSessionsAfterCommit, loadMailbox, Mailbox } from './mailbox.js';

/** Open app passwords one mailbox may have. */
export const MAX_APP_PASSWORDS = 20;
const SERVICES = ['IMAP', 'POP3', 'SMTP', 'SIEVE'] as const;
type Service = (typeof SERVICES)[number];

const ScopeEnum = builder.enumType('AppPasswordScope', {
  values: SERVICES,
  description: 'IMAP and POP3: reading mail. SMTP: sending (submission, SMTP AUTH). SIEVE: ManageSieve (filter rules).',
});

const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
/** "k7m2p-9xq4t-…": 20 characters of an alphabet without look-alikes (about 99 bits), easy to type into a phone. */
function newAppPassword(): string {
  const chars = [...randomBytes(20)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
  return chars.match(/.{5}/g)!.join('-');
}

builder.prismaNode('AppPassword', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, mailbox: tenantWhere.mailbox(ctx.viewer) }) as never,
  fields: (t) => ({
    name: t.exposeString('name'),
    scopes: t.field({ type: [ScopeEnum], resolve: (a) => a.scopes.map((s) => s.toUpperCase() as Service) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Its last successful mail login (reported by Dovecot: DOVECOT_AUTH_POLICY_SECRET); null before the first',
    }),
    mailbox: t.relation('mailbox'),
  }),
});

builder.prismaObjectFields('Mailbox', (t) => ({
  appPasswords: t.relation('appPasswords', {
    description: 'Its app passwords, open ones first, newest first (revoked ones stay listed).',
    query: { orderBy: [{ revokedAt: { sort: 'desc', nulls: 'first' } }, { createdAt: 'desc' }] },
  }),
  appPasswordsOnly: t.exposeBoolean('appPasswordsOnly', { description: 'Mail clients need app passwords: its own password opens only the panel.' }),
}));

const Created = builder.objectRef<{ appPassword: { id: string }; password: string }>('CreatedAppPassword').implement({
  fields: (t) => ({
    appPassword: t.prismaField({ type: 'AppPassword', resolve: (q, c) => db().appPassword.findUniqueOrThrow({ ...q, where: { id: c.appPassword.id } }) }),
    password: t.exposeString('password', { description: 'Shown once; type it into the mail client as the password.' }),
  }),
});

builder.mutationFields((t) => ({
  createAppPassword: t.field({
    type: Created,
    description: 'A new password for a mail client, limited to the given services; the password is in this answer only.',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'created' } },
    args: {
      mailboxId: t.arg.id({ required: true }),
      name: t.arg.string({ required: true, description: 'What it is for, e.g. "Phone" or "Thunderbird at home"' }),
      scopes: t.arg({ type: [ScopeEnum], required: true }),
    },
    resolve: async (_r, args, ctx) => {
      const errors = new FieldErrors();
      checkText(errors, 'name', args.name, { min: 1, max: 60, singleLine: true, label: 'Name' });
      const scopes = [...new Set(args.scopes)].map((s) => s.toLowerCase());
      if (scopes.length === 0) errors.add('scopes', 'REQUIRED', 'Choose at least one service');
      errors.throwIfAny();
      const password = newAppPassword();
      const passwordHash = await hashPassword(password);
      return transaction(async (tx) => {
        const mailbox = await loadMailbox(tx, ctx, String(args.mailboxId));
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`app-passwords:${mailbox.id}`}))`;
        if ((await tx.appPassword.count({ where: { mailboxId: mailbox.id, revokedAt: null } })) >= MAX_APP_PASSWORDS)
          throw new LimitExceededError('appPasswords', MAX_APP_PASSWORDS, `A mailbox has at most ${MAX_APP_PASSWORDS} app passwords; revoke one first`, 'name');
        const created = await tx.appPassword.create({ data: { mailboxId: mailbox.id, name: args.name.trim(), scopes, passwordHash, lookupHash: sha256(password) } });
        await audit(tx, ctx, {
          action: 'app_password.create', targetType: 'Mailbox', targetId: mailbox.id, targetLabel: mailbox.address, customerId: mailbox.domain.customerId,
          details: { name: created.name, scopes },
        });
        return { appPassword: { id: created.id }, password };
      });
    },
  }),

  revokeAppPassword: t.prismaField({
    type: 'AppPassword',
    description: 'Stops an app password at once: the next login with it is refused, and the mailbox’s open mail sessions are ended.',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'appPassword' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _r, args, ctx) =>
      transaction(async (tx) => {
        const ap = notFoundUnless(
          await tx.appPassword.findFirst({ where: { id: idOf(String(args.id), 'AppPassword'), mailbox: tenantWhere.mailbox(ctx.viewer) }, include: { mailbox: { include: { domain: true } } } }),
          'AppPassword',
        );
        if (ap.revokedAt) throw ValidationError.of('id', 'ALREADY_REVOKED', 'This app password was revoked already');
        const revoked = await tx.appPassword.update({ ...selection(query), where: { id: ap.id }, data: { revokedAt: new Date() } });
        await endSessionsAfterCommit(tx, ctx, ap.mailboxId);
        await audit(tx, ctx, {
          action: 'app_password.revoke', targetType: 'Mailbox', targetId: ap.mailboxId, targetLabel: ap.mailbox.address, customerId: ap.mailbox.domain.customerId,
          details: { name: ap.name },
        });
        return revoked;
      }),
  }),

  setAppPasswordsOnly: t.prismaField({
    type: Mailbox,
    description:
      'Mail clients need app passwords: the mailbox’s own password stops working for IMAP, POP3, SMTP and ManageSieve (it still opens the panel, so two-factor login must be on for the mailbox). Open mail sessions are ended.',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'mailbox' } },
    args: { mailboxId: t.arg.id({ required: true }), enabled: t.arg.boolean({ required: true }) },
    resolve: (query, _r, args, ctx) =>
      transaction(async (tx) => {
        const mailbox = await loadMailbox(tx, ctx, String(args.mailboxId));
        if (args.enabled && !(await tx.twoFactor.findFirst({ where: { mailboxId: mailbox.id, enabledAt: { not: null } } })))
          throw ValidationError.of(
            'enabled',
            'TWO_FACTOR_REQUIRED',
            'Turn on two-factor login for this mailbox first: its password then opens only the panel, and there the second factor guards it',
          );
        const updated = await tx.mailbox.update({ ...selection(query), where: { id: mailbox.id }, data: { appPasswordsOnly: args.enabled } });
        if (args.enabled && !mailbox.appPasswordsOnly) await endSessionsAfterCommit(tx, ctx, mailbox.id);
        await audit(tx, ctx, {
          action: 'mailbox.app_passwords_only', targetType: 'Mailbox', targetId: mailbox.id, targetLabel: mailbox.address, customerId: mailbox.domain.customerId,
          details: { enabled: args.enabled },
        });
        return updated;
      }),
  }),
}));
