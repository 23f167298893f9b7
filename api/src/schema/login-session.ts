// The signed-in person's open panel logins ("sessions"): where and when each was opened and last
// used, and ending one or all the others. A session is a refresh-token family; ending it revokes the
// family, and the revocation trigger closes its WebSockets and refuses its access token at once.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { db } from '@mailpanel/core/db';
import { NotFoundError, ValidationError } from '@mailpanel/core/errors';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { isPersonLogin, type Context, type PersonViewer } from '../context.js';
import { decodeId } from '../global-id.js';
import { ownerOf, type Owner } from '../auth/two-factor.js';
import { transaction } from '../mutation-helpers.js';
import { ViewerRef } from './session.js';

type Person = PersonViewer;

interface OpenSession {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  clientIp: string | null;
  userAgent: string | null;
  current: boolean;
}

/** The owner's logins that can still be refreshed, newest use first. */
async function openSessions(owner: Owner, currentId: string | undefined): Promise<OpenSession[]> {
  const live = await db().refreshToken.groupBy({
    by: ['familyId'],
    where: { ...owner, revokedAt: null, expiresAt: { gt: new Date() } },
    _min: { createdAt: true },
  });
  const rows = await db().loginSession.findMany({ where: { id: { in: live.map((l) => l.familyId) } } });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return live
    .map((l) => {
      // A login opened before sessions were recorded has no row: it is listed all the same.
      const r = byId.get(l.familyId);
      const createdAt = r?.createdAt ?? l._min.createdAt!;
      return { id: l.familyId, createdAt, lastUsedAt: r?.lastUsedAt ?? createdAt, clientIp: r?.clientIp ?? null, userAgent: r?.userAgent ?? null, current: l.familyId === currentId };
    })
    .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime());
}

const LoginSessionRef = builder.objectRef<OpenSession>('LoginSession').implement({
  description: 'One of the signed-in person’s open panel logins.',
  fields: (t) => ({
    id: t.id({ resolve: (s) => encodeGlobalID('LoginSession', s.id) }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the login was made' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', description: 'Its last login or token refresh (every few minutes while a panel tab is open)' }),
    clientIp: t.exposeString('clientIp', { nullable: true, description: 'The address of its last login or refresh (behind TRUST_PROXY: the proxy’s X-Forwarded-For)' }),
    userAgent: t.exposeString('userAgent', { nullable: true }),
    current: t.exposeBoolean('current', { description: 'The login this request was made with' }),
  }),
});


builder.objectFields(ViewerRef, (t) => ({
  sessions: t.field({
    type: [LoginSessionRef],
    nullable: true,
    description: 'The signed-in person’s open panel logins; null for an API token (see apiTokens).',
    resolve: (v) => (isPersonLogin(v) ? openSessions(ownerOf(v), v.sessionId) : null),
  }),
}));

/** Ends the given logins and says so in the audit log, in one transaction. */
async function endLogins(ctx: Context, p: Person, familyIds: string[], details: Record<string, unknown>) {
  const owner = ownerOf(p);
  await transaction(async (tx) => {
    await tx.refreshToken.updateMany({ where: { familyId: { in: familyIds }, revokedAt: null }, data: { revokedAt: new Date() } });
    await audit(tx, ctx, {
      action: 'session.end',
      targetType: 'userId' in owner ? 'User' : 'Mailbox',
      targetId: 'userId' in owner ? owner.userId : owner.mailboxId,
      targetLabel: p.label,
      customerId: p.customerId,
      details,
    });
  });
}

builder.mutationFields((t) => ({
  endSession: t.field({
    type: 'ID',
    description: 'Ends one of the signed-in person’s panel logins: its refresh token stops working, its access token and WebSockets are refused at once.',
    authScopes: { personLogin: true },
    errors: { types: [ValidationError, NotFoundError], dataField: { name: 'endedId' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const p = ctx.viewer as Person;
      const { typename, id } = decodeId(String(args.id));
      const owner = ownerOf(p);
      // Only one's own login, and only an open one: anything else reads as not found.
      const open = typename === 'LoginSession' && (await db().refreshToken.findFirst({ where: { familyId: id, ...owner, revokedAt: null }, select: { id: true } }));
      if (!open) throw new NotFoundError('LoginSession');
      await endLogins(ctx, p, [id], { session: String(args.id), current: id === p.sessionId });
      return String(args.id);
    },
  }),
  endOtherSessions: t.int({
    description: 'Ends every panel login of the signed-in person but this one; answers how many were ended.',
    authScopes: { personLogin: true },
    errors: { types: [ValidationError], dataField: { name: 'ended' } },
    resolve: async (_r, _a, ctx) => {
      const p = ctx.viewer as Person;
      const others = (await openSessions(ownerOf(p), p.sessionId)).filter((s) => !s.current);
      await endLogins(ctx, p, others.map((s) => s.id), { others: others.length });
      return others.length;
    },
  }),
}));
