import { Repeater } from 'graphql-yoga';
import { db, type Tx } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { FieldErrors, LimitExceededError, NotFoundError, ValidationError } from '@mailpanel/core/errors';
import { enqueue } from '@mailpanel/core/jobs';
import { hashPassword } from '@mailpanel/core/crypto/password';
import { effectiveMessageSizeBytes } from '@mailpanel/core/message-size';
import { publish } from '@mailpanel/core/pubsub';
import { beginPurge, LIVE_MAILBOX, purgeDate } from '@mailpanel/core/mailbox-deletion';
import { checkMailboxLanguage, MAILBOX_LANGUAGES } from '@mailpanel/core/mailbox-language';
import { MailboxStatus, ProvisioningState } from '@mailpanel/core/generated/prisma/enums';
import { checkMailboxAddress, checkPassword, checkQuota, displayAddress, searchTerm } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import { perRequest, type Context } from '../context.js';
import { tenantWhere } from '../tenancy.js';
import { addressSearch, listingWhere } from '../address-search.js';
import { mailboxPageRows, pageReads, selectsField, type PageQuery, type Total } from './mailbox-page.js';
import { loadOncePerEvent, visibleRow, whileVisible } from '../pubsub.js';
import { idOf, lockCustomer, notFoundUnless, transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';
import { aliasDomainHasNoAddresses } from '../alias-domains.js';
import { SortDirection } from './scalars.js';
import { Customer } from './customer.js';
import { Domain } from './domain.js';
import { MAILBOX_COLUMNS } from './columns.js';
import { reads, rowAt, rowSelect, type Select } from './row-reads.js';

export const MailboxStatusEnum = builder.enumType(MailboxStatus, { name: 'MailboxStatus' });
export const ProvisioningStateEnum = builder.enumType(ProvisioningState, { name: 'ProvisioningState' });

const MB = 1024 * 1024;

export function autoresponderActive(a: { enabled: boolean; startsAt: Date | null; endsAt: Date | null } | null, now = new Date()): boolean {
  // Half-open [startsAt, endsAt), exactly as the rendered Sieve script compares.
  return !!a && a.enabled && (!a.startsAt || a.startsAt <= now) && (!a.endsAt || now < a.endsAt);
}

export const MailboxQuota = builder.objectRef<ReturnType<typeof quotaOf>>('MailboxQuota').implement({
  description: 'Storage use against the limit. limitMb 0 means unlimited.',
  fields: (t) => ({
    // Each read from the mailbox row quotaOf is given (Mailbox.quota is the row itself: rowAt('')).
    usedBytes: t.exposeFloat('usedBytes', { extensions: reads('quotaUsedBytes') }),
    usedMb: t.exposeFloat('usedMb', { extensions: reads('quotaUsedBytes') }),
    limitMb: t.exposeInt('limitMb', { extensions: reads('quotaMb') }),
    messages: t.exposeInt('messages', { extensions: reads('quotaMessages') }),
    percent: t.exposeFloat('percent', { nullable: true, description: 'null when unlimited', extensions: reads('quotaUsedBytes', 'quotaMb') }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true, extensions: reads('quotaUpdatedAt') }),
    warningPercent: t.exposeInt('warningPercent', {
      nullable: true,
      description: 'The warning threshold (QUOTA_WARNING_PERCENTS) the usage has passed and the owner was mailed about; null when under every threshold',
      extensions: reads('quotaWarnedPercent'),
    }),
  }),
});

export function quotaOf(m: { quotaUsedBytes: bigint; quotaMb: number; quotaMessages: number; quotaUpdatedAt: Date | null; quotaWarnedPercent: number }) {
  const usedBytes = Number(m.quotaUsedBytes);
  const usedMb = Math.round((usedBytes / MB) * 100) / 100;
  return {
    usedBytes,
    usedMb,
    limitMb: m.quotaMb,
    messages: m.quotaMessages,
    percent: m.quotaMb > 0 ? Math.min(100, Math.round((usedBytes / (m.quotaMb * MB)) * 1000) / 10) : null,
    updatedAt: m.quotaUpdatedAt,
    warningPercent: m.quotaWarnedPercent || null,
  };
}

export function webmailUrl(address: string): string {
  const url = new URL(config().WEBMAIL_URL);
  url.searchParams.set('_user', address);
  return url.toString();
}

export const Mailbox = builder.prismaNode('Mailbox', {
  id: { field: 'id' },
  // Only these and what a query's other fields ask for are read (a page of 50 carried every password hash).
  select: MAILBOX_COLUMNS,
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.mailbox(ctx.viewer) }) as never,
  fields: (t) => ({
    address: t.string({
      description: 'The address as people read it: the domain as its U-label (info@bücher.test); either form logs in',
      extensions: reads('address'),
      resolve: (m) => displayAddress(m.address),
    }),
    asciiAddress: t.string({ description: 'The stored address, domain as its A-label (info@xn--bcher-kva.test)', extensions: reads('address'), resolve: (m) => m.address }),
    localPart: t.string({ extensions: reads('localPart'), resolve: (m) => m.localPart }),
    domain: t.field({ type: Domain, extensions: rowAt('domain'), resolve: (m) => m.domain }),
    customer: t.field({ type: Customer, extensions: rowAt('domain.customer'), resolve: (m) => m.domain.customer }),
    quotaMb: t.int({ description: 'Limit in MB; 0 = unlimited', extensions: reads('quotaMb'), resolve: (m) => m.quotaMb }),
    name: t.exposeString('name', { nullable: true, description: 'A display name (set by bulk import)' }),
    maxMessageSizeBytes: t.int({
      description: "The largest message this mailbox accepts, in bytes: its package's limit, or the server's. Never unlimited, whatever the quota",
      extensions: reads('domain.customer.package.maxMessageSizeMb'),
      resolve: (m) => effectiveMessageSizeBytes(m.domain.customer.package.maxMessageSizeMb, config().MESSAGE_SIZE_LIMIT_BYTES),
    }),
    quota: t.field({ type: MailboxQuota, extensions: rowAt(''), resolve: (m) => quotaOf(m) }),
    status: t.field({ type: MailboxStatusEnum, extensions: reads('status'), resolve: (m) => m.status }),
    provisioning: t.field({ type: ProvisioningStateEnum, extensions: reads('provisioning'), resolve: (m) => m.provisioning }),
    provisioningError: t.string({
      nullable: true,
      description: 'Why the last try failed: while PENDING, the worker is retrying with backoff; FAILED after the last try',
      extensions: reads('provisioningError'),
      resolve: (m) => m.provisioningError,
    }),
    autoresponder: t.relation('autoresponder', { nullable: true }),
    autoresponderActive: t.boolean({
      description: 'Enabled and inside its optional date window right now',
      extensions: reads('autoresponder.enabled', 'autoresponder.startsAt', 'autoresponder.endsAt'),
      resolve: (m) => autoresponderActive(m.autoresponder),
    }),
    webmailUrl: t.string({ extensions: reads('address'), resolve: (m) => webmailUrl(m.address) }),
    createdAt: t.field({ type: 'DateTime', extensions: reads('createdAt'), resolve: (m) => m.createdAt }),
    updatedAt: t.field({ type: 'DateTime', extensions: reads('updatedAt'), resolve: (m) => m.updatedAt }),
    deletedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Set while the mailbox is deleted but can still be restored (restoreMailbox) — its package has a grace period',
      extensions: reads('deletedAt'),
      resolve: (m) => m.deletedAt,
    }),
    purgeAt: t.field({ type: 'DateTime', nullable: true, description: 'When a deleted mailbox and its mail are removed for good', extensions: reads('purgeAt'), resolve: (m) => m.purgeAt }),
    language: t.string({
      nullable: true,
      description: `Language of the mails the panel sends the owner (quota warnings): one of ${MAILBOX_LANGUAGES.join(', ')}; null = English`,
      extensions: reads('language'),
      resolve: (m) => m.language,
    }),
  }),
});

const MailboxOrderField = builder.enumType('MailboxOrderField', {
  values: ['ADDRESS', 'DOMAIN', 'CREATED_AT', 'QUOTA_MB', 'QUOTA_USED', 'STATUS'] as const,
});

const MailboxOrder = builder.inputType('MailboxOrder', {
  fields: (t) => ({
    field: t.field({ type: MailboxOrderField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: 'ASC' }),
  }),
});

export const MailboxFilter = builder.inputType('MailboxFilter', {
  fields: (t) => ({
    domainId: t.id({ required: false }),
    customerId: t.id({ required: false }),
    status: t.field({ type: MailboxStatusEnum, required: false }),
    search: t.string({ required: false, description: 'Part of the address (either form of its domain), case-insensitive' }),
    deleted: t.boolean({
      required: false,
      description: 'true: only deleted mailboxes still in their grace period (restorable until purgeAt); otherwise only mailboxes that are not deleted',
    }),
  }),
});

type MailboxFilterArg = { domainId?: string | null; customerId?: string | null; status?: MailboxStatus | null; search?: string | null; deleted?: boolean | null } | null | undefined;

/** The listing's where (a text search as addressSearch explains). */
export function mailboxWhere(ctx: Context, filter: MailboxFilterArg): Promise<object> {
  return listingWhere(ctx, 'mailboxes', filter, async () => {
    const and: object[] = [tenantWhere.mailbox(ctx.viewer), { provisioning: { not: 'DELETING' } }, { deletedAt: filter?.deleted ? { not: null } : null }];
    if (filter?.domainId) and.push({ domainId: idOf(String(filter.domainId), 'Domain') });
    if (filter?.customerId) and.push({ customerId: idOf(String(filter.customerId), 'Customer') });
    if (filter?.status) and.push({ status: filter.status });
    const q = searchTerm(filter?.search);
    if (q) and.push({ OR: await addressSearch(q, 'address') });
    return { AND: and };
  });
}

/** What a listing's totalCount counts. Filtered by customer and/or status only, it is a sum over the
 *  live counts (mailbox_counts, kept exact by a trigger in the writers' transactions) — a few rows
 *  instead of counting up to every mailbox per page; with a text search or a domain it counts the rows. */
async function mailboxTotal(ctx: Context, filter: MailboxFilterArg): Promise<Total> {
  if (ctx.viewer.kind !== 'user' || searchTerm(filter?.search) || filter?.domainId || filter?.deleted) return { count: 'Mailbox', where: await mailboxWhere(ctx, filter) };
  const and: object[] = [tenantWhere.mailboxCount(ctx.viewer)];
  if (filter?.customerId) and.push({ customerId: idOf(String(filter.customerId), 'Customer') });
  if (filter?.status) and.push({ status: filter.status });
  return { sum: 'MailboxCount', where: { AND: and } };
}

async function countMailboxes(ctx: Context, filter: MailboxFilterArg): Promise<number> {
  const total = await mailboxTotal(ctx, filter);
  if ('count' in total) return db().mailbox.count({ where: total.where });
  const { _sum } = await db().mailboxCount.aggregate({ where: total.where, _sum: { n: true } });
  return Number(_sum.n ?? 0);
}

/** The total the page's own statement brought along, for this request and filter (totalCount resolves after the page). */
const pageTotal = (ctx: Context, filter: MailboxFilterArg) => perRequest(ctx, `total:mailboxes:${JSON.stringify(filter ?? null)}`, () => ({ value: null as number | null }));

const ORDER: Record<string, (d: 'asc' | 'desc') => object> = {
  ADDRESS: (d) => ({ address: d }),
  DOMAIN: (d) => ({ domain: { name: d } }),
  CREATED_AT: (d) => ({ createdAt: d }),
  QUOTA_MB: (d) => ({ quotaMb: d }),
  QUOTA_USED: (d) => ({ quotaUsedBytes: d }),
  STATUS: (d) => ({ status: d }),
};

export function orderBy(order: { field: string; direction?: string | null } | null | undefined, fallback: object, map = ORDER) {
  const dir = order?.direction === 'DESC' ? 'desc' : 'asc';
  // id last keeps the order total, which cursor pagination needs.
  return [order ? map[order.field]!(dir) : fallback, { id: dir }];
}

builder.queryFields((t) => ({
  mailboxes: t.prismaConnection(
    {
      type: 'Mailbox',
      cursor: 'id',
      authScopes: { authenticated: true },
      args: {
        filter: t.arg({ type: MailboxFilter, required: false }),
        orderBy: t.arg({ type: MailboxOrder, required: false }),
      },
      resolve: async (query, _root, args, ctx, info) => {
        const where = await mailboxWhere(ctx, args.filter);
        const order = orderBy(args.orderBy, { address: 'asc' });
        // One plain statement, the total included, where it can (mailbox-page.ts); Prisma otherwise.
        const total = selectsField(info, 'totalCount') ? await mailboxTotal(ctx, args.filter) : undefined;
        // Only the columns the selected fields read (row-reads.ts).
        const select = (query as PageQuery).select as Select;
        const read = { ...query, select: pageReads.cut ? rowSelect(info, 'Mailbox', select, MAILBOX_COLUMNS as Select) : select };
        const page = await mailboxPageRows(read as PageQuery, where, order, total);
        if (!page) return db().mailbox.findMany({ ...(read as typeof query), where, orderBy: order });
        pageTotal(ctx, args.filter).value = page.total;
        return page.rows as never;
      },
      totalCount: (_root, args, ctx) => pageTotal(ctx, args.filter).value ?? countMailboxes(ctx, args.filter),
    },
    {},
  ),
}));

export async function loadMailbox(tx: Tx, ctx: Context, globalId: string) {
  const m = await tx.mailbox.findFirst({
    where: { id: idOf(globalId, 'Mailbox'), ...LIVE_MAILBOX, ...tenantWhere.mailbox(ctx.viewer) },
    include: { domain: { include: { customer: { include: { package: true } } } }, autoresponder: true },
  });
  return notFoundUnless(m, 'Mailbox');
}

/** The package's mailbox count, for one more mailbox (creation, restore). Deleted mailboxes in their
 *  grace period do not count. Caller holds the lock. */
export async function checkMailboxCount(tx: Tx, customerId: string, maxMailboxes: number) {
  if (maxMailboxes <= 0) return;
  const count = await tx.mailbox.count({ where: { customerId, deletedAt: null } });
  if (count >= maxMailboxes) throw new LimitExceededError('maxMailboxes', maxMailboxes, `Your package allows ${maxMailboxes} mailboxes`);
}

/** Checks the customer's package quota budget for a mailbox quota change. Caller holds the lock. */
export async function checkQuotaBudget(tx: Tx, customerId: string, total: number, quotaMb: number, exceptMailboxId: string | null) {
  if (total === 0) return;
  if (quotaMb === 0)
    throw ValidationError.of('quotaMb', 'UNLIMITED_NOT_ALLOWED', `Your package has a total of ${total} MB; give the mailbox a limit`);
  const used = await tx.mailbox.aggregate({
    _sum: { quotaMb: true },
    where: { customerId, ...LIVE_MAILBOX, ...(exceptMailboxId ? { id: { not: exceptMailboxId } } : {}) },
  });
  const free = total - (used._sum.quotaMb ?? 0);
  if (quotaMb > free)
    throw new LimitExceededError('totalQuotaMb', total, `Only ${Math.max(0, free)} MB of the package's ${total} MB are left`, 'quotaMb');
}

export async function assertAddressFree(tx: Tx, address: string, field: string) {
  const [mailbox, forward] = await Promise.all([
    tx.mailbox.findUnique({ where: { address }, select: { provisioning: true, purgeAt: true } }),
    tx.forward.findUnique({ where: { source: address }, select: { id: true } }),
  ]);
  if (mailbox)
    throw ValidationError.of(
      field,
      'TAKEN',
      mailbox.provisioning === 'DELETING'
        ? `${address} is still being deleted; try again shortly`
        : mailbox.purgeAt
          ? `${address} is deleted but reserved until ${mailbox.purgeAt.toISOString().slice(0, 10)}: restore it, or wait for the purge`
          : `${address} already exists`,
    );
  if (forward) throw ValidationError.of(field, 'TAKEN', `${address} is already used by a forward`);
}

/** After a password change or a disable (of the mailbox or its domain), in the same transaction: the
 *  worker ends the mailbox's open IMAP/POP3/ManageSieve sessions (provision-mailbox with
 *  endSessions). PENDING until it has. */
export async function endSessionsAfterCommit(tx: Tx, ctx: Context, mailboxId: string) {
  await tx.mailbox.update({ where: { id: mailboxId }, data: { provisioning: 'PENDING' } });
  await enqueue(ctx.boss, tx, 'provision-mailbox', { mailboxId, endSessions: true });
}

builder.mutationFields((t) => ({
  createMailbox: t.field({
    type: Mailbox,
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'mailbox' } },
    args: {
      username: t.arg.string({ required: true, description: 'The local part, before the @' }),
      domain: t.arg.string({ required: true, description: 'Domain name' }),
      password: t.arg.string({ required: true }),
      quotaMb: t.arg.int({ required: false, description: `0 = unlimited; default from DEFAULT_QUOTA_MB` }),
      language: t.arg.string({ required: false, description: `One of ${MAILBOX_LANGUAGES.join(', ')}; absent or "" = English` }),
    },
    resolve: async (_root, args, ctx) => {
      const errors = new FieldErrors();
      const { localPart, domain: domainName } = checkMailboxAddress(errors, { username: args.username, domain: args.domain });
      checkPassword(errors, 'password', args.password, { minScore: config().PASSWORD_MIN_SCORE, userInputs: [args.username, args.domain] });
      const quotaMb = args.quotaMb ?? config().DEFAULT_QUOTA_MB;
      checkQuota(errors, 'quotaMb', quotaMb);
      const language = args.language == null ? null : checkMailboxLanguage(errors, 'language', args.language);
      errors.throwIfAny();
      const passwordHash = await hashPassword(args.password);
      return transaction(async (tx) => {
        const domain = await tx.domain.findFirst({
          where: { name: domainName!, ...tenantWhere.domain(ctx.viewer) },
          include: { customer: { include: { package: true } } },
        });
        if (!domain) throw ValidationError.of('domain', 'NOT_FOUND', `Domain ${domainName} not found`);
        if (domain.aliasOfId) throw ValidationError.of('domain', 'ALIAS_DOMAIN', aliasDomainHasNoAddresses(domain.nameUnicode));
        const pkg = domain.customer.package;
        await lockCustomer(tx, domain.customerId);
        const address = `${localPart}@${domain.name}`;
        await assertAddressFree(tx, address, 'username');
        await checkMailboxCount(tx, domain.customerId, pkg.maxMailboxes);
        await checkQuotaBudget(tx, domain.customerId, pkg.totalQuotaMb, quotaMb, null);
        const mailbox = await tx.mailbox.create({
          data: { localPart: localPart!, domainId: domain.id, address, passwordHash, quotaMb, language },
          select: MAILBOX_COLUMNS,
        });
        await enqueue(ctx.boss, tx, 'provision-mailbox', { mailboxId: mailbox.id });
        await audit(tx, ctx, { action: 'mailbox.create', targetType: 'Mailbox', targetId: mailbox.id, targetLabel: address, customerId: domain.customerId, details: { quotaMb } });
        return mailbox;
      });
    },
  }),

  updateMailbox: t.field({
    type: Mailbox,
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'mailbox' } },
    args: {
      id: t.arg.id({ required: true }),
      quotaMb: t.arg.int({ required: false }),
      status: t.arg({ type: MailboxStatusEnum, required: false }),
      language: t.arg.string({ required: false, description: `One of ${MAILBOX_LANGUAGES.join(', ')}; "" = English; absent = unchanged` }),
    },
    resolve: (_root, args, ctx) =>
      transaction(async (tx) => {
        const current = await loadMailbox(tx, ctx, String(args.id));
        const data: { quotaMb?: number; status?: MailboxStatus; language?: string | null } = {};
        if (args.language != null) {
          const errors = new FieldErrors();
          const language = checkMailboxLanguage(errors, 'language', args.language);
          errors.throwIfAny();
          if (language !== current.language) data.language = language ?? null;
        }
        if (args.quotaMb != null && args.quotaMb !== current.quotaMb) {
          const errors = new FieldErrors();
          checkQuota(errors, 'quotaMb', args.quotaMb);
          errors.throwIfAny();
          await lockCustomer(tx, current.domain.customerId);
          await checkQuotaBudget(tx, current.domain.customerId, current.domain.customer.package.totalQuotaMb, args.quotaMb, current.id);
          data.quotaMb = args.quotaMb;
        }
        if (args.status && args.status !== current.status) data.status = args.status;
        if (data.status === 'DISABLED') await endSessionsAfterCommit(tx, ctx, current.id);
        const mailbox = await tx.mailbox.update({ where: { id: current.id }, data, select: MAILBOX_COLUMNS });
        // The limit is part of what mailboxQuota streams (delivered when the transaction commits).
        if (data.quotaMb !== undefined) await publish(tx, 'mailbox:' + current.id, { id: current.id });
        await audit(tx, ctx, { action: 'mailbox.update', targetType: 'Mailbox', targetId: current.id, targetLabel: current.address, customerId: current.domain.customerId, details: data });
        return mailbox;
      }),
  }),

  setMailboxStatus: t.field({
    type: Mailbox,
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'mailbox' } },
    args: { id: t.arg.id({ required: true }), status: t.arg({ type: MailboxStatusEnum, required: true }) },
    resolve: (_root, args, ctx) =>
      transaction(async (tx) => {
        const current = await loadMailbox(tx, ctx, String(args.id));
        if (args.status === 'DISABLED') await endSessionsAfterCommit(tx, ctx, current.id);
        const mailbox = await tx.mailbox.update({ where: { id: current.id }, data: { status: args.status }, select: MAILBOX_COLUMNS });
        await audit(tx, ctx, {
          action: args.status === 'ACTIVE' ? 'mailbox.enable' : 'mailbox.disable',
          targetType: 'Mailbox', targetId: current.id, targetLabel: current.address, customerId: current.domain.customerId,
        });
        return mailbox;
      }),
  }),

  changeMailboxPassword: t.field({
    type: Mailbox,
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'mailbox' } },
    args: { id: t.arg.id({ required: true }), password: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const errors = new FieldErrors();
      checkPassword(errors, 'password', args.password);
      errors.throwIfAny();
      // Its address is one of the things a guesser tries first: the strength check needs the mailbox.
      const mailbox = await loadMailbox(db(), ctx, String(args.id));
      checkPassword(errors, 'password', args.password, { minScore: config().PASSWORD_MIN_SCORE, userInputs: [mailbox.address] });
      errors.throwIfAny();
      const passwordHash = await hashPassword(args.password);
      return transaction(async (tx) => {
        const current = await loadMailbox(tx, ctx, String(args.id));
        await endSessionsAfterCommit(tx, ctx, current.id);
        const mailbox = await tx.mailbox.update({ where: { id: current.id }, data: { passwordHash }, select: MAILBOX_COLUMNS });
        // Sessions opened with the old password end, at once (auth/revocation.ts) — except the owner's own, which made the change.
        const own = ctx.viewer.kind === 'mailbox' && ctx.viewer.sessionId ? { NOT: { familyId: ctx.viewer.sessionId } } : {};
        await tx.refreshToken.updateMany({ where: { mailboxId: current.id, revokedAt: null, ...own }, data: { revokedAt: new Date() } });
        await audit(tx, ctx, { action: 'mailbox.password', targetType: 'Mailbox', targetId: current.id, targetLabel: current.address, customerId: current.domain.customerId });
        return mailbox;
      });
    },
  }),

  recalculateQuota: t.field({
    type: Mailbox,
    description:
      'Measures the storage use of the mailbox again (from Dovecot, or its Maildir without one). The worker does it shortly; ' +
      'mailboxQuota / mailboxChanged stream the result. Usage is also refreshed on a schedule.',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'mailbox' } },
    args: { mailboxId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      transaction(async (tx) => {
        const current = await loadMailbox(tx, ctx, String(args.mailboxId));
        await enqueue(ctx.boss, tx, 'quota-refresh', { mailboxId: current.id });
        await audit(tx, ctx, { action: 'mailbox.quota.recalculate', targetType: 'Mailbox', targetId: current.id, targetLabel: current.address, customerId: current.domain.customerId });
        return current;
      }),
  }),

  deleteMailbox: t.field({
    type: 'ID',
    description:
      'Removes the address from the mail servers at once. Without a grace period in its package, a job then deletes all its mail and the row; ' +
      'with one (HostingPackage.deleteGraceDays), the mailbox is kept, deleted (deletedAt, purgeAt), until restoreMailbox or its purge. Returns the id.',
    authScopes: { $all: { panelUser: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'deletedId' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      transaction(async (tx) => {
        const current = await loadMailbox(tx, ctx, String(args.id));
        const graceDays = current.domain.customer.package.deleteGraceDays;
        const audited = { targetType: 'Mailbox', targetId: current.id, targetLabel: current.address, customerId: current.domain.customerId };
        if (graceDays === 0) {
          await beginPurge(ctx.boss, tx, current.id);
          await audit(tx, ctx, { action: 'mailbox.delete', ...audited });
          return String(args.id);
        }
        const deletedAt = new Date();
        const purgeAt = purgeDate(deletedAt, graceDays);
        // Out of the mail views on commit; the worker ends its open Dovecot sessions (they outlive a view change).
        await endSessionsAfterCommit(tx, ctx, current.id);
        await tx.mailbox.update({ where: { id: current.id }, data: { deletedAt, purgeAt } });
        await tx.refreshToken.updateMany({ where: { mailboxId: current.id, revokedAt: null }, data: { revokedAt: deletedAt } });
        await publish(tx, 'mailbox:' + current.id, { id: current.id });
        await audit(tx, ctx, { action: 'mailbox.delete', ...audited, details: { graceDays, purgeAt: purgeAt.toISOString() } });
        return String(args.id);
      }),
  }),
}));

const quotaSelect = { quotaUsedBytes: true, quotaMb: true, quotaMessages: true, quotaUpdatedAt: true, quotaWarnedPercent: true } as const;

builder.subscriptionFields((t) => ({
  mailboxQuota: t.field({
    type: MailboxQuota,
    description: 'The storage use of a mailbox: its current value at once, then each change (usage measured by the worker, or a new limit). Ends when the mailbox is deleted.',
    authScopes: { authenticated: true },
    args: { mailboxId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const id = idOf(String(args.mailboxId), 'Mailbox');
      const where = { id, provisioning: { not: 'DELETING' as const }, ...tenantWhere.mailbox(ctx.viewer) };
      if (!(await db().mailbox.count({ where }))) throw new NotFoundError('Mailbox');
      return new Repeater<ReturnType<typeof quotaOf>>(async (push, stop) => {
        const events = ctx.pubsub.subscribe('mailbox', id);
        void stop.then(() => events.return?.());
        let last = '';
        // Every event is answered with the row as it is now; only a different quota is sent on.
        const emit = async () => {
          const row = await db().mailbox.findFirst({ where, select: quotaSelect });
          if (!row) return false;
          const quota = quotaOf(row);
          const key = JSON.stringify(quota);
          if (key !== last) {
            last = key;
            await push(quota);
          }
          return true;
        };
        try {
          if (await emit()) {
            for await (const _event of events) if (!(await emit())) break;
          }
        } finally {
          stop();
        }
      });
    },
    resolve: (quota) => quota,
  }),

  mailboxChanged: t.prismaField({
    type: 'Mailbox',
    description:
      'Emits the mailbox whenever its provisioning state or quota usage changes. Deleting it sends its DELETING state; the subscription completes once the mailbox is gone or no longer visible to the viewer.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const id = idOf(String(args.id), 'Mailbox');
      const where = { id, ...tenantWhere.mailbox(ctx.viewer) };
      const events = ctx.pubsub.subscribe('mailbox', id);
      if (!(await db().mailbox.count({ where }))) {
        await events.return?.();
        throw new NotFoundError('Mailbox');
      }
      return whileVisible(events, (payload) => loadOncePerEvent(payload, ['visible', where], async () => (await db().mailbox.count({ where })) > 0));
    },
    resolve: async (query, payload, _args, ctx) => {
      const where = { id: (payload as unknown as { id: string }).id, ...tenantWhere.mailbox(ctx.viewer) };
      return loadOncePerEvent(payload as object, [query, where], () => visibleRow(db().mailbox.findFirst({ ...query, where }), 'Mailbox'));
    },
  }),
}));
