// Dovecot's auth-policy reports over real HTTP: a successful login with an app password records its
// last use; a failed one, a revoked password, a report without the shared secret or of another kind
// records nothing, and every answer is Dovecot's "no opinion". (Dovecot sending them: e2e/mailstack/app-passwords.test.ts.)
import { describe, expect, it } from 'vitest';

const SECRET = 'policy-secret-0123456789abcdef';
process.env.DOVECOT_AUTH_POLICY_SECRET = SECRET;
const { createMailbox, createTenant, startTestApp } = await import('../../test/harness.js');
const { db } = await import('../../core/src/db.js');

describe('Dovecot auth-policy reports', async () => {
  const t = await startTestApp({ listen: true });
  const tenant = await createTenant(t);
  const m = await createMailbox(t, tenant.token, 'policy', tenant.domain, 'Quiet-Harbour-Lamp-84');
  const create = async (name: string) =>
    (await t.ok(`mutation($m:ID!,$n:String!){ r: createAppPassword(mailboxId:$m, name:$n, scopes:[IMAP]){ ... on MutationCreateAppPasswordSuccess { created { appPassword { id } } } } }`, { m: m.id, n: name }, tenant.token)).r.created.appPassword.id as string;
  const lastUsed = async (name: string) => (await db().appPassword.findFirstOrThrow({ where: { name, mailbox: { address: m.address } } })).lastUsedAt;
  const report = (body: unknown, auth = `Bearer ${SECRET}`, command = 'report') =>
    fetch(`${t.app.url}/internal/dovecot-auth-policy?command=${command}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('records a successful login with an app password, nothing else', async () => {
    await create('Phone');
    await create('Tablet');
    const phone = (await db().appPassword.findFirstOrThrow({ where: { name: 'Phone', mailbox: { address: m.address } } })).id;
    const tablet = (await db().appPassword.findFirstOrThrow({ where: { name: 'Tablet', mailbox: { address: m.address } } })).id;

    const r = await report({ login: m.address, app: phone, protocol: 'imap', remote: '192.0.2.7', success: true });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 0, msg: '' });
    expect(await lastUsed('Phone')).toBeInstanceOf(Date);
    // The first use is an audit event (once: a second login only moves the time).
    const firstUses = async () => (await t.ok(`{ auditEvents(filter:{ action:"app_password.first_use", search:"${m.address}" }){ totalCount edges { node { clientIp details } } } }`, {}, t.adminToken)).auditEvents;
    await report({ login: m.address, app: phone, protocol: 'smtp', remote: '192.0.2.7', success: true });
    const events = await firstUses();
    expect(events.totalCount).toBe(1);
    expect(events.edges[0].node.details).toMatchObject({ name: 'Phone', protocol: 'imap' });

    // A failed login, a policy question instead of a report, the own password (no app), a wrong or missing secret.
    await report({ login: m.address, app: tablet, success: false });
    await report({ login: m.address, app: tablet, success: true }, `Bearer ${SECRET}`, 'allow');
    await report({ login: m.address, app: '', success: true });
    expect((await report({ app: tablet, success: true }, 'Bearer wrong-secret')).status).toBe(404);
    expect((await report({ app: tablet, success: true }, '')).status).toBe(404);
    expect(await lastUsed('Tablet')).toBeNull();

    // A revoked one is not brought back to life by a late report.
    const id = await create('Old');
    await t.ok(`mutation($id:ID!){ revokeAppPassword(id:$id){ __typename } }`, { id }, tenant.token);
    const old = (await db().appPassword.findFirstOrThrow({ where: { name: 'Old', mailbox: { address: m.address } } })).id;
    await report({ app: old, success: true });
    expect(await lastUsed('Old')).toBeNull();
  });
});
