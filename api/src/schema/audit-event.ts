import { db } from '@mailpanel/core/db';
import { builder } from '../builder.js';
import type { Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';

builder.prismaNode('AuditEvent', {
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, ...tenantWhere.auditEvent(ctx.viewer) }) as never,
  fields: (t) => ({
    actorType: t.exposeString('actorType'),
    actorLabel: t.exposeString('actorLabel'),
    action: t.exposeString('action'),
    targetType: t.exposeString('targetType'),
    targetLabel: t.exposeString('targetLabel', { nullable: true }),
    clientIp: t.exposeString('clientIp', { nullable: true }),
    details: t.expose('details', { type: 'JSON' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const AuditEventFilter = builder.inputType('AuditEventFilter', {
  fields: (t) => ({
    action: t.string({ required: false, description: 'Exact action, or a prefix ending in a dot, e.g. "mailbox."' }),
    targetType: t.string({ required: false }),
    search: t.string({ required: false, description: 'Part of the target or actor' }),
    since: t.field({ type: 'DateTime', required: false }),
  }),
});

function auditWhere(ctx: Context, f: { action?: string | null; targetType?: string | null; search?: string | null; since?: Date | null } | null | undefined) {
  const and: object[] = [tenantWhere.auditEvent(ctx.viewer)];
  if (f?.action) and.push(f.action.endsWith('.') ? { action: { startsWith: f.action } } : { action: f.action });
  if (f?.targetType) and.push({ targetType: f.targetType });
  if (f?.since) and.push({ createdAt: { gte: f.since } });
  if (f?.search) and.push({ OR: [{ targetLabel: { contains: f.search, mode: 'insensitive' } }, { actorLabel: { contains: f.search, mode: 'insensitive' } }] });
  return { AND: and };
}

builder.queryFields((t) => ({
  auditEvents: t.prismaConnection({
    type: 'AuditEvent',
    cursor: 'id',
    authScopes: { authenticated: true },
    args: { filter: t.arg({ type: AuditEventFilter, required: false }) },
    resolve: (query, _root, args, ctx) =>
      db().auditEvent.findMany({ ...query, where: auditWhere(ctx, args.filter), orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    totalCount: (_root, args, ctx) => db().auditEvent.count({ where: auditWhere(ctx, args.filter) }),
  }),
}));
