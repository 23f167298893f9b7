// App passwords through the API on the real PostgreSQL: created with a name and services, the password
// in the answer only, stored as Dovecot verifies it (argon2id) and as its sha256 (the passdb lookup),
// revoked for good, each mailbox's own; "mail clients need app passwords" only with two-factor login.
// What Dovecot and Postfix do with them: e2e/mailstack/app-passwords.test.ts.
import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp } from '../../test/harness.js';
import { verifyPassword } from '../../core/src/crypto/password.js';
import { sha256 } from '../../core/src/crypto/tokens.js';
import { db } from '../../core/src/db.js';
import { currentCode } from '../src/auth/two-factor.js';

const ERR = `... on ValidationError { fieldErrors { field code message } } ... on NotFoundError { entity } ... on Error { message }`;
const CREATE = `mutation($m:ID!,$n:String!,$s:[AppPasswordScope!]!){ r: createAppPassword(mailboxId:$m, name:$n, scopes:$s){ __typename
  ... on MutationCreateAppPasswordSuccess { created { password appPassword { id name scopes createdAt revokedAt } } } ${ERR} } }`;
const REVOKE = `mutation($id:ID!){ r: revokeAppPassword(id:$id){ __typename ... on MutationRevokeAppPasswordSuccess { appPassword { id revokedAt } } ${ERR} } }`;
const ONLY = `mutation($m:ID!,$e:Boolean!){ r: setAppPasswordsOnly(mailboxId:$m, enabled:$e){ __typename ... on MutationSetAppPasswordsOnlySuccess { mailbox { appPasswordsOnly } } ${ERR} } }`;
const LIST = `query($id:ID!){ node(id:$id){ ... on Mailbox { appPasswordsOnly appPasswords { id name scopes revokedAt } } } }`;

describe('app passwords', async () => {
  const t = await startTestApp();
  const tenant = await createTenant(t);
  const other = await createTenant(t);

  it('created with a name and services; the password once, stored as argon2id and sha256', async () => {
    const m = await createMailbox(t, tenant.token, 'apps', tenant.domain, 'Quiet-Harbour-Lamp-84');
    const r = (await t.ok(CREATE, { m: m.id, n: 'Phone', s: ['IMAP', 'SMTP', 'IMAP'] }, tenant.token)).r;
    expect(r.__typename).toBe('MutationCreateAppPasswordSuccess');
    const { password, appPassword } = r.created;
    expect(password).toMatch(/^([a-z2-9]{5}-){3}[a-z2-9]{5}$/);
    expect(appPassword).toMatchObject({ name: 'Phone', scopes: ['IMAP', 'SMTP'], revokedAt: null });
    const row = await db().appPassword.findFirstOrThrow({ where: { name: 'Phone', mailbox: { address: m.address } } });
    expect(await verifyPassword(row.passwordHash, password)).toBe(true);
    expect(row.lookupHash).toBe(sha256(password));
    expect(row.passwordHash).not.toContain(password);
    // Listed, never with the password again.
    const listed = await t.gql(LIST, { id: m.id }, tenant.token);
    expect(listed.data?.node.appPasswords).toEqual([{ id: appPassword.id, name: 'Phone', scopes: ['IMAP', 'SMTP'], revokedAt: null }]);
    expect(JSON.stringify(listed)).not.toContain(password);
    // The mailbox owner manages its own.
    const owner = await t.login(m.address, 'Quiet-Harbour-Lamp-84');
    expect((await t.ok(CREATE, { m: m.id, n: 'Laptop', s: ['IMAP'] }, owner)).r.__typename).toBe('MutationCreateAppPasswordSuccess');
  });

  it('bad input is refused at its field, nothing written', async () => {
    const m = await createMailbox(t, tenant.token, 'apps-bad', tenant.domain, 'Velvet-Canyon-Spoon-31');
    expect((await t.ok(CREATE, { m: m.id, n: '', s: ['IMAP'] }, tenant.token)).r).toMatchObject({ fieldErrors: [{ field: 'name' }] });
    expect((await t.ok(CREATE, { m: m.id, n: 'x', s: [] }, tenant.token)).r).toMatchObject({ fieldErrors: [{ field: 'scopes', code: 'REQUIRED' }] });
    expect((await t.ok(CREATE, { m: m.id, n: 'two\nlines', s: ['IMAP'] }, tenant.token)).r).toMatchObject({ fieldErrors: [{ field: 'name' }] });
    expect(await db().appPassword.count({ where: { mailbox: { address: m.address } } })).toBe(0);
  });

  it('revoked once and for good; another customer sees none of it', async () => {
    const m = await createMailbox(t, tenant.token, 'apps-revoke', tenant.domain, 'Maple-Rocket-Fennel-72');
    const id = (await t.ok(CREATE, { m: m.id, n: 'Tablet', s: ['POP3'] }, tenant.token)).r.created.appPassword.id;
    expect((await t.ok(REVOKE, { id }, other.token)).r).toMatchObject({ __typename: 'NotFoundError' });
    expect((await t.ok(CREATE, { m: m.id, n: 'Sneaky', s: ['IMAP'] }, other.token)).r).toMatchObject({ __typename: 'NotFoundError' });
    const revoked = (await t.ok(REVOKE, { id }, tenant.token)).r;
    expect(revoked.appPassword.revokedAt).toBeTruthy();
    expect((await t.ok(REVOKE, { id }, tenant.token)).r).toMatchObject({ fieldErrors: [{ code: 'ALREADY_REVOKED' }] });
    const audit = await t.ok(`{ auditEvents(filter:{ search:"${m.address}" }){ edges { node { action } } } }`, {}, t.adminToken);
    expect(audit.auditEvents.edges.map((e: any) => e.node.action)).toEqual(expect.arrayContaining(['app_password.create', 'app_password.revoke']));
  });

  it('"mail clients need app passwords" needs two-factor login on the mailbox first', async () => {
    const m = await createMailbox(t, tenant.token, 'apps-only', tenant.domain, 'Copper-Meadow-Violin-19');
    expect((await t.ok(ONLY, { m: m.id, e: true }, tenant.token)).r).toMatchObject({ fieldErrors: [{ field: 'enabled', code: 'TWO_FACTOR_REQUIRED' }] });
    const owner = await t.login(m.address, 'Copper-Meadow-Violin-19');
    const secret = (await t.ok(`mutation{ startTwoFactorEnrolment{ ... on MutationStartTwoFactorEnrolmentSuccess { enrolment { secret } } } }`, {}, owner)).startTwoFactorEnrolment.enrolment.secret;
    await t.ok(`mutation($k:String!){ confirmTwoFactorEnrolment(code:$k){ __typename } }`, { k: currentCode(secret) }, owner);
    expect((await t.ok(ONLY, { m: m.id, e: true }, owner)).r).toEqual({ __typename: 'MutationSetAppPasswordsOnlySuccess', mailbox: { appPasswordsOnly: true } });
    expect((await t.ok(ONLY, { m: m.id, e: false }, owner)).r.mailbox.appPasswordsOnly).toBe(false);
  });
});
