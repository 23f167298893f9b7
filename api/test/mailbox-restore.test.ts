// Deletion with restore (issue 16): a package's grace period turns deleteMailbox into a deletion that
// restoreMailbox undoes, until the schedule (or an admin) purges the mailbox. Driven through the
// GraphQL API with the real worker; the mail servers' side is read from their views.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, CREATE_MAILBOX, sql, startTestApp, waitFor, type Tenant } from '../../test/harness.js';
import { decodeGlobalID } from '@pothos/plugin-relay';

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } } ... on LimitExceededError { limit max field } ... on NotFoundError { entity }`;
const DELETE = `mutation($id:ID!){ r: deleteMailbox(id:$id){ __typename ... on MutationDeleteMailboxSuccess { deletedId } ${ERR} } }`;
const RESTORE = `mutation($id:ID!){ r: restoreMailbox(id:$id){ __typename ... on MutationRestoreMailboxSuccess { mailbox { id status quotaMb deletedAt purgeAt } } ${ERR} } }`;
const PURGE = `mutation($id:ID!){ r: purgeMailbox(id:$id){ __typename ... on MutationPurgeMailboxSuccess { purgedId } ${ERR} } }`;
const PACKAGE = `mutation($id:ID!,$i:HostingPackageInput!){ r: updateHostingPackage(id:$id, input:$i){ __typename ... on MutationUpdateHostingPackageSuccess { hostingPackage { deleteGraceDays } } ${ERR} } }`;
const NEW_PACKAGE = `mutation($i:HostingPackageInput!){ r: createHostingPackage(input:$i){ __typename ... on MutationCreateHostingPackageSuccess { hostingPackage { name deleteGraceDays } } ${ERR} } }`;
const NODE = `query($id:ID!){ node(id:$id){ ... on Mailbox { id address status quotaMb provisioning deletedAt purgeAt autoresponder { enabled subject } } } }`;
const LIST = `query($f:MailboxFilter){ mailboxes(first:100, filter:$f){ totalCount edges { node { id deletedAt purgeAt } } } }`;
const DAY = 24 * 3600 * 1000;
const uuid = (globalId: string) => decodeGlobalID(globalId).id;

describe('deletion with restore', async () => {
  const t = await startTestApp({ worker: true });
  const home = (address: string) => {
    const [local, domain] = address.split('@');
    return path.join(process.env.MAIL_ROOT!, domain!, local!);
  };
  const withGrace = async (days: number, limits: Record<string, number> = {}): Promise<Tenant> => {
    const tenant = await createTenant(t, limits);
    const r = (await t.ok(PACKAGE, { id: tenant.packageId, i: { deleteGraceDays: days } }, t.adminToken)).r;
    expect(r).toEqual({ __typename: 'MutationUpdateHostingPackageSuccess', hostingPackage: { deleteGraceDays: days } });
    return tenant;
  };
  const node = async (id: string) => (await t.ok(NODE, { id }, t.adminToken)).node;
  const ready = (id: string) => waitFor(async () => (await node(id))?.provisioning === 'READY', 'READY');
  const auditActions = async (address: string) =>
    (await t.ok(`query($s:String){ auditEvents(first:50, filter:{ search:$s }){ edges { node { action details } } } }`, { s: address }, t.adminToken)).auditEvents.edges.map((e: any) => e.node);

  it('the grace period is validated (0..365 whole days) on create and update, and defaults to 0', async () => {
    const created = (await t.ok(NEW_PACKAGE, { i: { name: 'grace-default' } }, t.adminToken)).r;
    expect(created.hostingPackage).toEqual({ name: 'grace-default', deleteGraceDays: 0 });
    for (const bad of [-1, 366, 100000]) {
      const r = (await t.ok(NEW_PACKAGE, { i: { name: `grace-${bad}`, deleteGraceDays: bad } }, t.adminToken)).r;
      expect(r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'deleteGraceDays', code: 'INVALID' }] });
    }
    expect((await t.ok(`{ hostingPackages(first:200){ edges { node { name } } } }`, {}, t.adminToken)).hostingPackages.edges.map((e: any) => e.node.name)).not.toContain('grace-366');
    const tenant = await createTenant(t);
    const bad = (await t.ok(PACKAGE, { id: tenant.packageId, i: { deleteGraceDays: 400 } }, t.adminToken)).r;
    expect(bad).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'deleteGraceDays', code: 'INVALID' }] });
    expect((await t.ok(PACKAGE, { id: tenant.packageId, i: { deleteGraceDays: 365 } }, t.adminToken)).r.hostingPackage.deleteGraceDays).toBe(365);
    // Customers cannot give themselves a grace period.
    expect((await t.gql(PACKAGE, { id: tenant.packageId, i: { deleteGraceDays: 1 } }, tenant.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('without a grace period deletion is immediate, as before: files and row gone, nothing to restore', async () => {
    const tenant = await createTenant(t);
    const m = await createMailbox(t, tenant.token, 'gone', tenant.domain);
    await ready(m.id);
    expect((await t.ok(DELETE, { id: m.id }, tenant.token)).r.deletedId).toBe(m.id);
    await waitFor(async () => (await node(m.id)) === null, 'row gone');
    expect(existsSync(home(m.address))).toBe(false);
    expect((await t.ok(RESTORE, { id: m.id }, tenant.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'Mailbox' });
    expect((await auditActions(m.address)).map((e: any) => e.action)).toContain('mailbox.delete');
  });

  it('with a grace period: out of the mail views, mail and address kept, listed as deleted, counted against no limit', async () => {
    const tenant = await withGrace(7, { maxMailboxes: 2, totalQuotaMb: 300 });
    const m = await createMailbox(t, tenant.token, 'paused', tenant.domain, 'Paused-Mailbox-Pass-9', 200);
    await ready(m.id);
    const app = (await t.ok(`mutation($m:ID!){ r: createAppPassword(mailboxId:$m, name:"phone", scopes:[IMAP]){ __typename } }`, { m: m.id }, tenant.token)).r;
    expect(app.__typename).toBe('MutationCreateAppPasswordSuccess');
    expect(await sql(`SELECT 1 FROM mail_app_passwords WHERE email = $1`, [m.address])).toHaveLength(1);
    const ownerToken = await t.login(m.address, 'Paused-Mailbox-Pass-9');
    expect(ownerToken).toBeTruthy();

    const before = Date.now();
    expect((await t.ok(DELETE, { id: m.id }, tenant.token)).r.deletedId).toBe(m.id);
    const deleted = await node(m.id);
    expect(deleted.deletedAt).not.toBeNull();
    expect(new Date(deleted.deletedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(new Date(deleted.purgeAt).getTime() - new Date(deleted.deletedAt).getTime()).toBe(7 * DAY);
    // The mail servers: no login (password or app password), mail refused (not taken by a catch-all).
    expect(await sql(`SELECT 1 FROM mail_users WHERE email = $1`, [m.address])).toHaveLength(0);
    expect(await sql(`SELECT 1 FROM mail_app_passwords WHERE email = $1`, [m.address])).toHaveLength(0);
    expect(await sql(`SELECT 1 FROM mail_refused WHERE key = $1`, [m.address])).toHaveLength(1);
    // Panel: the owner's session is over and a new login fails.
    expect((await t.gql(`{ viewer { kind } }`, {}, ownerToken)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await expect(t.login(m.address, 'Paused-Mailbox-Pass-9')).rejects.toThrow();
    // Its mail stays on disk while the worker settles it (READY: sessions ended, nothing removed).
    await ready(m.id);
    expect(existsSync(path.join(home(m.address), 'Maildir/new'))).toBe(true);
    expect((await node(m.id)).deletedAt).not.toBeNull();

    // Listings: gone from the default one, shown with the deleted filter.
    const live = (await t.ok(LIST, {}, tenant.token)).mailboxes;
    expect(live.edges.map((e: any) => e.node.id)).not.toContain(m.id);
    expect(live.totalCount).toBe(live.edges.length);
    const bin = (await t.ok(LIST, { f: { deleted: true } }, tenant.token)).mailboxes;
    expect(bin).toEqual({ totalCount: 1, edges: [{ node: { id: m.id, deletedAt: deleted.deletedAt, purgeAt: deleted.purgeAt } }] });

    // The address stays reserved.
    const again = (await t.ok(CREATE_MAILBOX, { u: 'paused', d: tenant.domain, p: 'Another-Long-Pass-7', q: 10 }, tenant.token)).createMailbox;
    expect(again).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'username', code: 'TAKEN', message: expect.stringMatching(/reserved until \d{4}-\d\d-\d\d/) }] });
    const fwd = (await t.ok(`mutation($s:String!){ r: createForward(source:$s, destinations:["x@elsewhere.test"]){ __typename ${ERR} } }`, { s: m.address }, tenant.token)).r;
    expect(fwd.__typename).toBe('ValidationError');
    // Nothing else can be done to it until it is restored.
    expect((await t.ok(`mutation($id:ID!){ r: updateMailbox(id:$id, quotaMb:50){ __typename } }`, { id: m.id }, tenant.token)).r.__typename).toBe('NotFoundError');
    expect((await t.ok(DELETE, { id: m.id }, tenant.token)).r.__typename).toBe('NotFoundError');

    // Limits: the deleted mailbox counts for neither maxMailboxes (2) nor totalQuotaMb (300).
    const a = await createMailbox(t, tenant.token, 'a', tenant.domain, 'Mailbox-A-Pass-11', 150);
    const b = await createMailbox(t, tenant.token, 'b', tenant.domain, 'Mailbox-B-Pass-12', 150);
    const usage = (await t.ok(`query($id:ID!){ node(id:$id){ ... on Customer { usage { mailboxes quotaAllocatedMb } } } }`, { id: tenant.customerId }, tenant.token)).node.usage;
    expect(usage).toEqual({ mailboxes: 2, quotaAllocatedMb: 300 });
    // …so restoring it now would go over them: a typed error, and it stays deleted.
    const refused = (await t.ok(RESTORE, { id: m.id }, tenant.token)).r;
    expect(refused).toMatchObject({ __typename: 'LimitExceededError', limit: 'maxMailboxes', max: 2 });
    expect((await node(m.id)).deletedAt).not.toBeNull();
    await t.ok(DELETE, { id: b.id }, t.adminToken);
    const quota = (await t.ok(RESTORE, { id: m.id }, tenant.token)).r;
    expect(quota).toMatchObject({ __typename: 'LimitExceededError', limit: 'totalQuotaMb', max: 300, field: 'quotaMb' });
    await t.ok(`mutation($id:ID!){ r: updateMailbox(id:$id, quotaMb:100){ __typename } }`, { id: a.id }, tenant.token);
    const back = (await t.ok(RESTORE, { id: m.id }, tenant.token)).r;
    expect(back).toEqual({ __typename: 'MutationRestoreMailboxSuccess', mailbox: { id: m.id, status: 'ACTIVE', quotaMb: 200, deletedAt: null, purgeAt: null } });
    // Back in the views with its own password and app password.
    expect(await sql(`SELECT quota_mb FROM mail_users WHERE email = $1`, [m.address])).toEqual([{ quota_mb: 200 }]);
    expect(await sql(`SELECT 1 FROM mail_app_passwords WHERE email = $1`, [m.address])).toHaveLength(1);
    expect(await sql(`SELECT 1 FROM mail_refused WHERE key = $1`, [m.address])).toHaveLength(0);
    expect(await t.login(m.address, 'Paused-Mailbox-Pass-9')).toBeTruthy();
    await ready(m.id);
  });

  it('restore brings back exactly what was there: disabled stays disabled, autoresponder and forwards to it; once', async () => {
    const tenant = await withGrace(30);
    const m = await createMailbox(t, tenant.token, 'asitwas', tenant.domain, 'As-It-Was-Pass-33', 77);
    await t.ok(`mutation($id:ID!){ r: setAutoresponder(mailboxId:$id, input:{ enabled:true, subject:"Away", message:"Back soon" }){ __typename } }`, { id: m.id }, tenant.token);
    await t.ok(`mutation($id:ID!){ r: setMailboxStatus(id:$id, status:DISABLED){ __typename } }`, { id: m.id }, tenant.token);
    const fwd = (await t.ok(`mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ ... on MutationCreateForwardSuccess { forward { id destinations } } } }`,
      { s: `team@${tenant.domain}`, d: [m.address, 'x@elsewhere.test'] }, tenant.token)).r.forward;
    await ready(m.id);
    await t.ok(DELETE, { id: m.id }, tenant.token);
    expect((await node(m.id)).deletedAt).not.toBeNull();
    // Deleted while disabled: still refused, not in the users.
    expect(await sql(`SELECT 1 FROM mail_refused WHERE key = $1`, [m.address])).toHaveLength(1);

    const r = (await t.ok(RESTORE, { id: m.id }, tenant.token)).r;
    expect(r.mailbox).toMatchObject({ status: 'DISABLED', quotaMb: 77, deletedAt: null });
    const restored = await node(m.id);
    expect(restored.autoresponder).toEqual({ enabled: true, subject: 'Away' });
    const forward = (await t.ok(`query($id:ID!){ node(id:$id){ ... on Forward { destinations } } }`, { id: fwd.id }, tenant.token)).node;
    expect(forward.destinations).toEqual(fwd.destinations);
    await ready(m.id);
    expect(existsSync(path.join(home(m.address), 'sieve'))).toBe(true);

    // Idempotent: a second restore changes nothing and records nothing.
    const again = (await t.ok(RESTORE, { id: m.id }, tenant.token)).r;
    expect(again.mailbox).toMatchObject({ status: 'DISABLED', deletedAt: null });
    const actions = (await auditActions(m.address)).map((e: any) => e.action);
    expect(actions.filter((a: string) => a === 'mailbox.restore')).toHaveLength(1);
    expect(actions.filter((a: string) => a === 'mailbox.delete')).toHaveLength(1);
    const del = (await auditActions(m.address)).find((e: any) => e.action === 'mailbox.delete');
    expect(del.details).toMatchObject({ graceDays: 30, purgeAt: expect.any(String) });
  });

  it("another customer's deleted mailbox is not found; purgeMailbox is for admins", async () => {
    const tenant = await withGrace(3);
    const other = await createTenant(t);
    const m = await createMailbox(t, tenant.token, 'private', tenant.domain);
    await t.ok(DELETE, { id: m.id }, tenant.token);
    expect((await t.ok(RESTORE, { id: m.id }, other.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'Mailbox' });
    expect((await t.gql(PURGE, { id: m.id }, tenant.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await t.ok(LIST, { f: { deleted: true } }, other.token)).mailboxes.totalCount).toBe(0);
    expect((await node(m.id)).deletedAt).not.toBeNull();
  });

  it('an admin purges at once: files and row gone, address free again; a live mailbox is not purged', async () => {
    const tenant = await withGrace(10);
    const live = await createMailbox(t, tenant.token, 'alive', tenant.domain);
    expect((await t.ok(PURGE, { id: live.id }, t.adminToken)).r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'id', code: 'NOT_DELETED' }] });
    const m = await createMailbox(t, tenant.token, 'purgeme', tenant.domain);
    await ready(m.id);
    await t.ok(DELETE, { id: m.id }, tenant.token);
    await ready(m.id);
    expect(existsSync(home(m.address))).toBe(true);
    expect((await t.ok(PURGE, { id: m.id }, t.adminToken)).r).toEqual({ __typename: 'MutationPurgeMailboxSuccess', purgedId: m.id });
    await waitFor(async () => (await node(m.id)) === null, 'row gone');
    expect(existsSync(home(m.address))).toBe(false);
    expect((await t.ok(PURGE, { id: m.id }, t.adminToken)).r.__typename).toBe('NotFoundError');
    expect((await t.ok(RESTORE, { id: m.id }, tenant.token)).r.__typename).toBe('NotFoundError');
    expect((await auditActions(m.address)).map((e: any) => e.action)).toContain('mailbox.purge');
    const reused = await createMailbox(t, tenant.token, 'purgeme', tenant.domain);
    expect(reused.address).toBe(m.address);
  });

  it('a domain whose deleted mailbox can still be restored is not deleted; once purged it is', async () => {
    const tenant = await withGrace(2);
    const m = await createMailbox(t, tenant.token, 'last', tenant.domain);
    await t.ok(DELETE, { id: m.id }, tenant.token);
    const DELETE_DOMAIN = `mutation($id:ID!){ r: deleteDomain(id:$id){ __typename ${ERR} } }`;
    const refused = (await t.ok(DELETE_DOMAIN, { id: tenant.domainId }, tenant.token)).r;
    expect(refused).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'id', code: 'IN_USE', message: expect.stringMatching(/1 deleted mailboxes .* can still be restored/) }] });
    await t.ok(PURGE, { id: m.id }, t.adminToken);
    await waitFor(async () => (await node(m.id)) === null, 'row gone');
    expect((await t.ok(DELETE_DOMAIN, { id: tenant.domainId }, tenant.token)).r.__typename).toBe('MutationDeleteDomainSuccess');
  });

  it('the schedule purges exactly the mailboxes whose grace period has ended, once, through pg-boss', async () => {
    const schedules = await sql(`SELECT name, cron FROM pgboss.schedule WHERE name = 'purge-mailboxes'`);
    expect(schedules).toEqual([{ name: 'purge-mailboxes', cron: '*/10 * * * *' }]);
    const tenant = await withGrace(5);
    const due = await createMailbox(t, tenant.token, 'due', tenant.domain);
    const notYet = await createMailbox(t, tenant.token, 'notyet', tenant.domain);
    await Promise.all([ready(due.id), ready(notYet.id)]);
    await t.ok(DELETE, { id: due.id }, tenant.token);
    await t.ok(DELETE, { id: notYet.id }, tenant.token);
    await Promise.all([ready(due.id), ready(notYet.id)]);
    await sql(`UPDATE mailboxes SET purge_at = now() - interval '1 minute' WHERE id = $1`, [uuid(due.id)]);
    // Two runs at once (as from two workers) purge it once: one delete-mailbox job.
    await Promise.all([t.worker!.boss.send('purge-mailboxes', {}), t.worker!.boss.send('purge-mailboxes', {})]);
    await waitFor(async () => (await node(due.id)) === null, 'due mailbox purged', 20_000);
    expect(existsSync(home(due.address))).toBe(false);
    const jobs = await sql(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'delete-mailbox' AND data->>'mailboxId' = $1`, [uuid(due.id)]);
    expect(jobs).toEqual([{ n: 1 }]);
    const kept = await node(notYet.id);
    expect(kept.deletedAt).not.toBeNull();
    expect(existsSync(home(notYet.address))).toBe(true);
  });
});
