import { db } from '@mailpanel/core/db';
import { builder } from '../builder.js';
import type { Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';
import { searchTerm } from '@mailpanel/core/validation';

builder.prismaNode('AuditEvent', {
  id: { field: 'id' },
  nullable: true,
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
  if (f?.action) and.push(f.action.includes('\0') ? { id: { in: [] } } : f.action.endsWith('.') ? { action: { startsWith: f.action } } : { action: f.action });
  if (f?.targetType) and.push(f.targetType.includes('\0') ? { id: { in: [] } } : { targetType: f.targetType });
  if (f?.since) and.push({ createdAt: { gte: f.since } });
  const q = searchTerm(f?.search);
  if (q) and.push({ OR: [{ targetLabel: { ...q, mode: 'insensitive' } }, { actorLabel: { ...q, mode: 'insensitive' } }] });
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
