import { existsSync, writeFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { db, onQuery } from '../../core/src/db.js';
import { createMailbox, createTenant, sql, startTestApp, success, waitFor } from '../../test/harness.js';
import { provisionMailbox } from '../../worker/src/handlers/provision-mailbox.js';
import { QUEUE_OPTIONS } from '../../core/src/jobs.js';
import { decodeGlobalID } from '@pothos/plugin-relay';

const MAILBOX_FIELDS = `id address localPart quotaMb status provisioning provisioningError autoresponderActive webmailUrl createdAt
  domain { name } customer { name } quota { usedBytes usedMb limitMb percent messages }
  autoresponder { enabled subject message startsAt endsAt active }`;
const node = (id: string) => `{ node(id:"${id}") { ... on Mailbox { ${MAILBOX_FIELDS} } } }`;
const uuid = (globalId: string) => decodeGlobalID(globalId).id;

describe('mailboxes', async () => {
  const t = await startTestApp({ worker: true });
  const tenant = await createTenant(t, { totalQuotaMb: 10_000 });
  const home = (address: string) => {
    const [local, domain] = address.split('@');
    return path.join(process.env.MAIL_ROOT!, domain!, local!);
  };

  it('createMailbox stores a lower-cased address, audits, and the worker creates the Maildir (PENDING → READY)', async () => {
    const m = await createMailbox(t, tenant.token, 'Info.Desk', tenant.domain, 'info-pass-123', 500);
    expect(m).toMatchObject({ address: `info.desk@${tenant.domain}`, quotaMb: 500, status: 'ACTIVE', provisioning: 'PENDING' });
    const ready = await waitFor(async () => {
      const r = (await t.ok(node(m.id), {}, tenant.token)).node;
      return r.provisioning === 'READY' && r;
    }, 'provisioning');
    expect(ready.domain.name).toBe(tenant.domain);
    for (const dir of ['Maildir/cur', 'Maildir/new', 'Maildir/tmp', 'Maildir/.Sent/cur', 'Maildir/.Drafts/new', 'Maildir/.Trash/tmp', 'Maildir/.Junk/cur'])
      expect(statSync(path.join(home(m.address), dir)).isDirectory(), dir).toBe(true);
    expect(ready.webmailUrl).toBe(`http://localhost:8888/?_user=info.desk%40${tenant.domain}`);
    const events = await t.ok(`{ auditEvents(filter:{action:"mailbox.create"}) { edges { node { actorType actorLabel action targetType targetLabel details } } } }`, {}, tenant.token);
    expect(events.auditEvents.edges.map((e: any) => e.node)).toContainEqual({
      actorType: 'USER', actorLabel: tenant.email, action: 'mailbox.create', targetType: 'Mailbox', targetLabel: m.address, details: { quotaMb: 500 },
    });
    // The mail servers see it at once, with a Dovecot-verifiable hash.
    const rows = await sql(`SELECT email, password, quota_mb FROM mail_users WHERE email = $1`, [m.address]);
    expect(rows).toHaveLength(1);
    expect(rows[0].password).toMatch(/^\{ARGON2ID\}\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
    expect(rows[0].quota_mb).toBe(500);
  });

  it('provisioning is idempotent and a failure is recorded, then retried until it succeeds', { timeout: 60_000 }, async () => {
    const m = await createMailbox(t, tenant.token, 'twice', tenant.domain);
    await waitFor(async () => (await t.ok(node(m.id), {}, tenant.token)).node.provisioning === 'READY', 'ready');
    await provisionMailbox({ mailboxId: uuid(m.id) });
    await provisionMailbox({ mailboxId: uuid(m.id) });
    expect(existsSync(path.join(home(m.address), 'Maildir/new'))).toBe(true);

    // A file where the domain folder should be makes provisioning fail until it is removed.
    const other = await createTenant(t);
    const blocker = path.join(process.env.MAIL_ROOT!, other.domain);
    writeFileSync(blocker, 'not a directory');
    const b = await createMailbox(t, other.token, 'blocked', other.domain);
    // While pg-boss retries, the mailbox says PENDING with the reason — not FAILED, which would be untrue.
    const retrying = await waitFor(async () => {
      const r = (await t.ok(node(b.id), {}, other.token)).node;
      return r.provisioningError && r;
    }, 'a failed try recorded', 20_000);
    expect(retrying.provisioning).toBe('PENDING');
    expect(retrying.provisioningError).toMatch(/EEXIST|ENOTDIR/);
    // Only a failure of the last try is final.
    await expect(provisionMailbox({ mailboxId: uuid(b.id) }, { retryCount: QUEUE_OPTIONS['provision-mailbox'].retryLimit })).rejects.toThrow();
    expect((await t.ok(node(b.id), {}, other.token)).node).toMatchObject({ provisioning: 'FAILED', provisioningError: expect.stringMatching(/EEXIST|ENOTDIR/) });
    rmSync(blocker);
    await waitFor(async () => (await t.ok(node(b.id), {}, other.token)).node.provisioning === 'READY', 'READY after retry', 20_000);
  });

  it('quota, status and password changes take effect in the mail view at once', async () => {
    const m = await createMailbox(t, tenant.token, 'changes', tenant.domain, 'first-pass-1', 100);
    const upd = await t.ok(`mutation($id:ID!){ updateMailbox(id:$id, quotaMb:250){ ... on MutationUpdateMailboxSuccess { mailbox { quotaMb } } } }`, { id: m.id }, tenant.token);
    expect(upd.updateMailbox.mailbox.quotaMb).toBe(250);
    expect((await sql(`SELECT quota_mb FROM mail_users WHERE email=$1`, [m.address]))[0].quota_mb).toBe(250);

    await t.ok(`mutation($id:ID!){ setMailboxStatus(id:$id, status:DISABLED){ __typename } }`, { id: m.id }, tenant.token);
    expect(await sql(`SELECT 1 FROM mail_users WHERE email=$1`, [m.address])).toHaveLength(0);
    await t.ok(`mutation($id:ID!){ updateMailbox(id:$id, status:ACTIVE){ __typename } }`, { id: m.id }, tenant.token);
    expect(await sql(`SELECT 1 FROM mail_users WHERE email=$1`, [m.address])).toHaveLength(1);

    const before = (await sql(`SELECT password FROM mail_users WHERE email=$1`, [m.address]))[0].password;
    const ch = await t.ok(`mutation($id:ID!){ changeMailboxPassword(id:$id, password:"second-pass-2"){ __typename } }`, { id: m.id }, tenant.token);
    expect(ch.changeMailboxPassword.__typename).toBe('MutationChangeMailboxPasswordSuccess');
    expect((await sql(`SELECT password FROM mail_users WHERE email=$1`, [m.address]))[0].password).not.toBe(before);
    await expect(t.login(m.address, 'first-pass-1')).rejects.toThrow(/login failed/);
    expect(await t.login(m.address, 'second-pass-2')).toBeTruthy();
  });

  it('a password change or a disable without a mail stack: the job that ends open sessions has none to end and says READY', async () => {
    const m = await createMailbox(t, tenant.token, 'no-stack', tenant.domain, 'first-pass-1');
    const state = (id: string) => t.ok(`query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning provisioningError } } }`, { id }, tenant.token);
    await waitFor(async () => (await state(m.id)).node.provisioning === 'READY', 'READY after create');
    const ch = await t.ok(`mutation($id:ID!){ changeMailboxPassword(id:$id, password:"second-pass-2"){ ... on MutationChangeMailboxPasswordSuccess { mailbox { provisioning } } } }`, { id: m.id }, tenant.token);
    expect(ch.changeMailboxPassword.mailbox.provisioning).toBe('PENDING');
    await waitFor(async () => (await state(m.id)).node.provisioning === 'READY', 'READY after the password change');
    const off = await t.ok(`mutation($id:ID!){ setMailboxStatus(id:$id, status:DISABLED){ ... on MutationSetMailboxStatusSuccess { mailbox { provisioning } } } }`, { id: m.id }, tenant.token);
    expect(off.setMailboxStatus.mailbox.provisioning).toBe('PENDING');
    const done = await waitFor(async () => (await state(m.id)).node.provisioning === 'READY' && (await state(m.id)).node, 'READY after the disable');
    expect(done.provisioningError).toBeNull();
  });

  it('a mailbox owner changes its own password and autoresponder', async () => {
    const m = await createMailbox(t, tenant.token, 'self', tenant.domain, 'self-pass-111');
    const own = await t.login(m.address, 'self-pass-111');
    const r = await t.ok(`mutation($id:ID!){ changeMailboxPassword(id:$id, password:"self-pass-222"){ __typename } }`, { id: m.id }, own);
    expect(r.changeMailboxPassword.__typename).toBe('MutationChangeMailboxPasswordSuccess');
    expect(await t.login(m.address, 'self-pass-222')).toBeTruthy();
  });

  it('autoresponder: dates are stored, and "active" follows the window', async () => {
    const m = await createMailbox(t, tenant.token, 'away', tenant.domain);
    const set = (input: object) =>
      t.ok(`mutation($id:ID!,$i:AutoresponderInput!){ setAutoresponder(mailboxId:$id, input:$i){ __typename ... on MutationSetAutoresponderSuccess { mailbox { ${MAILBOX_FIELDS} } } ... on ValidationError { fieldErrors { field code } } } }`, { id: m.id, i: input }, tenant.token);
    const day = 86_400_000;
    const now = Date.now();
    const current = await set({ enabled: true, subject: 'Out of office', message: 'Back soon.\nRegards', startsAt: new Date(now - day).toISOString(), endsAt: new Date(now + day).toISOString() });
    expect(current.setAutoresponder.mailbox.autoresponder).toMatchObject({ enabled: true, subject: 'Out of office', message: 'Back soon.\nRegards', active: true });
    expect(current.setAutoresponder.mailbox.autoresponderActive).toBe(true);
    const future = await set({ enabled: true, subject: 'Later', message: 'x', startsAt: new Date(now + day).toISOString() });
    expect(future.setAutoresponder.mailbox.autoresponderActive).toBe(false);
    const past = await set({ enabled: true, subject: 'Past', message: 'x', endsAt: new Date(now - day).toISOString() });
    expect(past.setAutoresponder.mailbox.autoresponderActive).toBe(false);
    const off = await set({ enabled: false, subject: 'Off', message: 'x' });
    expect(off.setAutoresponder.mailbox.autoresponder.enabled).toBe(false);
    expect(off.setAutoresponder.mailbox.autoresponderActive).toBe(false);
  });

  it('deleteMailbox removes the address from the mail servers at once, then its mail and the row', async () => {
    const m = await createMailbox(t, tenant.token, 'gone', tenant.domain);
    await waitFor(async () => existsSync(path.join(home(m.address), 'Maildir/new')), 'maildir');
    writeFileSync(path.join(home(m.address), 'Maildir/new/1.msg'), 'Subject: hi\r\n\r\nbody');
    const del = await t.ok(`mutation($id:ID!){ deleteMailbox(id:$id){ ... on MutationDeleteMailboxSuccess { deletedId } } }`, { id: m.id }, tenant.token);
    expect(del.deleteMailbox.deletedId).toBe(m.id);
    expect(await sql(`SELECT 1 FROM mail_users WHERE email=$1`, [m.address])).toHaveLength(0);
    expect((await t.ok(node(m.id), {}, tenant.token)).node?.provisioning ?? null).not.toBe('READY');
    await waitFor(async () => !existsSync(home(m.address)), 'maildir removed');
    await waitFor(async () => (await db().mailbox.count({ where: { address: m.address } })) === 0, 'row removed');
    // The address can be used again.
    expect((await createMailbox(t, tenant.token, 'gone', tenant.domain)).address).toBe(m.address);
  });

  it('forwards: list or comma-separated destinations, catch-all, and the mail view Postfix reads', async () => {
    const create = (source: string, destinations: string[]) =>
      t.ok(`mutation($s:String!,$d:[String!]!){ createForward(source:$s, destinations:$d){ __typename ... on MutationCreateForwardSuccess { forward { id source catchAll destinations customer { name } } } ... on ValidationError { fieldErrors { field code } } } }`, { s: source, d: destinations }, tenant.token);
    const team = success((await create(`Team@${tenant.domain}`, [`a@x.example, B@Y.example`])).createForward, 'forward');
    expect(team).toMatchObject({ source: `team@${tenant.domain}`, catchAll: false, destinations: ['a@x.example', 'b@y.example'] });
    const all = success((await create(`*@${tenant.domain}`, [`info.desk@${tenant.domain}`])).createForward, 'forward');
    expect(all.catchAll).toBe(true);
    const rows = await sql(`SELECT source, destination FROM mail_aliases WHERE source LIKE $1 ORDER BY source, destination`, [`%@${tenant.domain}`]);
    expect(rows).toEqual([
      { source: `*@${tenant.domain}`, destination: `info.desk@${tenant.domain}` },
      { source: `team@${tenant.domain}`, destination: 'a@x.example' },
      { source: `team@${tenant.domain}`, destination: 'b@y.example' },
    ]);
    const list = await t.ok(`{ forwards(filter:{catchAll:true}) { totalCount edges { node { source } } } }`, {}, tenant.token);
    expect(list.forwards.edges.map((e: any) => e.node.source)).toEqual([`*@${tenant.domain}`]);
    const d = await t.ok(`mutation($id:ID!){ deleteForward(id:$id){ ... on MutationDeleteForwardSuccess { deletedId } } }`, { id: team.id }, tenant.token);
    expect(d.deleteForward.deletedId).toBe(team.id);
    expect(await sql(`SELECT 1 FROM mail_aliases WHERE source=$1`, [`team@${tenant.domain}`])).toHaveLength(0);
  });

  it('a disabled domain drops out of every mail view', async () => {
    const other = await createTenant(t);
    const m = await createMailbox(t, other.token, 'x', other.domain);
    await t.ok(`mutation{ createForward(source:"*@${other.domain}", destinations:["${m.address}"]){ __typename } }`, {}, other.token);
    await t.ok(`mutation($id:ID!){ updateDomain(id:$id, enabled:false){ __typename } }`, { id: other.domainId }, t.adminToken);
    expect(await sql(`SELECT 1 FROM mail_domains WHERE domain=$1`, [other.domain])).toHaveLength(0);
    expect(await sql(`SELECT 1 FROM mail_users WHERE domain=$1`, [other.domain])).toHaveLength(0);
    expect(await sql(`SELECT 1 FROM mail_aliases WHERE source LIKE $1`, [`%@${other.domain}`])).toHaveLength(0);
  });
});

describe('the mailboxes table', async () => {
  const t = await startTestApp();
  const tenant = await createTenant(t);
  // 60 rows seeded straight into the database (hashing 60 passwords would only slow the test).
  const domain = await db().domain.findFirstOrThrow({ where: { name: tenant.domain } });
  await db().mailbox.createMany({
    data: Array.from({ length: 60 }, (_, i) => ({
      localPart: `user${String(i).padStart(2, '0')}`,
      address: `user${String(i).padStart(2, '0')}@${tenant.domain}`,
      domainId: domain.id,
      passwordHash: 'x',
      quotaMb: 100 + i,
      quotaUsedBytes: BigInt(i * 1024 * 1024),
      status: i % 3 === 0 ? 'DISABLED' : 'ACTIVE',
      provisioning: 'READY',
    })),
  });
  const ids = await db().mailbox.findMany({ where: { domainId: domain.id }, take: 20, select: { id: true } });
  await db().autoresponder.createMany({ data: ids.map((m) => ({ mailboxId: m.id, enabled: true, subject: 's', message: 'm' })) });

  const PAGE = `query($after:String,$f:MailboxFilter,$o:MailboxOrder,$n:Int){ mailboxes(first:$n, after:$after, filter:$f, orderBy:$o){
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { address status quotaMb autoresponderActive createdAt domain { name } customer { name } quota { usedMb limitMb percent } } } } }`;

  it('serves a 50-row page with domain, customer, quota and autoresponder in one SQL statement, its total included', async () => {
    // The token's revocation verdict is cached (auth/revocation.ts): warm it, it is not the page's cost.
    await t.ok(`{ viewer { label } }`, {}, tenant.token);
    const statements: string[] = [];
    const stop = onQuery((sql) => statements.push(sql));
    const r = await t.ok(PAGE, { n: 50 }, tenant.token);
    stop();
    expect(r.mailboxes.edges).toHaveLength(50);
    expect(r.mailboxes.totalCount).toBe(60);
    expect(r.mailboxes.edges[0].node).toMatchObject({ address: `user00@${tenant.domain}`, domain: { name: tenant.domain }, quota: { usedMb: 0, limitMb: 100, percent: 0 } });
    expect(r.mailboxes.edges[5].node.quota).toEqual({ usedMb: 5, limitMb: 105, percent: 4.8 });
    expect(statements.filter((s) => /^\s*(SELECT|WITH)/i.test(s)), statements.join('\n---\n')).toHaveLength(1);
  });

  // listing-speed: a text search keeps PostgreSQL on the address's trigram index. The Unicode-name
  // alternative used to be an OR across a join to domains, which read every mailbox.
  it('a text search matches addresses without joining domains into its WHERE, in at most 3 statements', async () => {
    await t.ok(`{ viewer { label } }`, {}, tenant.token);
    const statements: string[] = [];
    const stop = onQuery((sql) => statements.push(sql));
    const r = await t.ok(PAGE, { n: 50, f: { search: 'user4' } }, tenant.token);
    stop();
    expect(r.mailboxes.totalCount).toBe(10);
    expect(r.mailboxes.edges.map((e: any) => e.node.address)).toEqual(Array.from({ length: 10 }, (_, i) => `user4${i}@${tenant.domain}`));
    const selects = statements.filter((s) => /^\s*(SELECT|WITH)/i.test(s));
    expect(selects.length, selects.join('\n---\n')).toBeLessThanOrEqual(3);
    expect(selects.filter((s) => /JOIN "public"\."domains"/.test(s)), selects.join('\n---\n')).toEqual([]);
  });

  it('pages with cursors through every row exactly once, in order', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const r: any = await t.ok(PAGE, { n: 25, after, o: { field: 'QUOTA_MB', direction: 'DESC' } }, tenant.token);
      seen.push(...r.mailboxes.edges.map((e: any) => e.node.address));
      if (!r.mailboxes.pageInfo.hasNextPage) break;
      after = r.mailboxes.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
    expect(seen[0]).toBe(`user59@${tenant.domain}`);
    expect(seen[59]).toBe(`user00@${tenant.domain}`);
  });

  it('filters by status, domain and text, and caps page size', async () => {
    const disabled = await t.ok(PAGE, { n: 100, f: { status: 'DISABLED' } }, tenant.token);
    expect(disabled.mailboxes.totalCount).toBe(20);
    expect(disabled.mailboxes.edges.every((e: any) => e.node.status === 'DISABLED')).toBe(true);
    const search = await t.ok(PAGE, { n: 100, f: { search: 'USER1' } }, tenant.token);
    expect(search.mailboxes.edges.map((e: any) => e.node.address)).toEqual(Array.from({ length: 10 }, (_, i) => `user1${i}@${tenant.domain}`));
    const byDomain = await t.ok(PAGE, { n: 5, f: { domainId: tenant.domainId } }, tenant.token);
    expect(byDomain.mailboxes.totalCount).toBe(60);
    const huge = await t.ok(`{ mailboxes(first: 10000) { edges { node { id } } } }`, {}, t.adminToken);
    expect(huge.mailboxes.edges.length).toBeLessThanOrEqual(200);
  });
});

describe('totalCount of the mailboxes listing', async () => {
  const t = await startTestApp();
  const a = await createTenant(t);
  const b = await createTenant(t);
  const made = [];
  for (const [tenant, name] of [[a, 'one'], [a, 'two'], [a, 'three'], [b, 'four'], [b, 'five']] as const) made.push(await createMailbox(t, tenant.token, name, tenant.domain));
  const COUNT = `query($f:MailboxFilter){ mailboxes(first:1, filter:$f){ totalCount } }`;
  const ALL = `query($f:MailboxFilter){ mailboxes(first:200, filter:$f){ edges { node { id } } } }`;
  /** totalCount next to the number of rows the same listing returns. */
  const both = async (token: string, f: object) => [
    (await t.ok(COUNT, { f }, token)).mailboxes.totalCount,
    (await t.ok(ALL, { f }, token)).mailboxes.edges.length,
  ];

  it('agrees with the rows for admins, customers, filters and after status changes and deletions', async () => {
    await t.ok(`mutation($id:ID!){ setMailboxStatus(id:$id, status:DISABLED){ __typename } }`, { id: made[0]!.id }, a.token);
    await t.ok(`mutation($id:ID!){ deleteMailbox(id:$id){ __typename } }`, { id: made[1]!.id }, a.token);
    const cases: [string, object, number][] = [
      [t.adminToken, { customerId: a.customerId }, 2],
      [t.adminToken, { customerId: a.customerId, status: 'DISABLED' }, 1],
      [t.adminToken, { customerId: b.customerId, status: 'ACTIVE' }, 2],
      [a.token, {}, 2],
      [a.token, { status: 'ACTIVE' }, 1],
      [a.token, { customerId: b.customerId }, 0], // another customer's id: nothing, not their count
      [b.token, {}, 2],
      [a.token, { search: 'thr' }, 1],
      [a.token, { domainId: a.domainId, status: 'DISABLED' }, 1],
    ];
    for (const [token, f, expected] of cases) expect(await both(token, f), JSON.stringify(f)).toEqual([expected, expected]);
    // The admin's unfiltered total covers every tenant of this file's database.
    const [total, rows] = await both(t.adminToken, {});
    expect(total).toBe(rows);
    expect(total).toBe(await db().mailbox.count({ where: { provisioning: { not: 'DELETING' } } }));
  });

  it('a mailbox owner counts only their own mailbox', async () => {
    const own = await t.login(made[3]!.address, 'mailbox-pass-1');
    expect(await both(own, {})).toEqual([1, 1]);
    expect(await both(own, { customerId: b.customerId })).toEqual([1, 1]);
  });
});
