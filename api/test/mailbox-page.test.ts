// The mailbox listing's one-statement path (api/src/schema/mailbox-page.ts) must answer exactly what
// Prisma answers: the same JSON for every viewer, filter, order and cursor direction, with the panel's
// own selection and the benchmark's. Each page is asked twice — translated, then through Prisma — and
// the translated request must really have been one plain statement (no silent fallback).
import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, sql, startTestApp, success } from '../../test/harness.js';
import { onQuery } from '../../core/src/db.js';
import { columnOf, mailboxPageRows, pageReads } from '../src/schema/mailbox-page.js';

// The panel's selection (web/src/lib/mailbox.ts MailboxFields) and the benchmark's, in one.
const PAGE = `query($first:Int,$after:String,$last:Int,$before:String,$f:MailboxFilter,$o:MailboxOrder){
  mailboxes(first:$first, after:$after, last:$last, before:$before, filter:$f, orderBy:$o){
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id address asciiAddress localPart name quotaMb maxMessageSizeBytes status provisioning provisioningError
      autoresponderActive createdAt updatedAt deletedAt purgeAt deleteGraceDays language webmailUrl
      domain { id name asciiName enabled createdAt } customer { id name email createdAt }
      quota { usedBytes usedMb limitMb percent messages updatedAt warningPercent }
      autoresponder { enabled active subject message startsAt endsAt } } } } }`;
const ORDER_FIELDS = ['ADDRESS', 'DOMAIN', 'CREATED_AT', 'QUOTA_MB', 'QUOTA_USED', 'STATUS'];

describe('the mailbox listing in one statement (issue 15)', async () => {
  const t = await startTestApp();
  const a = await createTenant(t, { maxDomains: 5 });
  const b = await createTenant(t);
  const idn = success(
    (await t.ok(`mutation($n:String!,$c:ID!){ createDomain(name:$n, customerId:$c){ ... on MutationCreateDomainSuccess { domain { id } } } }`, { n: 'seite-bücher.test', c: a.customerId }, t.adminToken)).createDomain,
    'domain',
  );
  const made: { id: string; address: string }[] = [];
  for (let i = 0; i < 14; i++) made.push(await createMailbox(t, a.token, `m_${i % 3 === 0 ? 'x' : ''}${i}`, i % 4 === 0 ? 'seite-bücher.test' : a.domain, 'mailbox-pass-1', (i % 5) * 100));
  for (let i = 0; i < 6; i++) made.push(await createMailbox(t, b.token, `other${i}`, b.domain));
  // Varied rows, with ties in every order key (the id decides them): statuses, usage, times, names,
  // autoresponders in and out of their window, one deleted in its grace period.
  await sql(`UPDATE mailboxes SET status = 'DISABLED' WHERE local_part IN ('m_1', 'm_x6', 'other2')`);
  await sql(`UPDATE mailboxes SET quota_used_bytes = (length(local_part) % 3) * 5000000000, quota_messages = length(local_part), created_at = now() - (length(local_part) || ' days')::interval`);
  await sql(`UPDATE mailboxes SET name = 'Name of ' || local_part, language = 'de' WHERE local_part LIKE 'm_x%'`);
  await sql(`UPDATE mailboxes SET deleted_at = now(), purge_at = now() + interval '3 days' WHERE local_part = 'm_2'`);
  await sql(
    `INSERT INTO autoresponders (mailbox_id, enabled, subject, message, starts_at, ends_at)
     SELECT id, local_part <> 'm_4', 'Away', 'Back soon', CASE WHEN local_part = 'm_5' THEN now() + interval '1 day' END, NULL FROM mailboxes WHERE local_part IN ('m_3', 'm_4', 'm_5', 'other1')`,
  );
  const owner = await t.login(made[3]!.address, 'mailbox-pass-1');
  const viewers = { admin: t.adminToken, customer: a.token, owner };

  /** One request both ways: translated (which must be one plain statement) and through Prisma. */
  const both = async (token: string, variables: Record<string, unknown>) => {
    const statements: string[] = [];
    const off = onQuery((s) => statements.push(s));
    const translated = await t.gql(PAGE, variables, token);
    off();
    pageReads.translate = false;
    const prisma = await t.gql(PAGE, variables, token).finally(() => (pageReads.translate = true));
    expect(translated, JSON.stringify(variables)).toEqual(prisma);
    if (!translated.errors) {
      expect(statements.filter((s) => s.includes('FROM mailboxes t0 ')), 'the page was one plain statement').toHaveLength(1);
      // Its total came with it: nothing else but a search's look-up of IDN domains (an empty page has no row to carry it).
      // (The viewer's own checks — a mailbox owner's status, a token's revocation — are not the listing's.)
      const listing = statements.filter((s) => !s.includes('FROM mailboxes t0 ') && /"mailbox(es|_counts)"/.test(s) && /COUNT\(|SUM\(|ORDER BY/.test(s));
      if (translated.data!.mailboxes.edges.length) expect(listing).toEqual([]);
    }
    return translated;
  };

  /** Pages through the whole list forwards, then backwards, comparing every page. */
  const walk = async (token: string, f: object, o: object | undefined, size = 4) => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 20; guard++) {
      const r = (await both(token, { first: size, after, f, o })).data!.mailboxes;
      seen.push(...r.edges.map((e: any) => e.node.id));
      if (!r.pageInfo.hasNextPage) break;
      after = r.pageInfo.endCursor;
    }
    let before: string | null = null;
    const back: string[] = [];
    for (let guard = 0; guard < 20; guard++) {
      const r = (await both(token, { last: size, before, f, o })).data!.mailboxes;
      back.unshift(...r.edges.map((e: any) => e.node.id));
      if (!r.pageInfo.hasPreviousPage) break;
      before = r.pageInfo.startCursor;
    }
    expect(back).toEqual(seen);
    return seen;
  };

  it('every order, both directions, forwards and backwards, as admin: the same pages as Prisma', async () => {
    for (const field of ORDER_FIELDS)
      for (const direction of ['ASC', 'DESC']) {
        const ids = await walk(viewers.admin, {}, { field, direction });
        expect(ids.length).toBeGreaterThanOrEqual(19);
      }
    await walk(viewers.admin, {}, undefined);
  });

  it('every filter, for each kind of viewer (tenancy included): the same pages as Prisma', async () => {
    const filters = [
      {},
      { status: 'DISABLED' },
      { status: 'ACTIVE', search: 'm_x' },
      { search: 'büch' },
      { search: 'seite-xn--' },
      { search: 'M_' }, // Upper case: searches are lower-cased.
      { search: '_1' }, // LIKE's wildcards in a term are treated as Prisma treats them.
      { search: '%' },
      { search: 'nothing-like-this' },
      { domainId: a.domainId },
      { domainId: idn.id },
      { customerId: b.customerId },
      { deleted: true },
      { deleted: true, search: 'm_2' },
    ];
    for (const [who, token] of Object.entries(viewers))
      for (const f of filters) {
        await walk(token, f, undefined, 3);
        await walk(token, f, { field: 'QUOTA_USED', direction: 'DESC' }, 5);
      }
    // The customer sees its own 14 but one (deleted), the owner its one mailbox.
    expect((await walk(viewers.customer, {}, undefined)).length).toBe(13);
    expect(await walk(viewers.owner, {}, undefined)).toEqual([made[3]!.id]);
  });

  it('cursors that do not lead anywhere: another tenant’s row, a row gone since, garbage', async () => {
    const first = (await both(viewers.admin, { first: 30 })).data!.mailboxes.edges;
    const ofB = first.find((e: any) => e.node.address.startsWith('other')).cursor;
    // A customer paging after another customer's row.
    await both(viewers.customer, { first: 5, after: ofB });
    await both(viewers.customer, { last: 5, before: ofB });
    // After a row that has been deleted since.
    const gone = first.find((e: any) => e.node.address.startsWith('other5'));
    await sql(`DELETE FROM mailboxes WHERE address = $1`, [gone.node.asciiAddress]);
    const after = await both(viewers.admin, { first: 5, after: gone.cursor });
    expect(after.data!.mailboxes.edges).toEqual([]);
    await both(viewers.admin, { last: 5, before: gone.cursor });
    // Not a cursor at all: the same error both ways.
    const bad = await both(viewers.admin, { first: 5, after: 'not-a-cursor' });
    expect(bad.errors?.length).toBe(1);
  });

  it('declines what it does not translate, so the caller asks Prisma', async () => {
    const select = { id: true, address: true, domain: { select: { name: true } } };
    const page = { select, take: 3, skip: 0 };
    const order = [{ address: 'asc' }, { id: 'asc' }];
    expect((await mailboxPageRows(page, {}, order))!.rows).toHaveLength(3);
    // A list relation, an unknown field, a nested include, a relation filter, a case-insensitive
    // search, `not` on a nullable column, an order by a to-many relation, mixed directions.
    expect(await mailboxPageRows({ ...page, select: { ...select, appPasswords: { select: { id: true } } } }, {}, order)).toBeNull();
    expect(await mailboxPageRows({ ...page, select: { ...select, nope: true } }, {}, order)).toBeNull();
    expect(await mailboxPageRows({ ...page, select: { ...select, domain: { include: { customer: true } } } as never }, {}, order)).toBeNull();
    expect(await mailboxPageRows(page, { domain: { name: 'x' } }, order)).toBeNull();
    expect(await mailboxPageRows(page, { address: { contains: 'm', mode: 'insensitive' } }, order)).toBeNull();
    expect(await mailboxPageRows(page, { language: { not: 'de' } }, order)).toBeNull();
    expect(await mailboxPageRows(page, { createdAt: new Date() }, order)).toBeNull();
    expect(await mailboxPageRows(page, {}, [{ appPasswords: { _count: 'asc' } }, { id: 'asc' }])).toBeNull();
    expect(await mailboxPageRows(page, {}, [{ address: 'asc' }, { id: 'desc' }])).toBeNull();
    expect(await mailboxPageRows({ ...page, distinct: ['address'] }, {}, order)).toBeNull();
  });

  it('every column of the tables it reads is its field name in snake case', async () => {
    const { getDatamodel } = await import('@mailpanel/core/generated/pothos-types');
    const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: { name: string; kind: string }[] }>;
    const tables: Record<string, string> = { Mailbox: 'mailboxes', Domain: 'domains', Customer: 'customers', HostingPackage: 'hosting_packages', Autoresponder: 'autoresponders' };
    for (const [model, table] of Object.entries(tables)) {
      const columns = (await sql(`SELECT column_name FROM information_schema.columns WHERE table_name = $1`, [table])).map((c) => c.column_name);
      for (const f of models[model]!.fields.filter((f) => f.kind !== 'object')) expect(columns, `${model}.${f.name}`).toContain(columnOf(f.name));
    }
  });
});
