// The Pothos builder and nothing else: plugin order (scope-auth first), scalar types, the scopes every
// field's authorization is declared with, and the Relay/errors conventions.
import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ErrorsPlugin from '@pothos/plugin-errors';
import { GraphQLError } from 'graphql';
import { db } from '@mailpanel/core/db';
import type PrismaTypes from '@mailpanel/core/generated/pothos-types';
import { getDatamodel } from '@mailpanel/core/generated/pothos-types';
import { isPersonLogin, type Context } from './context.js';
import { decodeId } from './global-id.js';
import { NotFoundError } from '@mailpanel/core/errors';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  AuthScopes: {
    authenticated: boolean;
    admin: boolean;
    panelUser: boolean;
    mailboxOwner: boolean;
    /** false for read-only API tokens: every mutation requires it. */
    write: boolean;
    /** A person's own panel login (not an API token): what guards a login (two-factor) is theirs alone. */
    personLogin: boolean;
  };
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin],
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: ({ viewer }) => ({
      authenticated: viewer.kind !== 'anonymous',
      admin: viewer.kind === 'user' && viewer.role === 'ADMIN',
      panelUser: viewer.kind === 'user',
      mailboxOwner: viewer.kind === 'mailbox',
      write: viewer.kind === 'mailbox' || (viewer.kind === 'user' && viewer.access !== 'READ_ONLY'),
      personLogin: isPersonLogin(viewer),
    }),
    unauthorizedError: (_parent, ctx) =>
      ctx.viewer.kind === 'anonymous'
        ? new GraphQLError(ctx.authError ?? 'You must log in', { extensions: { code: 'UNAUTHENTICATED', http: { status: 200 } } })
        : new GraphQLError('You are not allowed to do this', { extensions: { code: 'FORBIDDEN' } }),
  },
  prisma: {
    client: () => db(),
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
    defaultConnectionSize: 50,
    maxConnectionSize: 200,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // Every node's id (node, nodes): malformed, non-UUID or of no known type → a typed error before
    // any query (global-id.ts).
    decodeGlobalID: (globalID) => {
      const decoded = decodeId(globalID);
      if (!builder.configStore.hasConfig(decoded.typename)) throw new NotFoundError('Node');
      return decoded;
    },
  },
  errors: { defaultTypes: [] },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
