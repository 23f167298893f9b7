// Two-factor logins in the API: the login's second step, enrolment (also as a required first step
// of a login), turning it off, new recovery codes, the administrators' reset and who must use it.
// What a code is and how it is checked: auth/two-factor.ts.
import { db } from '@mailpanel/core/db';
import { AuthenticationError, FieldErrors, NotFoundError, TooManyAttemptsError, ValidationError } from '@mailpanel/core/errors';
import { checkText } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { isPersonLogin, type Context, type PersonViewer } from '../context.js';
import { decodeId } from '../global-id.js';
import { completeLogin, FailedLoginError, SecondFactorRequiredError, TwoFactorEnrolmentRequiredError, withChallenge } from '../auth/session.js';
import { deliverSession, type IssuedSession } from '../session-cookie.js';
import {
  consumeCode,
  encryptTotpSecret,
  findTwoFactor,
  newSecret,
  otpauthUri,
  ownerOf,
  replaceRecoveryCodes,
  twoFactorRequired,
  verifyChallenge,
  type Owner,
} from '../auth/two-factor.js';
import { transaction } from '../mutation-helpers.js';
import { ErrorInterface, MUTATION_ERRORS } from './errors.js';
import { SessionRef, throttle, ViewerRef } from './session.js';

for (const [cls, name, description] of [
  [SecondFactorRequiredError, 'SecondFactorRequired', 'The password was right; finish the login with completeLogin(challenge, code) within the challenge’s lifetime.'],
  [TwoFactorEnrolmentRequiredError, 'TwoFactorEnrolmentRequired', 'The password was right, but this account must use two-factor login: startTwoFactorEnrolment(challenge), then confirmTwoFactorEnrolment(code, challenge).'],
] as const) {
  builder.objectType(cls, {
    name,
    description,
    interfaces: [ErrorInterface],
    isTypeOf: (e) => e instanceof cls,
    fields: (t) => ({
      challenge: t.exposeString('challenge', { description: 'Short-lived; it proves the password step, nothing more.' }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    }),
  });
}

type Person = PersonViewer;

/** The signed-in person (a panel login, not an API token: a second factor guards a person's login). */
function person(ctx: Context): Person {
  const v = ctx.viewer;
  if (isPersonLogin(v)) return v;
  throw new AuthenticationError('Two-factor settings belong to a person’s panel login, not to an API token');
}

const target = (o: Owner) => ('userId' in o ? { targetType: 'User', targetId: o.userId } : { targetType: 'Mailbox', targetId: o.mailboxId });

async function ownerLabel(o: Owner): Promise<{ label: string; customerId: string | null }> {
  if ('userId' in o) {
    const u = await db().user.findUnique({ where: { id: o.userId } });
    return { label: u?.email ?? '', customerId: u?.customerId ?? null };
  }
  const m = await db().mailbox.findUnique({ where: { id: o.mailboxId }, include: { domain: true } });
  return { label: m?.address ?? '', customerId: m?.domain.customerId ?? null };
}

const CODE_HINT = 'That code is not right. Enter the 6 digits your app shows now (check the phone’s clock).';
function checkCode(code: string, field = 'code') {
  const errors = new FieldErrors();
  checkText(errors, field, code, { min: 1, max: 40, singleLine: true, label: 'Code' });
  errors.throwIfAny();
}

// --- types ----------------------------------------------------------------------------------------

interface Status {
  owner: Owner;
  customerId: string | null;
}
const TwoFactorStatus = builder.objectRef<Status>('TwoFactorStatus').implement({
  description: 'The signed-in person’s two-factor login.',
  fields: (t) => ({
    enabled: t.boolean({ resolve: async (s) => !!(await findTwoFactor(s.owner))?.enabledAt }),
    enabledAt: t.field({ type: 'DateTime', nullable: true, resolve: async (s) => (await findTwoFactor(s.owner))?.enabledAt ?? null }),
    recoveryCodesLeft: t.int({
      resolve: async (s) => {
        const tf = await findTwoFactor(s.owner);
        return tf?.enabledAt ? db().twoFactorRecoveryCode.count({ where: { twoFactorId: tf.id, usedAt: null } }) : 0;
      },
    }),
    required: t.boolean({ description: 'An administrator requires it for this account.', resolve: (s) => twoFactorRequired(s.customerId) }),
  }),
});

const Enrolment = builder.objectRef<{ secret: string; otpauthUri: string }>('TwoFactorEnrolment').implement({
  description: 'Shown once: put it into an authenticator app (the QR code carries otpauthUri), then confirm with a code.',
  fields: (t) => ({ secret: t.exposeString('secret'), otpauthUri: t.exposeString('otpauthUri') }),
});

const Enabled = builder.objectRef<{ recoveryCodes: string[]; session: IssuedSession | null }>('TwoFactorEnabled').implement({
  fields: (t) => ({
    recoveryCodes: t.exposeStringList('recoveryCodes', { description: 'Ten one-time codes for when the phone is lost. Shown once.' }),
    session: t.field({ type: SessionRef, nullable: true, description: 'The login, when the enrolment was its required first step.', resolve: (e) => e.session }),
  }),
});

const RecoveryCodes = builder.objectRef<{ recoveryCodes: string[] }>('TwoFactorRecoveryCodes').implement({
  fields: (t) => ({ recoveryCodes: t.exposeStringList('recoveryCodes', { description: 'Shown once; the old codes no longer work.' }) }),
});

const PanelSettings = builder.objectRef<{ requireTwoFactor: boolean }>('PanelSettings').implement({
  fields: (t) => ({ requireTwoFactor: t.exposeBoolean('requireTwoFactor', { description: 'Every panel login must use a second factor.' }) }),
});

builder.objectFields(ViewerRef, (t) => ({
  twoFactor: t.field({
    type: TwoFactorStatus,
    nullable: true,
    description: 'null for an API token',
    resolve: (v) => (isPersonLogin(v) ? { owner: ownerOf(v), customerId: v.customerId } : null),
  }),
}));

const enabledFor = (where: Owner) => async () => !!(await db().twoFactor.findFirst({ where: { ...where, enabledAt: { not: null } }, select: { id: true } }));
builder.prismaObjectFields('User', (t) => ({
  twoFactorEnabled: t.boolean({ select: { id: true }, resolve: (u) => enabledFor({ userId: u.id })() }),
}));
builder.prismaObjectFields('Mailbox', (t) => ({
  twoFactorEnabled: t.boolean({ select: { id: true }, resolve: (m) => enabledFor({ mailboxId: m.id })() }),
}));
builder.prismaObjectFields('Customer', (t) => ({
  requireTwoFactor: t.exposeBoolean('requireTwoFactor', { description: 'Its users and mailbox owners must log in with a second factor.' }),
}));

builder.queryFields((t) => ({
  panelSettings: t.field({
    type: PanelSettings,
    authScopes: { admin: true },
    resolve: async () => (await db().panelSettings.findUnique({ where: { id: true } })) ?? { requireTwoFactor: false },
  }),
}));

// --- mutations ------------------------------------------------------------------------------------

/** Starts (or restarts) an enrolment: a new secret, not in force until confirmed with a code. */
async function startEnrolment(ctx: Context, owner: Owner): Promise<{ secret: string; otpauthUri: string }> {
  const current = await findTwoFactor(owner);
  if (current?.enabledAt) throw ValidationError.of('code', 'ALREADY_ENABLED', 'Two-factor login is already on; turn it off first to set up another app');
  const secret = newSecret();
  const who = await ownerLabel(owner);
  await transaction(async (tx) => {
    await tx.twoFactor.deleteMany({ where: owner });
    await tx.twoFactor.create({ data: { ...owner, secretEncrypted: encryptTotpSecret(secret) } });
    await audit(tx, ctx, { action: 'two_factor.enrol_start', ...target(owner), targetLabel: who.label, customerId: who.customerId });
  });
  return { secret, otpauthUri: otpauthUri(secret, who.label) };
}

/** Puts a confirmed enrolment in force with fresh recovery codes. */
async function enable(ctx: Context, owner: Owner): Promise<string[]> {
  const who = await ownerLabel(owner);
  return transaction(async (tx) => {
    const tf = await tx.twoFactor.update({ where: 'userId' in owner ? { userId: owner.userId } : { mailboxId: owner.mailboxId }, data: { enabledAt: new Date() } });
    const codes = await replaceRecoveryCodes(tf.id, tx);
    await audit(tx, ctx, { action: 'two_factor.enable', ...target(owner), targetLabel: who.label, customerId: who.customerId });
    return codes;
  });
}

builder.mutationFields((t) => ({
  completeLogin: t.field({
    type: SessionRef,
    description: 'The second step of a login: the 6-digit code of the authenticator app, or one of the recovery codes (each works once).',
    errors: { types: [AuthenticationError, TooManyAttemptsError, ValidationError], dataField: { name: 'session' } },
    args: { challenge: t.arg.string({ required: true }), code: t.arg.string({ required: true }) },
    resolve: async (_r, args, ctx) => {
      checkCode(args.code);
      try {
        const { result, session, subject } = await completeLogin(throttle, args.challenge, args.code, { ip: ctx.clientIp, userAgent: ctx.userAgent });
        const who = await ownerLabel(ownerOf(subject as Person));
        await audit(db(), { ...ctx, viewer: subject }, {
          action: 'session.login', ...target(ownerOf(subject as Person)), targetLabel: who.label, customerId: who.customerId,
          details: { secondFactor: result },
        });
        if (result === 'recovery')
          await audit(db(), { ...ctx, viewer: subject }, { action: 'two_factor.recovery_code_used', ...target(ownerOf(subject as Person)), targetLabel: who.label, customerId: who.customerId });
        return deliverSession(ctx.sessionCookie, session);
      } catch (err) {
        if (err instanceof FailedLoginError) {
          const owner = await verifyChallenge(args.challenge, 'code');
          const who = owner ? await ownerLabel(owner) : { label: '', customerId: null };
          await audit(db(), ctx, { action: 'session.login_failed', targetType: 'Login', targetLabel: who.label, details: { reason: 'wrong second-factor code' } });
          if (err.outcome.lockedScope)
            await audit(db(), ctx, { action: 'session.login_throttled', targetType: 'Login', targetLabel: who.label, details: { refused: err.outcome.lockedScope } });
          throw new AuthenticationError(CODE_HINT);
        }
        throw err;
      }
    },
  }),

  startTwoFactorEnrolment: t.field({
    type: Enrolment,
    description: 'Makes a new secret for the signed-in person, or — with the challenge of a login that requires two-factor — for that login. Not in force until confirmTwoFactorEnrolment.',
    errors: { types: [AuthenticationError, ValidationError], dataField: { name: 'enrolment' } },
    args: { challenge: t.arg.string({ required: false }) },
    resolve: async (_r, args, ctx) => {
      if (args.challenge != null) {
        const owner = await verifyChallenge(args.challenge, 'enrol');
        if (!owner) throw new AuthenticationError('This login step has expired; log in again');
        return startEnrolment(ctx, owner);
      }
      return startEnrolment(ctx, ownerOf(person(ctx)));
    },
  }),

  confirmTwoFactorEnrolment: t.field({
    type: Enabled,
    description: 'Turns two-factor login on with a code from the app; answers the ten recovery codes (once) and, in a login’s enrolment, the session.',
    errors: { types: [AuthenticationError, TooManyAttemptsError, ValidationError], dataField: { name: 'enabled' } },
    args: { code: t.arg.string({ required: true }), challenge: t.arg.string({ required: false }) },
    resolve: async (_r, args, ctx) => {
      checkCode(args.code);
      if (args.challenge != null) {
        const outcome = await withChallenge(throttle, args.challenge, 'enrol', { ip: ctx.clientIp, userAgent: ctx.userAgent }, (owner) => consumeCode(owner, args.code, { pending: true })).catch((err) => {
          throw err instanceof FailedLoginError ? ValidationError.of('code', 'WRONG_CODE', CODE_HINT) : err;
        });
        const owner = ownerOf(outcome.subject as Person);
        const recoveryCodes = await enable({ ...ctx, viewer: outcome.subject }, owner);
        const who = await ownerLabel(owner);
        await audit(db(), { ...ctx, viewer: outcome.subject }, { action: 'session.login', ...target(owner), targetLabel: who.label, customerId: who.customerId, details: { secondFactor: 'enrolled' } });
        return { recoveryCodes, session: deliverSession(ctx.sessionCookie, outcome.session) };
      }
      const owner = ownerOf(person(ctx));
      if (!(await consumeCode(owner, args.code, { pending: true }))) throw ValidationError.of('code', 'WRONG_CODE', CODE_HINT);
      return { recoveryCodes: await enable(ctx, owner), session: null };
    },
  }),

  disableTwoFactor: t.boolean({
    description: 'Turns the signed-in person’s two-factor login off, with a current code (or a recovery code).',
    authScopes: { personLogin: true },
    errors: { types: [ValidationError], dataField: { name: 'disabled' } },
    args: { code: t.arg.string({ required: true }) },
    resolve: async (_r, args, ctx) => {
      checkCode(args.code);
      const p = person(ctx);
      const owner = ownerOf(p);
      if (!(await findTwoFactor(owner))?.enabledAt) throw ValidationError.of('code', 'NOT_ENABLED', 'Two-factor login is off');
      if (await twoFactorRequired(p.customerId))
        throw ValidationError.of('code', 'REQUIRED', 'Two-factor login is required for your account. An administrator can reset it if the phone is lost.');
      if (!(await consumeCode(owner, args.code))) throw ValidationError.of('code', 'WRONG_CODE', CODE_HINT);
      const who = await ownerLabel(owner);
      await transaction(async (tx) => {
        await tx.twoFactor.deleteMany({ where: owner });
        await audit(tx, ctx, { action: 'two_factor.disable', ...target(owner), targetLabel: who.label, customerId: who.customerId });
      });
      return true;
    },
  }),

  regenerateRecoveryCodes: t.field({
    type: RecoveryCodes,
    description: 'Ten new recovery codes (the old ones stop working), with a current code.',
    authScopes: { personLogin: true },
    errors: { types: [ValidationError], dataField: { name: 'codes' } },
    args: { code: t.arg.string({ required: true }) },
    resolve: async (_r, args, ctx) => {
      checkCode(args.code);
      const owner = ownerOf(person(ctx));
      const tf = await findTwoFactor(owner);
      if (!tf?.enabledAt) throw ValidationError.of('code', 'NOT_ENABLED', 'Two-factor login is off');
      if (!(await consumeCode(owner, args.code))) throw ValidationError.of('code', 'WRONG_CODE', CODE_HINT);
      const who = await ownerLabel(owner);
      return transaction(async (tx) => {
        const recoveryCodes = await replaceRecoveryCodes(tf.id, tx);
        await audit(tx, ctx, { action: 'two_factor.recovery_codes_regenerated', ...target(owner), targetLabel: who.label, customerId: who.customerId });
        return { recoveryCodes };
      });
    },
  }),

  resetTwoFactor: t.field({
    type: 'ID',
    description: 'Administrators: removes a user’s or mailbox owner’s second factor (a lost phone). If it is required, they set it up again at their next login.',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'resetId' } },
    args: { id: t.arg.id({ required: true, description: 'A User or Mailbox id' }) },
    resolve: async (_r, args, ctx) => {
      const { typename, id } = decodeId(String(args.id));
      const owner: Owner | null = typename === 'User' ? { userId: id } : typename === 'Mailbox' ? { mailboxId: id } : null;
      if (!owner) throw new NotFoundError('User');
      const who = await ownerLabel(owner);
      if (!who.label) throw new NotFoundError(typename);
      return transaction(async (tx) => {
        const removed = await tx.twoFactor.deleteMany({ where: owner });
        if (removed.count === 0) throw ValidationError.of('id', 'NOT_ENABLED', `${who.label} has no two-factor login to reset`);
        await audit(tx, ctx, { action: 'two_factor.reset', ...target(owner), targetLabel: who.label, customerId: who.customerId });
        return String(args.id);
      });
    },
  }),

  setTwoFactorRequirement: t.field({
    type: PanelSettings,
    description: 'Administrators: requires a second factor for every panel login (without customerId) or for one customer’s users and mailbox owners. Those without one set it up at their next login.',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'settings' } },
    args: { required: t.arg.boolean({ required: true }), customerId: t.arg.id({ required: false }) },
    resolve: async (_r, args, ctx) => {
      if (args.customerId != null) {
        const { typename, id } = decodeId(String(args.customerId));
        const customer = typename === 'Customer' ? await db().customer.findUnique({ where: { id } }) : null;
        if (!customer) throw new NotFoundError('Customer');
        await transaction(async (tx) => {
          await tx.customer.update({ where: { id }, data: { requireTwoFactor: args.required } });
          await audit(tx, ctx, { action: 'two_factor.requirement', targetType: 'Customer', targetId: id, targetLabel: customer.name, customerId: id, details: { required: args.required } });
        });
      } else {
        await transaction(async (tx) => {
          await tx.panelSettings.upsert({ where: { id: true }, create: { requireTwoFactor: args.required }, update: { requireTwoFactor: args.required } });
          await audit(tx, ctx, { action: 'two_factor.requirement', targetType: 'Panel', targetLabel: 'every panel login', details: { required: args.required } });
        });
      }
      return (await db().panelSettings.findUnique({ where: { id: true } })) ?? { requireTwoFactor: false };
    },
  }),
}));
