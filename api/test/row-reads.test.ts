// A mailboxes page reads only the columns its query's fields read (api/src/schema/row-reads.ts): each
// field that says what it reads must answer exactly as it does when every column is read, and a field
// that does not say so (or a directive) must bring every column back.
import { describe, expect, it } from 'vitest';
import { getNamedType, isObjectType, type GraphQLObjectType } from 'graphql';
import { createMailbox, createTenant, sql, startTestApp, success } from '../../test/harness.js';
import { onQuery } from '../../core/src/db.js';
import { pageReads } from '../src/schema/mailbox-page.js';
import { CUSTOMER_COLUMNS, DOMAIN_COLUMNS, MAILBOX_COLUMNS } from '../src/schema/columns.js';
import { LISTING_PAGE } from '../../bench/lib/listing-scenarios.js';

type Ext = { rowReads?: string[]; rowAt?: string[] };
// The schema is imported once the test app has set up the environment it reads.
let schema: typeof import('../src/schema/index.js').schema;
const fieldsOf = (name: string) => (schema.getType(name) as GraphQLObjectType).getFields();
const ext = (type: string, field: string) => fieldsOf(type)[field]!.extensions as Ext;
/** The fields of `type` that say what they read, each with the selection that asks for it alone. */
function annotated(type: string): string[] {
  return Object.values(fieldsOf(type)).flatMap((f) => {
    const e = f.extensions as Ext;
    const named = getNamedType(f.type);
    // An object computed from the row (Customer.usage): any one of its fields.
    if (e.rowReads) return [isObjectType(named) ? `${f.name} { ${Object.keys(named.getFields())[0]} }` : f.name];
    if (!e.rowAt) return [];
    const inner = named.name;
    const id = fieldsOf(inner).id ? 'id ' : '';
    return annotated(inner).map((sub) => `${f.name} { ${id}${sub} }`);
  });
}

describe('a listing reads only what its fields read (issue 15)', async () => {
  const t = await startTestApp();
  ({ schema } = await import('../src/schema/index.js'));
  const a = await createTenant(t, { maxDomains: 3 });
  success(
    (await t.ok(`mutation($n:String!,$c:ID!){ createDomain(name:$n, customerId:$c){ ... on MutationCreateDomainSuccess { domain { id } } } }`, { n: 'lese-bücher.test', c: a.customerId }, t.adminToken)).createDomain,
    'domain',
  );
  for (let i = 0; i < 6; i++) await createMailbox(t, a.token, `r${i}`, i % 2 ? 'lese-bücher.test' : a.domain, 'mailbox-pass-1', i * 100);
  await sql(`UPDATE mailboxes SET quota_used_bytes = 3000000 * length(local_part), quota_messages = 7, quota_updated_at = now(), quota_warned_percent = 80,
                                  language = 'de', provisioning_error = 'x' WHERE local_part = 'r1'`);
  await sql(`UPDATE mailboxes SET deleted_at = now(), purge_at = now() + interval '2 days' WHERE local_part = 'r2'`);
  await sql(`INSERT INTO autoresponders (mailbox_id, enabled, subject, message, starts_at) SELECT id, true, 'Away', 'Back', now() - interval '1 day' FROM mailboxes WHERE local_part IN ('r3', 'r4')`);
  await sql(`UPDATE hosting_packages SET max_message_size_mb = 7 WHERE id = (SELECT package_id FROM customers WHERE id = (SELECT customer_id FROM mailboxes WHERE local_part = 'r0'))`);

  const page = (node: string) => `query($f:MailboxFilter){ mailboxes(first:20, filter:$f){ totalCount edges { cursor node { ${node} } } } }`;
  /** The page's statement, and its answer, read as cut; then the answer with every column. */
  const both = async (query: string, variables: object, token: string) => {
    const statements: string[] = [];
    const off = onQuery((s) => statements.push(s));
    const cut = await t.gql(query, variables, token);
    off();
    pageReads.cut = false;
    const whole = await t.gql(query, variables, token).finally(() => (pageReads.cut = true));
    expect(cut.errors, query).toBeUndefined();
    expect(cut, query).toEqual(whole);
    const statement = statements.filter((s) => s.includes('FROM mailboxes t0 '));
    expect(statement, 'one plain statement').toHaveLength(1);
    return { data: cut.data, sql: statement[0]! };
  };

  it('every field that says what it reads answers as with every column, alone and all together', async () => {
    const fields = annotated('Mailbox');
    expect(fields).toEqual(expect.arrayContaining(['address', 'quota { usedMb }', 'domain { id name }', 'customer { id name }', 'autoresponderActive', 'maxMessageSizeBytes']));
    for (const [token, filters] of [[t.adminToken, [{}, { deleted: true }]], [a.token, [{}]]] as const)
      for (const f of filters) {
        for (const field of fields) await both(page(`id ${field}`), { f }, token);
        const all = await both(page(`id ${fields.join(' ')}`), { f }, token);
        expect(all.data.mailboxes.edges.length).toBeGreaterThan(0);
      }
  });

  it("the benchmark's page reads its columns and joins, and none of the others", async () => {
    const { sql: statement } = await both(LISTING_PAGE, { f: {} }, t.adminToken);
    for (const column of ['t0.address', 't0.status', 't0.quota_mb', 't0.quota_used_bytes', 't0.created_at', '.name_unicode', '.enabled', '.starts_at', '.ends_at']) expect(statement).toContain(column);
    for (const column of ['purge_at', 'deleted_at,', 'updated_at', 'provisioning_error', 'quota_messages', 'language', 'email', 'hosting_packages']) expect(statement).not.toContain(column);
    // Ids of the domain and the customer are read with them anyway: asking for them keeps the cut.
    const { sql: withIds } = await both(page('id address domain { id name } customer { id name }'), { f: {} }, t.adminToken);
    expect(withIds).not.toContain('purge_at');
    expect(withIds).toContain('t2.name');
    // The same page with the package's limit beside it joins the package for that column alone.
    const { sql: withLimit } = await both(page('address maxMessageSizeBytes'), { f: {} }, t.adminToken);
    expect(withLimit).toContain('JOIN hosting_packages');
    expect(withLimit).not.toContain('delete_grace_days');
  });

  it('a field that does not say what it reads, or a directive, reads every column; fragments are followed', async () => {
    const every = (s: string) => ['purge_at', 'provisioning_error', 'delete_grace_days', 'email'].every((c) => s.includes(c));
    expect(every((await both(page('address name'), { f: {} }, t.adminToken)).sql)).toBe(true); // exposed by the prisma plugin, not a base column
    expect(every((await both(page('address autoresponder { subject }'), { f: {} }, t.adminToken)).sql)).toBe(true); // a relation
    expect(every((await both(page('address domain { mailboxCount }'), { f: {} }, t.adminToken)).sql)).toBe(true); // a count, one level down
    const skip = `query($f:MailboxFilter,$s:Boolean!){ mailboxes(first:20, filter:$f){ edges { node { address purgeAt @skip(if:$s) } } } }`;
    expect(every((await both(skip, { f: { deleted: true }, s: false }, t.adminToken)).sql)).toBe(true);
    // Named and inline fragments, on the type itself and on an interface it implements.
    const frag = `query($f:MailboxFilter){ mailboxes(first:20, filter:$f){ edges { node { ...M ... on Node { id } } } } }
      fragment M on Mailbox { address ... on Mailbox { quota { limitMb } } }`;
    const { sql: viaFragments, data } = await both(frag, { f: {} }, t.adminToken);
    expect(every(viaFragments)).toBe(false);
    expect(viaFragments).toContain('t0.quota_mb');
    expect(data.mailboxes.edges[0].node).toEqual({ id: expect.any(String), address: expect.any(String), quota: { limitMb: expect.any(Number) } });
  });

  it('what a field says it reads is a column the rows always carry (columns.ts)', () => {
    const base: Record<string, object> = { Mailbox: MAILBOX_COLUMNS, MailboxQuota: MAILBOX_COLUMNS, Domain: DOMAIN_COLUMNS, Customer: CUSTOMER_COLUMNS };
    const has = (select: object, path: string[]): boolean => {
      const v = (select as Record<string, unknown>)[path[0]!];
      return path.length === 1 ? v === true : typeof v === 'object' && v !== null && has((v as { select: object }).select, path.slice(1));
    };
    let checked = 0;
    for (const [type, columns] of Object.entries(base))
      for (const f of Object.values(fieldsOf(type))) {
        const e = f.extensions as Ext;
        for (const p of e.rowReads ?? []) (checked++, expect(has(columns, p.split('.')), `${type}.${f.name} reads ${p}`).toBe(true));
        if (e.rowAt?.length) expect(has(columns, [...e.rowAt, 'id']), `${type}.${f.name} is at ${e.rowAt.join('.')}`).toBe(true);
        if (e.rowAt) expect(isObjectType(getNamedType(f.type))).toBe(true);
      }
    expect(checked).toBeGreaterThan(25);
    expect(ext('Mailbox', 'customer').rowAt).toEqual(['domain', 'customer']);
  });
});
