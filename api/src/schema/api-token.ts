import { db } from '@mailpanel/core/db';
import { FieldErrors, ValidationError } from '@mailpanel/core/errors';
import { randomToken, sha256 } from '@mailpanel/core/crypto/tokens';
import { ApiTokenScope } from '@mailpanel/core/generated/prisma/enums';
import { checkText, LIMITS } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { tenantWhere } from '../tenancy.js';
import { API_TOKEN_PREFIX } from '../auth/api-token.js';
import { idOf, notFoundUnless, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';

const ApiTokenScopeEnum = builder.enumType(ApiTokenScope, {
  name: 'ApiTokenScope',
  description: "FULL acts with all of its owner's permissions; READ_ONLY cannot run mutations.",
});

const ApiToken = builder.prismaNode('ApiToken', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.apiToken(ctx.viewer) }) as never,
  fields: (t) => ({
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The first characters of the token, to recognise it' }),
    scope: t.expose('scope', { type: ApiTokenScopeEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreatedApiToken = builder.objectRef<{ token: string; apiToken: { id: string } }>('CreatedApiToken').implement({
  description: 'token is shown this once; only its hash is stored.',
  fields: (t) => ({ token: t.exposeString('token'), apiToken: t.field({ type: ApiToken, resolve: (c) => c.apiToken as never }) }),
});

builder.queryFields((t) => ({
  apiTokens: t.prismaConnection({
    type: 'ApiToken',
    cursor: 'id',
    authScopes: { panelUser: true },
    args: { includeRevoked: t.arg.boolean({ required: false }) },
    resolve: (query, _root, args, ctx) =>
      db().apiToken.findMany({
        ...query,
        where: { ...tenantWhere.apiToken(ctx.viewer), ...(args.includeRevoked ? {} : { revokedAt: null }) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }),
}));

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: CreatedApiToken,
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'created' } },
    args: {
      name: t.arg.string({ required: true }),
      scope: t.arg({ type: ApiTokenScopeEnum, required: false, defaultValue: 'FULL' }),
      expiresAt: t.arg({ type: 'DateTime', required: false }),
    },
    resolve: (_root, args, ctx) => {
      const errors = new FieldErrors();
      const name = checkText(errors, 'name', args.name.trim(), { max: LIMITS.tokenName, min: 1, singleLine: true, label: 'Name' });
      if (args.expiresAt && args.expiresAt <= new Date()) errors.add('expiresAt', 'IN_PAST', 'The expiry must be in the future');
      errors.throwIfAny();
      const v = ctx.viewer;
      if (v.kind !== 'user') throw ValidationError.of('name', 'FORBIDDEN', 'Only panel users have API tokens');
      // A READ_ONLY token cannot mint a FULL one: the write scope already refuses it. A FULL token can.
      const token = randomToken(API_TOKEN_PREFIX);
      return transaction(async (tx) => {
        const apiToken = await tx.apiToken.create({
          data: { userId: v.userId, name, prefix: token.slice(0, 12), tokenHash: sha256(token), scope: args.scope ?? 'FULL', expiresAt: args.expiresAt ?? null },
        });
        await audit(tx, ctx, { action: 'apitoken.create', targetType: 'ApiToken', targetId: apiToken.id, targetLabel: name, customerId: v.customerId, details: { scope: apiToken.scope } });
        return { token, apiToken };
      });
    },
  }),
  revokeApiToken: t.field({
    type: ApiToken,
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'apiToken' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) =>
      transaction(async (tx) => {
        const tok = notFoundUnless(await tx.apiToken.findFirst({ where: { id: idOf(String(id), 'ApiToken'), ...tenantWhere.apiToken(ctx.viewer) } }), 'ApiToken');
        const revoked = await tx.apiToken.update({ where: { id: tok.id }, data: { revokedAt: tok.revokedAt ?? new Date() } });
        await audit(tx, ctx, { action: 'apitoken.revoke', targetType: 'ApiToken', targetId: tok.id, targetLabel: tok.name, customerId: ctx.viewer.kind === 'user' ? ctx.viewer.customerId : null });
        return revoked;
      }),
  }),
}));
