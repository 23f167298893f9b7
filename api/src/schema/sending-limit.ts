import { LIVE_MAILBOX } from '@mailpanel/core/mailbox-deletion';
import { db } from '@mailpanel/core/db';
import { FieldErrors, NotFoundError } from '@mailpanel/core/errors';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import type { Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, notFoundUnless, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';
import { effectiveLimit, hourWindow, windowEnd, type LimitKind } from '@mailpanel/core/rate-limit';

interface SendingLimitShape {
  kind: LimitKind;
  key: string;
  packageLimit: number;
  override: number | null;
}

/**
 * Current-window counts, loaded once per request for every object asked (no N+1): each field asks
 * for its counter, the first ask schedules one query for all keys asked in the same tick.
 */
class CounterLoader {
  private pending = new Map<string, ((n: number) => void)[]>();
  private scheduled = false;
  constructor(readonly windowStart: Date) {}

  load(kind: LimitKind, key: string): Promise<number> {
    return new Promise((resolve) => {
      const k = `${kind}:${key}`;
      this.pending.set(k, [...(this.pending.get(k) ?? []), resolve]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush() {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    const keys = [...batch.keys()].map((k) => k.split(':') as [LimitKind, string]);
    const rows = await db()
      .rateLimitCounter.findMany({
        where: { windowStart: this.windowStart, OR: (['MAILBOX', 'DOMAIN', 'CUSTOMER'] as const).map((kind) => ({ kind, key: { in: keys.filter(([k]) => k === kind).map(([, id]) => id) } })) },
        select: { kind: true, key: true, count: true },
      })
      .catch(() => []);
    const counts = new Map(rows.map((r) => [`${r.kind}:${r.key}`, r.count]));
    for (const [k, resolvers] of batch) for (const r of resolvers) r(counts.get(k) ?? 0);
  }
}

const loaders = new WeakMap<Context, CounterLoader>();
function counterLoader(ctx: Context): CounterLoader {
  let l = loaders.get(ctx);
  if (!l) {
    l = new CounterLoader(hourWindow(new Date()));
    loaders.set(ctx, l);
  }
  return l;
}

const LimitKindEnum = builder.enumType('SendingLimitKind', { values: ['MAILBOX', 'DOMAIN', 'CUSTOMER'] as const });

const SendingLimit = builder.objectRef<SendingLimitShape>('SendingLimit').implement({
  description:
    'Outbound e-mails in the current hour (UTC) against the limit the policy service enforces. One e-mail per recipient; over the limit, Postfix answers 4.7.1 and the client retries later.',
  fields: (t) => ({
    kind: t.field({ type: LimitKindEnum, resolve: (s) => s.kind }),
    limit: t.int({ nullable: true, description: 'E-mails per hour; null = unlimited', resolve: (s) => effectiveLimit(s.packageLimit, s.override) }),
    used: t.int({ resolve: (s, _a, ctx) => counterLoader(ctx).load(s.kind, s.key) }),
    remaining: t.int({
      nullable: true,
      description: 'null = unlimited',
      resolve: async (s, _a, ctx) => {
        const limit = effectiveLimit(s.packageLimit, s.override);
        return limit === null ? null : Math.max(0, limit - (await counterLoader(ctx).load(s.kind, s.key)));
      },
    }),
    windowStart: t.field({ type: 'DateTime', resolve: (_s, _a, ctx) => counterLoader(ctx).windowStart }),
    resetsAt: t.field({ type: 'DateTime', resolve: (_s, _a, ctx) => windowEnd(counterLoader(ctx).windowStart) }),
    packageLimit: t.exposeInt('packageLimit', { description: 'The hosting package’s limit (0 = unlimited)' }),
    override: t.exposeInt('override', { nullable: true, description: 'An administrator’s override (0 = unlimited); null = the package’s limit applies' }),
  }),
});

builder.prismaObjectFields('Mailbox', (t) => ({
  sendingLimit: t.field({
    type: SendingLimit,
    select: { id: true, maxEmailsPerHourOverride: true, domain: { select: { customer: { select: { package: { select: { maxEmailsPerHourMailbox: true } } } } } } },
    resolve: (m): SendingLimitShape => ({ kind: 'MAILBOX', key: m.id, packageLimit: m.domain.customer.package.maxEmailsPerHourMailbox, override: m.maxEmailsPerHourOverride }),
  }),
}));

builder.prismaObjectFields('Domain', (t) => ({
  sendingLimit: t.field({
    type: SendingLimit,
    authScopes: { panelUser: true },
    select: { id: true, maxEmailsPerHourOverride: true, customer: { select: { package: { select: { maxEmailsPerHourDomain: true } } } } },
    resolve: (d): SendingLimitShape => ({ kind: 'DOMAIN', key: d.id, packageLimit: d.customer.package.maxEmailsPerHourDomain, override: d.maxEmailsPerHourOverride }),
  }),
}));

builder.prismaObjectFields('Customer', (t) => ({
  sendingLimit: t.field({
    type: SendingLimit,
    authScopes: { panelUser: true },
    description: 'The package’s total for all of the customer’s mailboxes.',
    select: { id: true, package: { select: { maxEmailsPerHour: true } } },
    resolve: (c): SendingLimitShape => ({ kind: 'CUSTOMER', key: c.id, packageLimit: c.package.maxEmailsPerHour, override: null }),
  }),
}));

builder.mutationFields((t) => ({
  setSendingLimitOverride: t.field({
    type: SendingLimit,
    description: 'Administrators: override the package’s hourly limit for one mailbox or domain (0 = unlimited); null returns to the package’s limit.',
    authScopes: { $all: { admin: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'sendingLimit' } },
    args: { id: t.arg.id({ required: true, description: 'A Mailbox or Domain' }), maxEmailsPerHour: t.arg.int({ required: false }) },
    resolve: (_root, args, ctx) => {
      const errors = new FieldErrors();
      const v = args.maxEmailsPerHour ?? null;
      if (v !== null && (!Number.isInteger(v) || v < 0 || v > 1_000_000_000)) errors.add('maxEmailsPerHour', 'INVALID', 'Must be a whole number, 0 (unlimited) or more');
      errors.throwIfAny();
      let typename = '';
      try {
        typename = decodeGlobalID(String(args.id)).typename;
      } catch {
        throw new NotFoundError('Mailbox');
      }
      return transaction(async (tx): Promise<SendingLimitShape> => {
        if (typename === 'Domain') {
          const d = notFoundUnless(
            await tx.domain.findFirst({ where: { id: idOf(String(args.id), 'Domain'), ...tenantWhere.domain(ctx.viewer) }, include: { customer: { include: { package: true } } } }),
            'Domain',
          );
          await tx.domain.update({ where: { id: d.id }, data: { maxEmailsPerHourOverride: v } });
          await audit(tx, ctx, { action: 'limits.override', targetType: 'Domain', targetId: d.id, targetLabel: d.name, customerId: d.customerId, details: { maxEmailsPerHour: v } });
          return { kind: 'DOMAIN', key: d.id, packageLimit: d.customer.package.maxEmailsPerHourDomain, override: v };
        }
        const m = notFoundUnless(
          await tx.mailbox.findFirst({
            where: { id: idOf(String(args.id), 'Mailbox'), ...LIVE_MAILBOX, ...tenantWhere.mailbox(ctx.viewer) },
            include: { domain: { include: { customer: { include: { package: true } } } } },
          }),
          'Mailbox',
        );
        await tx.mailbox.update({ where: { id: m.id }, data: { maxEmailsPerHourOverride: v } });
        await audit(tx, ctx, { action: 'limits.override', targetType: 'Mailbox', targetId: m.id, targetLabel: m.address, customerId: m.domain.customerId, details: { maxEmailsPerHour: v } });
        return { kind: 'MAILBOX', key: m.id, packageLimit: m.domain.customer.package.maxEmailsPerHourMailbox, override: v };
      });
    },
  }),
}));
