import { db, type Tx } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { FieldErrors, LimitExceededError, ValidationError } from '@mailpanel/core/errors';
import { enqueue } from '@mailpanel/core/jobs';
import { DkimAlgorithm, DkimKeyStatus, SpamAction, SpamListKind } from '@mailpanel/core/generated/prisma/enums';
import { compareDkim, compareDmarc, compareHostRecord, compareSpf, type DnsCheckStatus } from '@mailpanel/core/dns-check';
import { defaultDkimSelector, dkimRecord, dmarcRecord, normalizeDkimSelector, spfRecord, type DnsRecord } from '@mailpanel/core/render/dkim';
import { mailServiceRecords, type MailRecordKind } from '@mailpanel/core/render/mail-dns';
import { checkListValue, RspamdRenderError, SPAM_THRESHOLD_MAX, SPAM_THRESHOLD_MIN } from '@mailpanel/core/render/rspamd';
import { normalizeAddress, normalizeDomain, searchTerm } from '@mailpanel/core/validation';
import { builder } from '../builder.js';
import { audit } from '../audit.js';
import type { Context } from '../context.js';
import { lookupHostRecords, lookupTxt } from '../dns-lookup.js';
import { tenantWhere } from '../tenancy.js';
import { idOf, notFoundUnless, transaction, selection } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';
import { ProvisioningStateEnum } from './mailbox.js';

export const DkimAlgorithmEnum = builder.enumType(DkimAlgorithm, { name: 'DkimAlgorithm' });
export const DkimKeyStatusEnum = builder.enumType(DkimKeyStatus, {
  name: 'DkimKeyStatus',
  description: 'ACTIVE signs outbound mail; PENDING was rotated in beside it (publish its record, then activate it); RETIRED no longer signs.',
});
export const SpamActionEnum = builder.enumType(SpamAction, {
  name: 'SpamAction',
  description: 'MARK: delivered with spam headers into Junk. QUARANTINE: held away from the mailbox until released. REJECT: refused at SMTP time (5xx).',
});
export const SpamListKindEnum = builder.enumType(SpamListKind, { name: 'SpamListKind' });

/** Most entries one domain's white and blacklists may hold together. */
export const MAX_SPAM_LIST_ENTRIES = 1000;

export const DnsRecordRef = builder.objectRef<DnsRecord>('DnsRecord').implement({
  description:
    'A DNS record to publish (TXT, MX, CNAME or SRV). `values` is a TXT value split into strings of at most 255 bytes (one string for the other types); `zoneValue` is the value as a zone file writes it.',
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.exposeString('type'),
    value: t.exposeString('value'),
    values: t.exposeStringList('values'),
    zoneValue: t.exposeString('zoneValue'),
  }),
});

const MailRecordKindEnum = builder.enumType('MailRecordKind', {
  values: ['MX', 'AUTOCONFIG', 'AUTODISCOVER', 'SRV'] as const,
  description: 'MX: where the domain’s mail is delivered. AUTOCONFIG, AUTODISCOVER: the host names mail clients (Thunderbird, Outlook) ask for settings. SRV: IMAP and submission for clients that look them up (RFC 6186).',
});

const MailDnsRecordRef = builder.objectRef<{ kind: MailRecordKind; record: DnsRecord }>('MailDnsRecord').implement({
  fields: (t) => ({
    kind: t.field({ type: MailRecordKindEnum, resolve: (r) => r.kind }),
    record: t.field({ type: DnsRecordRef, resolve: (r) => r.record }),
  }),
});

export const DkimKey = builder.prismaNode('DkimKey', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.dkimKey(ctx.viewer) }) as never,
  fields: (t) => ({
    selector: t.exposeString('selector'),
    algorithm: t.expose('algorithm', { type: DkimAlgorithmEnum }),
    status: t.expose('status', { type: DkimKeyStatusEnum }),
    provisioning: t.expose('provisioning', { type: ProvisioningStateEnum, description: 'PENDING while the worker makes the key pair' }),
    provisioningError: t.exposeString('provisioningError', {
      nullable: true,
      description: 'Why the last try failed: while PENDING, the worker is retrying with backoff; FAILED after the last try',
    }),
    dnsRecord: t.field({
      type: DnsRecordRef,
      nullable: true,
      description: 'The TXT record to publish; null until the key pair exists.',
      select: { publicKey: true, algorithm: true, selector: true, domain: { select: { name: true } } },
      resolve: (k) => (k.publicKey ? dkimRecord(k.domain.name, k.selector, k.algorithm, k.publicKey) : null),
    }),
    domain: t.relation('domain'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    activatedAt: t.expose('activatedAt', { type: 'DateTime', nullable: true }),
    retiredAt: t.expose('retiredAt', { type: 'DateTime', nullable: true }),
  }),
});

interface SpamSettingsShape {
  threshold: number;
  action: SpamAction;
  greylisting: boolean;
  updatedAt: Date | null;
}

const SpamSettingsRef = builder.objectRef<SpamSettingsShape>('SpamSettings').implement({
  description: `What rspamd does with mail to this domain: messages scoring at least \`threshold\` (${SPAM_THRESHOLD_MIN}–${SPAM_THRESHOLD_MAX}) are spam and get \`action\`.`,
  fields: (t) => ({
    threshold: t.exposeFloat('threshold'),
    action: t.expose('action', { type: SpamActionEnum }),
    greylisting: t.exposeBoolean('greylisting', { description: 'Defer the first attempt of an unknown sender (4xx); a retry after the delay is accepted.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const SpamListEntry = builder.prismaNode('SpamListEntry', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, ...tenantWhere.spamListEntry(ctx.viewer) }) as never,
  fields: (t) => ({
    kind: t.expose('kind', { type: SpamListKindEnum }),
    value: t.exposeString('value', { description: '`user@example.com`, or `@example.com` for every sender of that domain' }),
    domain: t.relation('domain'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.prismaObjectFields('Domain', (t) => ({
  dkim: t.field({
    type: DkimKey,
    nullable: true,
    authScopes: { panelUser: true },
    description: 'The key rspamd signs this domain’s mail with; null when DKIM is off.',
    select: (_args, _ctx, nested) => ({ dkimKeys: nested({ where: { status: 'ACTIVE' }, take: 1 }) }),
    resolve: (d) => d.dkimKeys[0] ?? null,
  }),
  dkimKeys: t.relation('dkimKeys', {
    authScopes: { panelUser: true },
    description: 'The active key and a rotated-in (pending) one, newest first; retired keys with includeRetired.',
    args: { includeRetired: t.arg.boolean({ required: false }) },
    query: (args) => ({ where: args.includeRetired ? {} : { status: { not: 'RETIRED' as const } }, orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }] }),
  }),
  spfRecord: t.field({
    type: DnsRecordRef,
    authScopes: { panelUser: true },
    description: 'The SPF record we recommend publishing.',
    select: { name: true },
    resolve: (d) => spfRecord(d.name, { mailHostname: config().MAIL_HOSTNAME }),
  }),
  dmarcRecord: t.field({
    type: DnsRecordRef,
    authScopes: { panelUser: true },
    description: 'The DMARC record we recommend publishing.',
    select: { name: true },
    resolve: (d) => dmarcRecord(d.name),
  }),
  mailRecords: t.field({
    type: [MailDnsRecordRef],
    authScopes: { panelUser: true },
    description:
      'The records that bring the domain’s mail to this server and let mail clients find it: MX, autoconfig and autodiscover (CNAME), SRV for IMAP (993) and submission (587). Empty while the server’s MAIL_HOSTNAME is not set.',
    select: { name: true },
    resolve: (d) => mailServiceRecords(d.name, config().MAIL_HOSTNAME),
  }),
  spamSettings: t.field({
    type: SpamSettingsRef,
    authScopes: { panelUser: true },
    select: { spamThreshold: true, spamAction: true, greylisting: true, spamSettingsUpdatedAt: true },
    resolve: (d) => ({ threshold: d.spamThreshold, action: d.spamAction, greylisting: d.greylisting, updatedAt: d.spamSettingsUpdatedAt }),
  }),
  spamList: t.relatedConnection('spamListEntries', {
    cursor: 'id',
    authScopes: { panelUser: true },
    totalCount: true,
    args: { kind: t.arg({ type: SpamListKindEnum, required: false }), search: t.arg.string({ required: false }) },
    query: (args) => {
      const q = searchTerm(args.search);
      return {
        where: { ...(args.kind ? { kind: args.kind } : {}), ...(q ? { value: q } : {}) },
        orderBy: [{ kind: 'asc' as const }, { value: 'asc' as const }, { id: 'asc' as const }],
      };
    },
  }),
}));

// --- DNS check ------------------------------------------------------------------------------------

const DnsRecordKind = builder.enumType('DnsRecordKind', { values: ['DKIM', 'SPF', 'DMARC', 'MX', 'AUTOCONFIG', 'AUTODISCOVER', 'SRV'] as const });
const DnsCheckStatusEnum = builder.enumType('DnsCheckStatus', {
  values: ['MATCH', 'MISSING', 'DIFFERENT', 'LOOKUP_FAILED'] as const,
  description: 'MATCH: published as recommended. MISSING: no such record. DIFFERENT: a record exists but says something else. LOOKUP_FAILED: DNS did not answer.',
});

interface RecordCheck {
  kind: 'DKIM' | 'SPF' | 'DMARC' | MailRecordKind;
  selector: string | null;
  expected: DnsRecord;
  status: DnsCheckStatus | 'LOOKUP_FAILED';
  found: string[];
  error: string | null;
}

const DnsRecordCheck = builder.objectRef<RecordCheck>('DnsRecordCheck').implement({
  fields: (t) => ({
    kind: t.field({ type: DnsRecordKind, resolve: (r) => r.kind }),
    selector: t.exposeString('selector', { nullable: true, description: 'The DKIM key’s selector' }),
    name: t.string({ resolve: (r) => r.expected.name }),
    expected: t.field({ type: DnsRecordRef, resolve: (r) => r.expected }),
    status: t.field({ type: DnsCheckStatusEnum, resolve: (r) => r.status }),
    found: t.exposeStringList('found', { description: 'What DNS answered (TXT strings joined; MX, CNAME and SRV in presentation order, e.g. "10 mx.example.net")' }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

const DnsCheck = builder.objectRef<{ domainId: string; checkedAt: Date; records: RecordCheck[] }>('DnsCheck').implement({
  fields: (t) => ({
    domain: t.prismaField({ type: 'Domain', resolve: (q, r) => db().domain.findUniqueOrThrow({ ...q, where: { id: r.domainId } }) }),
    checkedAt: t.expose('checkedAt', { type: 'DateTime' }),
    records: t.field({ type: [DnsRecordCheck], resolve: (r) => r.records }),
  }),
});

async function checkRecord(kind: RecordCheck['kind'], expected: DnsRecord, selector: string | null): Promise<RecordCheck> {
  if (expected.type !== 'TXT') {
    const answer = await lookupHostRecords(expected.name, expected.type);
    if (!answer.ok) return { kind, selector, expected, status: 'LOOKUP_FAILED', found: [], error: answer.error };
    const r = compareHostRecord(expected.type, expected.value, answer.answers);
    return { kind, selector, expected, status: r.status, found: r.found, error: null };
  }
  const answer = await lookupTxt(expected.name);
  if (!answer.ok) return { kind, selector, expected, status: 'LOOKUP_FAILED', found: [], error: answer.error };
  const compare = kind === 'DKIM' ? compareDkim : kind === 'SPF' ? compareSpf : compareDmarc;
  const r = compare(expected.value, answer.answers);
  return { kind, selector, expected, status: r.status, found: r.found, error: null };
}

// --- mutations ------------------------------------------------------------------------------------

async function loadDomain(tx: Tx, ctx: Context, globalId: string | number) {
  return notFoundUnless(await tx.domain.findFirst({ where: { id: idOf(String(globalId), 'Domain'), ...tenantWhere.domain(ctx.viewer) } }), 'Domain');
}

/** The spam policy of an alias domain is its target's (worker/src/email-security/rspamd-sync.ts). */
async function loadPolicyDomain(tx: Tx, ctx: Context, globalId: string | number) {
  const domain = await loadDomain(tx, ctx, globalId);
  if (domain.aliasOfId)
    throw ValidationError.of('domainId', 'ALIAS_DOMAIN', `${domain.nameUnicode} is an alias domain: it follows the spam policy of its target domain`);
  return domain;
}

/** Serialises DKIM changes of one domain (two rotations at once must not both create a key). */
async function lockDomain(tx: Tx, domainId: string) {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`domain:${domainId}`}))`;
}

function selectorFor(errors: FieldErrors, input: string | null | undefined, taken: string[]): string | null {
  if (input == null || input.trim() === '') return defaultDkimSelector(new Date(), taken);
  const s = normalizeDkimSelector(input);
  if (!s) errors.add('selector', 'INVALID', 'A selector is one DNS label: letters, digits and hyphens (not at the start or end), up to 63 characters');
  else if (taken.includes(s)) errors.add('selector', 'TAKEN', `Selector ${s} was already used for this domain; choose another`);
  return s;
}

const WRITE = { $all: { panelUser: true, write: true } } as const;

const SpamSettingsInput = builder.inputType('SpamSettingsInput', {
  fields: (t) => ({
    threshold: t.float({ required: false, description: `${SPAM_THRESHOLD_MIN}–${SPAM_THRESHOLD_MAX}; rspamd scores at or above it are spam` }),
    action: t.field({ type: SpamActionEnum, required: false }),
    greylisting: t.boolean({ required: false }),
  }),
});

/** A white/blacklist value as typed: an address, or @domain. Returns the stored form or adds an error. */
export function normalizeListValue(errors: FieldErrors, input: string): string | null {
  const v = input.trim().toLowerCase();
  let value: string | null = null;
  if (v.startsWith('@')) {
    const d = normalizeDomain(v.slice(1));
    value = d ? `@${d}` : null;
  } else value = normalizeAddress(v);
  if (!value) {
    errors.add('value', 'INVALID', 'Enter an address (user@example.com) or a whole domain (@example.com)');
    return null;
  }
  try {
    return checkListValue('value', value);
  } catch (e) {
    if (!(e instanceof RspamdRenderError)) throw e;
    errors.add('value', 'UNSUPPORTED', 'This address contains characters the spam filter cannot match (such as $); use the whole domain instead');
    return null;
  }
}

builder.mutationFields((t) => ({
  enableDkim: t.prismaField({
    type: 'Domain',
    description: 'Turns DKIM signing on with a new key (made by the worker; publish Domain.dkim.dnsRecord). Default RSA-2048; the selector defaults to s<yyyymmdd>.',
    authScopes: WRITE,
    errors: { types: MUTATION_ERRORS, dataField: { name: 'domain' } },
    args: {
      domainId: t.arg.id({ required: true }),
      selector: t.arg.string({ required: false }),
      algorithm: t.arg({ type: DkimAlgorithmEnum, required: false, defaultValue: 'RSA_2048' }),
    },
    resolve: (query, _root, args, ctx) =>
      transaction(async (tx) => {
        const domain = await loadDomain(tx, ctx, args.domainId);
        await lockDomain(tx, domain.id);
        const keys = await tx.dkimKey.findMany({ where: { domainId: domain.id }, select: { selector: true, status: true } });
        if (keys.some((k) => k.status === 'ACTIVE'))
          throw ValidationError.of('domainId', 'ALREADY_ENABLED', 'DKIM is already on for this domain; rotate its key to change it');
        const errors = new FieldErrors();
        const selector = selectorFor(errors, args.selector, keys.map((k) => k.selector));
        errors.throwIfAny();
        const algorithm = args.algorithm ?? 'RSA_2048';
        const key = await tx.dkimKey.create({ data: { domainId: domain.id, selector: selector!, algorithm, status: 'ACTIVE', activatedAt: new Date() } });
        await enqueue(ctx.boss, tx, 'dkim-key', { keyId: key.id });
        await audit(tx, ctx, { action: 'dkim.enable', targetType: 'Domain', targetId: domain.id, targetLabel: domain.name, customerId: domain.customerId, details: { selector, algorithm } });
        return tx.domain.findUniqueOrThrow({ ...selection(query), where: { id: domain.id } });
      }),
  }),

  disableDkim: t.prismaField({
    type: 'Domain',
    description: 'Stops signing: every key of the domain is retired and its key file removed.',
    authScopes: WRITE,
    errors: { types: MUTATION_ERRORS, dataField: { name: 'domain' } },
    args: { domainId: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      transaction(async (tx) => {
        const domain = await loadDomain(tx, ctx, args.domainId);
        await lockDomain(tx, domain.id);
        const retired = await tx.dkimKey.updateMany({ where: { domainId: domain.id, status: { not: 'RETIRED' } }, data: { status: 'RETIRED', retiredAt: new Date() } });
        if (retired.count > 0) {
          await enqueue(ctx.boss, tx, 'rspamd-sync', { reason: 'dkim.disable' });
          await audit(tx, ctx, { action: 'dkim.disable', targetType: 'Domain', targetId: domain.id, targetLabel: domain.name, customerId: domain.customerId });
        }
        return tx.domain.findUniqueOrThrow({ ...selection(query), where: { id: domain.id } });
      }),
  }),

  rotateDkimKey: t.prismaField({
    type: 'Domain',
    description: 'Makes a new key beside the active one (status PENDING, under a new selector). Publish its record, then activateDkimKey; the old key signs until then.',
    authScopes: WRITE,
    errors: { types: MUTATION_ERRORS, dataField: { name: 'domain' } },
    args: {
      domainId: t.arg.id({ required: true }),
      selector: t.arg.string({ required: false }),
      algorithm: t.arg({ type: DkimAlgorithmEnum, required: false, description: 'Default: the active key’s' }),
    },
    resolve: (query, _root, args, ctx) =>
      transaction(async (tx) => {
        const domain = await loadDomain(tx, ctx, args.domainId);
        await lockDomain(tx, domain.id);
        const keys = await tx.dkimKey.findMany({ where: { domainId: domain.id }, select: { selector: true, status: true, algorithm: true } });
        const active = keys.find((k) => k.status === 'ACTIVE');
        if (!active) throw ValidationError.of('domainId', 'NOT_ENABLED', 'DKIM is off for this domain; enable it first');
        if (keys.some((k) => k.status === 'PENDING'))
          throw ValidationError.of('domainId', 'ROTATION_PENDING', 'A new key is already waiting: activate it, or disable DKIM to start over');
        const errors = new FieldErrors();
        const selector = selectorFor(errors, args.selector, keys.map((k) => k.selector));
        errors.throwIfAny();
        const algorithm = args.algorithm ?? active.algorithm;
        const key = await tx.dkimKey.create({ data: { domainId: domain.id, selector: selector!, algorithm, status: 'PENDING' } });
        await enqueue(ctx.boss, tx, 'dkim-key', { keyId: key.id });
        await audit(tx, ctx, { action: 'dkim.rotate', targetType: 'Domain', targetId: domain.id, targetLabel: domain.name, customerId: domain.customerId, details: { selector, algorithm } });
        return tx.domain.findUniqueOrThrow({ ...selection(query), where: { id: domain.id } });
      }),
  }),

  activateDkimKey: t.prismaField({
    type: 'Domain',
    description: 'Switches signing to a rotated-in (PENDING) key; the previous key is retired.',
    authScopes: WRITE,
    errors: { types: MUTATION_ERRORS, dataField: { name: 'domain' } },
    args: { id: t.arg.id({ required: true, description: 'The DkimKey' }) },
    resolve: (query, _root, args, ctx) =>
      transaction(async (tx) => {
        const key = notFoundUnless(
          await tx.dkimKey.findFirst({ where: { id: idOf(String(args.id), 'DkimKey'), ...tenantWhere.dkimKey(ctx.viewer) }, include: { domain: true } }),
          'DkimKey',
        );
        await lockDomain(tx, key.domainId);
        const current = await tx.dkimKey.findUniqueOrThrow({ where: { id: key.id } });
        if (current.status !== 'PENDING') throw ValidationError.of('id', 'NOT_PENDING', 'Only a rotated-in (pending) key can be activated');
        if (current.provisioning !== 'READY') throw ValidationError.of('id', 'NOT_READY', 'The key pair is still being made; try again in a moment');
        const now = new Date();
        await tx.dkimKey.updateMany({ where: { domainId: key.domainId, status: 'ACTIVE' }, data: { status: 'RETIRED', retiredAt: now } });
        await tx.dkimKey.update({ where: { id: key.id }, data: { status: 'ACTIVE', activatedAt: now } });
        await enqueue(ctx.boss, tx, 'rspamd-sync', { reason: 'dkim.activate' });
        await audit(tx, ctx, { action: 'dkim.activate', targetType: 'Domain', targetId: key.domainId, targetLabel: key.domain.name, customerId: key.domain.customerId, details: { selector: key.selector } });
        return tx.domain.findUniqueOrThrow({ ...selection(query), where: { id: key.domainId } });
      }),
  }),

  checkDnsRecords: t.field({
    type: DnsCheck,
    description: 'Looks up the domain’s DKIM, SPF, DMARC and mail service (MX, autoconfig, autodiscover, SRV) records in DNS and compares them with what the panel recommends.',
    authScopes: WRITE,
    errors: { types: MUTATION_ERRORS, dataField: { name: 'check' } },
    args: { domainId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const domain = notFoundUnless(
        await db().domain.findFirst({
          where: { id: idOf(String(args.domainId), 'Domain'), ...tenantWhere.domain(ctx.viewer) },
          include: { dkimKeys: { where: { status: { not: 'RETIRED' }, publicKey: { not: null } }, orderBy: { createdAt: 'asc' } } },
        }),
        'Domain',
      );
      const checks = await Promise.all([
        ...domain.dkimKeys.map((k) => checkRecord('DKIM', dkimRecord(domain.name, k.selector, k.algorithm, k.publicKey!), k.selector)),
        checkRecord('SPF', spfRecord(domain.name, { mailHostname: config().MAIL_HOSTNAME }), null),
        checkRecord('DMARC', dmarcRecord(domain.name), null),
        ...mailServiceRecords(domain.name, config().MAIL_HOSTNAME).map((m) => checkRecord(m.kind, m.record, null)),
      ]);
      await audit(db(), ctx, {
        action: 'dns.check', targetType: 'Domain', targetId: domain.id, targetLabel: domain.name, customerId: domain.customerId,
        details: Object.fromEntries(checks.map((c) => [c.selector ? `${c.kind}:${c.selector}` : c.kind === 'SRV' ? `SRV:${c.expected.name}` : c.kind, c.status])),
      });
      return { domainId: domain.id, checkedAt: new Date(), records: checks };
    },
  }),

  updateSpamSettings: t.prismaField({
    type: 'Domain',
    description: 'Changes the domain’s spam policy; rspamd applies it within seconds, without a restart.',
    authScopes: WRITE,
    errors: { types: MUTATION_ERRORS, dataField: { name: 'domain' } },
    args: { domainId: t.arg.id({ required: true }), input: t.arg({ type: SpamSettingsInput, required: true }) },
    resolve: (query, _root, { domainId, input }, ctx) => {
      const errors = new FieldErrors();
      const data: { spamThreshold?: number; spamAction?: SpamAction; greylisting?: boolean } = {};
      if (input.threshold != null) {
        if (!Number.isFinite(input.threshold) || input.threshold < SPAM_THRESHOLD_MIN || input.threshold > SPAM_THRESHOLD_MAX)
          errors.add('threshold', 'OUT_OF_RANGE', `The threshold must be between ${SPAM_THRESHOLD_MIN} and ${SPAM_THRESHOLD_MAX}`);
        else data.spamThreshold = Math.round(input.threshold * 100) / 100;
      }
      if (input.action != null) data.spamAction = input.action;
      if (input.greylisting != null) data.greylisting = input.greylisting;
      if (Object.keys(data).length === 0 && errors.errors.length === 0) errors.add('input', 'REQUIRED', 'Change at least one setting');
      errors.throwIfAny();
      return transaction(async (tx) => {
        const domain = await loadPolicyDomain(tx, ctx, domainId);
        const updated = await tx.domain.update({ ...selection(query), where: { id: domain.id }, data: { ...data, spamSettingsUpdatedAt: new Date() } });
        await enqueue(ctx.boss, tx, 'rspamd-sync', { reason: 'spam.settings' });
        await audit(tx, ctx, { action: 'spam.settings', targetType: 'Domain', targetId: domain.id, targetLabel: domain.name, customerId: domain.customerId, details: data });
        return updated;
      });
    },
  }),

  addSpamListEntry: t.field({
    type: SpamListEntry,
    description: 'Adds a sender (user@example.com) or a sender domain (@example.com) to the domain’s whitelist (never treated as spam) or blacklist (always spam).',
    authScopes: WRITE,
    errors: { types: MUTATION_ERRORS, dataField: { name: 'entry' } },
    args: { domainId: t.arg.id({ required: true }), kind: t.arg({ type: SpamListKindEnum, required: true }), value: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => {
      const errors = new FieldErrors();
      const value = normalizeListValue(errors, args.value);
      errors.throwIfAny();
      return transaction(async (tx) => {
        const domain = await loadPolicyDomain(tx, ctx, args.domainId);
        await lockDomain(tx, domain.id);
        const existing = await tx.spamListEntry.findUnique({ where: { domainId_value: { domainId: domain.id, value: value! } } });
        if (existing)
          throw ValidationError.of('value', 'TAKEN', `${value} is already on the ${existing.kind === 'WHITELIST' ? 'whitelist' : 'blacklist'}`);
        if ((await tx.spamListEntry.count({ where: { domainId: domain.id } })) >= MAX_SPAM_LIST_ENTRIES)
          throw new LimitExceededError('spamListEntries', MAX_SPAM_LIST_ENTRIES, `A domain's lists hold at most ${MAX_SPAM_LIST_ENTRIES} entries`, 'value');
        const entry = await tx.spamListEntry.create({ data: { domainId: domain.id, kind: args.kind, value: value! } });
        await enqueue(ctx.boss, tx, 'rspamd-sync', { reason: 'spam.list' });
        await audit(tx, ctx, { action: 'spam.list.add', targetType: 'Domain', targetId: domain.id, targetLabel: domain.name, customerId: domain.customerId, details: { kind: args.kind, value } });
        return entry;
      });
    },
  }),

  removeSpamListEntry: t.field({
    type: 'ID',
    authScopes: WRITE,
    errors: { types: MUTATION_ERRORS, dataField: { name: 'deletedId' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) =>
      transaction(async (tx) => {
        const entry = notFoundUnless(
          await tx.spamListEntry.findFirst({ where: { id: idOf(String(id), 'SpamListEntry'), ...tenantWhere.spamListEntry(ctx.viewer) }, include: { domain: true } }),
          'SpamListEntry',
        );
        await tx.spamListEntry.delete({ where: { id: entry.id } });
        await enqueue(ctx.boss, tx, 'rspamd-sync', { reason: 'spam.list' });
        await audit(tx, ctx, {
          action: 'spam.list.remove',
          targetType: 'Domain',
          targetId: entry.domainId,
          targetLabel: entry.domain.name,
          customerId: entry.domain.customerId,
          details: { kind: entry.kind, value: entry.value },
        });
        return String(id);
      }),
  }),
}));
