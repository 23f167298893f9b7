// Deletion with restore (issue 16) on the real Postfix + Dovecot, the panel driven through GraphQL:
// during the grace period the open IMAP session ends, logins fail (password and app password) and
// delivery is refused at RCPT, while the mail stays on disk; after restoreMailbox the old mail is
// intact and the same credentials log in again; after a purge (an admin's, or the schedule's job)
// the files are gone and the address can be created anew.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createMailbox, createTenant, waitFor, type Tenant } from '../../test/harness.js';
import { ImapSession, makeMessage, smtpSend } from './clients.js';
import { imapCanLogin, imapSubjects } from './imap.js';
import { startPanelOnMailstack, type PanelOnMailstack } from './panel.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const PW = 'Restore-Harbour-Pass-52';
const OUT = 'outside.test';
const ERR = `... on Error { __typename message }`;
const M = {
  delete: `mutation($id:ID!){ r: deleteMailbox(id:$id){ __typename ${ERR} } }`,
  restore: `mutation($id:ID!){ r: restoreMailbox(id:$id){ __typename ... on MutationRestoreMailboxSuccess { mailbox { deletedAt } } ${ERR} } }`,
  purge: `mutation($id:ID!){ r: purgeMailbox(id:$id){ __typename ${ERR} } }`,
  grace: `mutation($id:ID!){ r: updateHostingPackage(id:$id, input:{ deleteGraceDays:14 }){ __typename ${ERR} } }`,
  appPassword: `mutation($m:ID!){ r: createAppPassword(mailboxId:$m, name:"phone", scopes:[IMAP]){ ... on MutationCreateAppPasswordSuccess { created { password } } ${ERR} } }`,
};
const NODE = `query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning deletedAt purgeAt } } }`;

describe.skipIf(!enabled)('deletion with restore on the real mail servers', () => {
  let p: PanelOnMailstack;
  let tenant: Tenant;

  beforeAll(async () => {
    p = await startPanelOnMailstack();
    tenant = await createTenant(p, { maxDomains: 2 }, 'restore');
    expect((await p.ok(M.grace, { id: tenant.packageId }, p.adminToken)).r.__typename).toBe('MutationUpdateHostingPackageSuccess');
  });
  afterAll(async () => {
    await p?.stop();
  });

  const act = async (doc: string, vars: Record<string, unknown>, token = tenant.token) => {
    const r = (await p.ok(doc, vars, token)).r;
    expect(r.__typename, JSON.stringify(r)).toMatch(/^Mutation\w+Success$/);
    return r;
  };
  const node = async (id: string) => (await p.ok(NODE, { id }, p.adminToken)).node;
  const settled = (id: string) => waitFor(async () => (await node(id))?.provisioning === 'READY', 'provisioning done', 20_000);
  const imap = (user: string, pass = PW) => ({ port: p.ms.ports.imap, user, pass });
  const mx = (to: string, subject: string) =>
    smtpSend({ port: p.ms.ports.smtp, from: `sender@${OUT}`, to: [to], data: makeMessage({ from: `sender@${OUT}`, to, subject }) });
  const deliverTwo = async (address: string) => {
    for (const subject of ['kept one', 'kept two']) expect((await mx(address, subject)).ok).toBe(true);
    await p.ms.waitForMaildir(address, 2, { timeoutMs: 20_000 });
  };
  const sql = async (text: string, params: unknown[]) => {
    const c = new pg.Client({ connectionString: p.db.url });
    await c.connect();
    try {
      return (await c.query(text, params)).rows;
    } finally {
      await c.end();
    }
  };

  it('during the grace period: session ended, logins and delivery refused, mail kept; restored: mail intact, logins work', async () => {
    const m = await createMailbox(p, tenant.token, 'paused', tenant.domain, PW);
    await settled(m.id);
    const app = (await p.ok(M.appPassword, { m: m.id }, tenant.token)).r.created.password as string;
    await deliverTwo(m.address);
    const s = await ImapSession.open(p.ms.ports.imap);
    expect((await s.login(m.address, PW)).status).toBe('OK');
    expect((await s.command('SELECT INBOX')).status).toBe('OK');

    try {
      await act(M.delete, { id: m.id });
      // The open session ends (the worker asks Dovecot), within a few seconds.
      const ended = await waitFor(async () => {
        try {
          const r = await s.command('NOOP');
          return r.status !== 'OK' || r.untagged.some((l) => l.startsWith('* BYE'));
        } catch {
          return true;
        }
      }, 'the open IMAP session to end', 10_000);
      expect(ended).toBe(true);
    } finally {
      s.close();
    }
    await settled(m.id);
    expect((await node(m.id)).deletedAt).not.toBeNull();
    expect(await imapCanLogin(imap(m.address))).toBe(false);
    expect(await imapCanLogin(imap(m.address, app))).toBe(false);
    const refused = await mx(m.address, 'during grace');
    expect(refused, refused.transcript.join('\n')).toMatchObject({ ok: false, stage: 'rcpt', code: 550 });
    // The mail is still on disk (the session that selected INBOX moved it to cur/), nothing new arrived.
    expect([...(await p.ms.listMaildir(m.address, 'new')), ...(await p.ms.listMaildir(m.address, 'cur'))]).toHaveLength(2);

    const back = await act(M.restore, { id: m.id });
    expect(back.mailbox.deletedAt).toBeNull();
    await settled(m.id);
    expect(await imapCanLogin(imap(m.address))).toBe(true);
    expect(await imapCanLogin(imap(m.address, app))).toBe(true);
    expect((await imapSubjects(imap(m.address))).sort()).toEqual(['kept one', 'kept two']);
    expect((await mx(m.address, 'after restore')).ok).toBe(true);
    await waitFor(async () => (await imapSubjects(imap(m.address))).includes('after restore'), 'new mail after the restore', 20_000);
  });

  it('purged by an admin: files gone, the address free; a new mailbox there starts empty', async () => {
    const m = await createMailbox(p, tenant.token, 'purged', tenant.domain, PW);
    await settled(m.id);
    await deliverTwo(m.address);
    await act(M.delete, { id: m.id });
    await settled(m.id);
    expect(existsSync(p.ms.home(m.address))).toBe(true);
    await act(M.purge, { id: m.id }, p.adminToken);
    await waitFor(async () => (await node(m.id)) === null, 'the row gone', 20_000);
    expect(existsSync(p.ms.home(m.address))).toBe(false);

    const again = await createMailbox(p, tenant.token, 'purged', tenant.domain, 'Second-Life-Pass-61');
    await settled(again.id);
    expect(await imapCanLogin(imap(m.address))).toBe(false);
    expect(await imapSubjects(imap(m.address, 'Second-Life-Pass-61'))).toEqual([]);
  });

  it('purged by the schedule when the grace period ends: files gone, the address free', async () => {
    const m = await createMailbox(p, tenant.token, 'expired', tenant.domain, PW);
    await settled(m.id);
    await deliverTwo(m.address);
    await act(M.delete, { id: m.id });
    await settled(m.id);
    const id = (await sql(`SELECT id FROM mailboxes WHERE address = $1`, [m.address]))[0].id as string;
    await sql(`UPDATE mailboxes SET purge_at = now() - interval '1 second' WHERE id = $1`, [id]);
    // What the cron sends (MAILBOX_PURGE_CRON), sent now.
    await p.worker!.boss.send('purge-mailboxes', {});
    await waitFor(async () => (await node(m.id)) === null, 'the row gone', 30_000);
    expect(existsSync(p.ms.home(m.address))).toBe(false);
    const again = await createMailbox(p, tenant.token, 'expired', tenant.domain, 'Third-Life-Pass-73');
    await settled(again.id);
    expect((await mx(m.address, 'to the new one')).ok).toBe(true);
    await waitFor(async () => (await imapSubjects(imap(m.address, 'Third-Life-Pass-73'))).includes('to the new one'), 'mail for the new mailbox', 20_000);
    expect(await imapSubjects(imap(m.address, 'Third-Life-Pass-73'))).toEqual(['to the new one']);
  });
});
