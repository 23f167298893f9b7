import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { FieldErrors, ValidationError } from '@mailpanel/core/errors';
import { hashPassword } from '@mailpanel/core/crypto/password';
import { Role } from '@mailpanel/core/generated/prisma/enums';
import { checkPassword, normalizeAddress, searchTerm } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, notFoundUnless, selection, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';

export const RoleEnum = builder.enumType(Role, { name: 'Role' });

builder.prismaNode('User', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.user(ctx.viewer) }) as never,
  fields: (t) => ({
    email: t.exposeString('email'),
    role: t.expose('role', { type: RoleEnum }),
    customer: t.relation('customer', { nullable: true }),
    disabled: t.exposeBoolean('disabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  users: t.prismaConnection({
    type: 'User',
    cursor: 'id',
    authScopes: { admin: true },
    args: { customerId: t.arg.id({ required: false }), search: t.arg.string({ required: false }) },
    resolve: (query, _root, args) => {
      const q = searchTerm(args.search);
      return db().user.findMany({
        ...query,
        where: {
          ...(args.customerId ? { customerId: idOf(String(args.customerId), 'Customer') } : {}),
          ...(q ? { email: q } : {}),
        },
        orderBy: [{ email: 'asc' }, { id: 'asc' }],
      });
    },
  }),
}));

builder.mutationFields((t) => ({
  createUser: t.prismaField({
    type: 'User',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'user' } },
    args: {
      email: t.arg.string({ required: true }),
      password: t.arg.string({ required: true }),
      role: t.arg({ type: RoleEnum, required: true }),
      customerId: t.arg.id({ required: false }),
    },
    resolve: async (query, _root, args, ctx) => {
      const errors = new FieldErrors();
      const email = normalizeAddress(args.email);
      if (!email) errors.add('email', 'INVALID', 'Not a valid e-mail address');
      checkPassword(errors, 'password', args.password, { minScore: config().PASSWORD_MIN_SCORE, userInputs: [args.email] });
      if (args.role === 'CUSTOMER' && !args.customerId) errors.add('customerId', 'REQUIRED', 'A customer login belongs to a customer');
      if (args.role === 'ADMIN' && args.customerId) errors.add('customerId', 'NOT_ALLOWED', 'An administrator belongs to no customer');
      errors.throwIfAny();
      const passwordHash = await hashPassword(args.password);
      return transaction(async (tx) => {
        const customerId = args.customerId ? idOf(String(args.customerId), 'Customer') : null;
        if (customerId && !(await tx.customer.findUnique({ where: { id: customerId } })))
          throw ValidationError.of('customerId', 'NOT_FOUND', 'Customer not found');
        if (await tx.user.findUnique({ where: { email: email! } })) throw ValidationError.of('email', 'TAKEN', 'A user with this e-mail exists');
        const user = await tx.user.create({ ...selection(query), data: { email: email!, passwordHash, role: args.role, customerId } });
        await audit(tx, ctx, { action: 'user.create', targetType: 'User', targetId: user.id, targetLabel: user.email, customerId, details: { role: args.role } });
        return user;
      });
    },
  }),
  updateUser: t.prismaField({
    type: 'User',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'user' } },
    args: { id: t.arg.id({ required: true }), disabled: t.arg.boolean({ required: false }), password: t.arg.string({ required: false }) },
    resolve: async (query, _root, args, ctx) => {
      const errors = new FieldErrors();
      if (args.password != null) checkPassword(errors, 'password', args.password);
      errors.throwIfAny();
      if (args.password != null) {
        const target = await db().user.findUnique({ where: { id: idOf(String(args.id), 'User') }, select: { email: true } });
        checkPassword(errors, 'password', args.password, { minScore: config().PASSWORD_MIN_SCORE, userInputs: target ? [target.email] : [] });
        errors.throwIfAny();
      }
      const passwordHash = args.password != null ? await hashPassword(args.password) : undefined;
      return transaction(async (tx) => {
        const current = notFoundUnless(await tx.user.findUnique({ where: { id: idOf(String(args.id), 'User') } }), 'User');
        if (args.disabled && ctx.viewer.kind === 'user' && ctx.viewer.userId === current.id)
          throw ValidationError.of('disabled', 'SELF', 'You cannot disable your own login');
        const user = await tx.user.update({ ...selection(query), where: { id: current.id }, data: { disabled: args.disabled ?? undefined, passwordHash } });
        // Its logins end at once (auth/revocation.ts) — except the admin's own one changing its own password.
        const own = ctx.viewer.kind === 'user' && ctx.viewer.userId === user.id && ctx.viewer.sessionId ? { NOT: { familyId: ctx.viewer.sessionId } } : {};
        if (args.disabled || passwordHash) await tx.refreshToken.updateMany({ where: { userId: user.id, revokedAt: null, ...own }, data: { revokedAt: new Date() } });
        await audit(tx, ctx, {
          action: 'user.update', targetType: 'User', targetId: user.id, targetLabel: user.email, customerId: user.customerId,
          details: { disabled: args.disabled, passwordChanged: !!passwordHash },
        });
        return user;
      });
    },
  }),
  deleteUser: t.field({
    type: 'ID',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'deletedId' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) =>
      transaction(async (tx) => {
        const user = notFoundUnless(await tx.user.findUnique({ where: { id: idOf(String(id), 'User') } }), 'User');
        if (ctx.viewer.kind === 'user' && ctx.viewer.userId === user.id) throw ValidationError.of('id', 'SELF', 'You cannot delete your own login');
        await tx.user.delete({ where: { id: user.id } });
        await audit(tx, ctx, { action: 'user.delete', targetType: 'User', targetId: user.id, targetLabel: user.email, customerId: user.customerId });
        return String(id);
      }),
  }),
}));
