import { db } from '@mailpanel/core/db';
import { AuthenticationError, FieldErrors, TooManyAttemptsError, ValidationError } from '@mailpanel/core/errors';
import { checkText, LIMITS } from '@mailpanel/core/validation';
import { GraphQLError } from 'graphql';
import { builder } from '../builder.js';
import { LoginThrottle } from '../auth/login-throttle.js';
import {
  FailedLoginError,
  login,
  logout,
  refresh,
  RefreshTokenReuseError,
  SecondFactorRequiredError,
  TwoFactorEnrolmentRequiredError,
} from '../auth/session.js';
import { audit } from '../audit.js';
import { clearSessionCookie, deliverSession, SESSION_COOKIE_HEADER, type IssuedSession } from '../session-cookie.js';
import type { Viewer } from '../context.js';

const ViewerKind = builder.enumType('ViewerKind', { values: ['ADMIN', 'CUSTOMER', 'MAILBOX'] as const });

export const ViewerRef = builder.objectRef<Exclude<Viewer, { kind: 'anonymous' }>>('Viewer').implement({
  description: 'Who is logged in.',
  fields: (t) => ({
    kind: t.field({ type: ViewerKind, resolve: (v) => (v.kind === 'mailbox' ? 'MAILBOX' : v.role) }),
    label: t.exposeString('label'),
    readOnly: t.boolean({ resolve: (v) => v.kind === 'user' && v.access === 'READ_ONLY' }),
    user: t.prismaField({
      type: 'User',
      nullable: true,
      resolve: (query, v) => (v.kind === 'user' ? db().user.findUnique({ ...query, where: { id: v.userId } }) : null),
    }),
    mailbox: t.prismaField({
      type: 'Mailbox',
      nullable: true,
      resolve: (query, v) => (v.kind === 'mailbox' ? db().mailbox.findUnique({ ...query, where: { id: v.mailboxId } }) : null),
    }),
    customer: t.prismaField({
      type: 'Customer',
      nullable: true,
      resolve: (query, v) => (v.customerId ? db().customer.findUnique({ ...query, where: { id: v.customerId } }) : null),
    }),
  }),
});

export const SessionRef = builder.objectRef<IssuedSession>('Session').implement({
  description: 'Send accessToken as "Authorization: Bearer …"; trade refreshToken for a new pair before the access token expires.',
  fields: (t) => ({
    accessToken: t.exposeString('accessToken'),
    accessTokenExpiresAt: t.expose('accessTokenExpiresAt', { type: 'DateTime' }),
    refreshToken: t.exposeString('refreshToken', {
      nullable: true,
      description: `null when the request carried "${SESSION_COOKIE_HEADER}: 1" (the panel): the refresh token then travels only in an HttpOnly cookie, out of reach of scripts. Without that header it is always here.`,
    }),
    refreshTokenExpiresAt: t.expose('refreshTokenExpiresAt', { type: 'DateTime' }),
    viewer: t.field({ type: ViewerRef, resolve: (s) => s.viewer }),
  }),
});

const NO_SESSION = 'Not logged in: no refresh token was presented';

/** The one login throttle: passwords and second-factor codes count toward the same limits. */
export const throttle = new LoginThrottle();

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    nullable: true,
    description: 'null without a token; a revoked, expired or malformed token is an UNAUTHENTICATED error, as on every other field.',
    resolve: (_r, _a, ctx) => {
      if (ctx.authError) throw new GraphQLError(ctx.authError, { extensions: { code: 'UNAUTHENTICATED', http: { status: 200 } } });
      return ctx.viewer.kind === 'anonymous' ? null : ctx.viewer;
    },
  }),
}));

builder.mutationFields((t) => ({
  login: t.field({
    type: SessionRef,
    description:
      'Panel users log in with their e-mail; mailbox owners with the mailbox address and its password. With two-factor login on, the answer is SecondFactorRequired (complete it with completeLogin) or, where two-factor login is required but not set up, TwoFactorEnrolmentRequired (startTwoFactorEnrolment, then confirmTwoFactorEnrolment).',
    errors: {
      types: [SecondFactorRequiredError, TwoFactorEnrolmentRequiredError, AuthenticationError, TooManyAttemptsError, ValidationError],
      dataField: { name: 'session' },
    },
    args: { email: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const errors = new FieldErrors();
      checkText(errors, 'email', args.email, { min: 1, max: LIMITS.address, singleLine: true, label: 'E-mail address' });
      checkText(errors, 'password', args.password, { min: 1, max: LIMITS.password.max, label: 'Password' });
      errors.throwIfAny();
      const attempted = args.email.trim().toLowerCase();
      try {
        const session = await login(throttle, args.email, args.password, { ip: ctx.clientIp, userAgent: ctx.userAgent });
        const v = session.viewer;
        await audit(db(), { ...ctx, viewer: v }, {
          action: 'session.login',
          targetType: v.kind === 'user' ? 'User' : 'Mailbox',
          targetId: v.kind === 'user' ? v.userId : v.mailboxId,
          targetLabel: v.label,
          customerId: v.customerId,
        });
        return deliverSession(ctx.sessionCookie, session);
      } catch (err) {
        // The password was right; the login waits for its second factor (audited when it completes).
        if (err instanceof SecondFactorRequiredError || err instanceof TwoFactorEnrolmentRequiredError) throw err;
        // Failed logins are security events; refused (throttled) ones are not recorded one by one (a
        // flood must not write a row each): the failure that closes an address says so once.
        if (err instanceof AuthenticationError)
          await audit(db(), ctx, { action: 'session.login_failed', targetType: 'Login', targetLabel: attempted, details: { reason: err.message } });
        if (err instanceof FailedLoginError && err.outcome.lockedScope)
          await audit(db(), ctx, { action: 'session.login_throttled', targetType: 'Login', targetLabel: attempted, details: { refused: err.outcome.lockedScope } });
        if (err instanceof FailedLoginError && err.outcome.accountSlowed)
          await audit(db(), ctx, { action: 'session.login_slowed', targetType: 'Login', targetLabel: attempted, details: { reason: 'failures from several addresses' } });
        throw err;
      }
    },
  }),
  refreshSession: t.field({
    type: SessionRef,
    description: `Trades a refresh token for a new pair (the presented one is used up). Without refreshToken, the one in the panel's cookie (only with "${SESSION_COOKIE_HEADER}: 1").`,
    errors: { types: [AuthenticationError], dataField: { name: 'session' } },
    args: { refreshToken: t.arg.string({ required: false }) },
    resolve: async (_r, args, ctx) => {
      const token = args.refreshToken ?? ctx.sessionCookie.presented;
      if (!token) throw new AuthenticationError(NO_SESSION);
      try {
        return deliverSession(ctx.sessionCookie, await refresh(token, { ip: ctx.clientIp, userAgent: ctx.userAgent }));
      } catch (err) {
        // A cookie the API refused is of no further use: drop it.
        if (err instanceof AuthenticationError && args.refreshToken == null) clearSessionCookie(ctx.sessionCookie);
        if (err instanceof RefreshTokenReuseError)
          await audit(db(), ctx, {
            action: 'session.refresh_reuse',
            targetType: err.subject.userId ? 'User' : 'Mailbox',
            targetId: err.subject.userId ?? err.subject.mailboxId,
            details: { revoked: 'the whole login' },
          });
        throw err;
      }
    },
  }),
  logout: t.boolean({
    description: `Ends the login the refresh token belongs to (all its rotated tokens); false for an unknown token. Without refreshToken, the one in the panel's cookie (only with "${SESSION_COOKIE_HEADER}: 1"), and the cookie is cleared.`,
    args: { refreshToken: t.arg.string({ required: false }) },
    resolve: async (_r, args, ctx) => {
      const token = args.refreshToken ?? ctx.sessionCookie.presented;
      clearSessionCookie(ctx.sessionCookie);
      if (!token) return false;
      const owner = await logout(token);
      if (owner)
        await audit(db(), ctx, { action: 'session.logout', targetType: owner.userId ? 'User' : 'Mailbox', targetId: owner.userId ?? owner.mailboxId });
      return owner !== null;
    },
  }),
}));
