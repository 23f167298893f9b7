// Tenant boundaries, declared once per model as Prisma where-filters. Every lookup of a row by id,
// every connection and every mutation goes through these, so a row of another tenant is simply not
// found: admin → everything; customer → its own domains and what hangs off them; mailbox owner →
// its own mailbox. (Role gates — who may call a field at all — are scope-auth's job in builder.ts.)
import type { Prisma } from '@mailpanel/core/db';
import type { Viewer } from './context.js';

const NOTHING = { id: { in: [] as string[] } };
const NO_ID = '00000000-0000-0000-0000-000000000000';
const NOTHING_COUNTED = { customerId: { in: [] as string[] } };

const rules = {
  customer(v: Viewer): Prisma.CustomerWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { id: v.customerId ?? NO_ID };
    if (v.kind === 'mailbox') return { id: v.customerId };
    return NOTHING;
  },
  domain(v: Viewer): Prisma.DomainWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { customerId: v.customerId ?? NO_ID };
    if (v.kind === 'mailbox') return { mailboxes: { some: { id: v.mailboxId } } };
    return NOTHING;
  },
  mailbox(v: Viewer): Prisma.MailboxWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { customerId: v.customerId ?? NO_ID };
    if (v.kind === 'mailbox') return { id: v.mailboxId };
    return NOTHING;
  },
  /** The live counts are per customer: a mailbox owner's listings count their one row instead. */
  mailboxCount(v: Viewer): Prisma.MailboxCountWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { customerId: v.customerId ?? NO_ID };
    return NOTHING_COUNTED;
  },
  forward(v: Viewer): Prisma.ForwardWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { domain: { customerId: v.customerId ?? NO_ID } };
    return NOTHING;
  },
  user(v: Viewer): Prisma.UserWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { id: v.userId };
    return NOTHING;
  },
  apiToken(v: Viewer): Prisma.ApiTokenWhereInput {
    if (v.kind === 'user') return { userId: v.userId };
    return NOTHING;
  },
  auditEvent(v: Viewer): Prisma.AuditEventWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { customerId: v.customerId ?? NO_ID };
    if (v.kind === 'mailbox') return { targetType: 'Mailbox', targetId: v.mailboxId };
    return NOTHING;
  },
  migration(v: Viewer): Prisma.MigrationWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { mailbox: { customerId: v.customerId ?? NO_ID } };
    if (v.kind === 'mailbox') return { mailboxId: v.mailboxId };
    return NOTHING;
  },
  /** Bulk migrations (issue 16): a customer sees those that fill its mailboxes; mailbox owners none. */
  bulkMigration(v: Viewer): Prisma.BulkMigrationWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { customerId: v.customerId ?? NO_ID };
    return NOTHING;
  },
  hostingPackage(v: Viewer): Prisma.HostingPackageWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { customers: { some: { id: v.customerId ?? NO_ID } } };
    return NOTHING;
  },
  dkimKey(v: Viewer): Prisma.DkimKeyWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { domain: { customerId: v.customerId ?? NO_ID } };
    return NOTHING;
  },
  spamListEntry(v: Viewer): Prisma.SpamListEntryWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { domain: { customerId: v.customerId ?? NO_ID } };
    return NOTHING;
  },
  /** A CSV import is its customer's (one whose rows span customers, an admin's alone). */
  bulkImport(v: Viewer): Prisma.BulkImportWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { customerId: v.customerId ?? NO_ID };
    return NOTHING;
  },
  quarantineItem(v: Viewer): Prisma.QuarantineItemWhereInput {
    if (v.kind === 'user') return v.role === 'ADMIN' ? {} : { domain: { customerId: v.customerId ?? NO_ID } };
    if (v.kind === 'mailbox') return { mailboxId: v.mailboxId };
    return NOTHING;
  },
};

type Rules = typeof rules;

/** Each rule is wrapped in AND so that spreading it next to a caller's own `id` can never replace
 *  that id: `{ id, ...tenantWhere.mailbox(v) }` must mean "this id AND inside my tenancy". */
export const tenantWhere = Object.fromEntries(
  Object.entries(rules).map(([name, rule]) => [name, (v: Viewer) => ({ AND: [rule(v)] })]),
) as { [K in keyof Rules]: (v: Viewer) => ReturnType<Rules[K]> };
