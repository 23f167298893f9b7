// App passwords on the real Dovecot and Postfix, the panel driven only through GraphQL: an app
// password logs in to IMAP and submits through SMTP AUTH within its services and is refused outside
// them; revoked, it is refused at the next login; with "mail clients need app passwords" the
// mailbox's own password is refused by IMAP and SMTP but still logs in to the panel (with its code).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, waitFor, type Tenant } from '../../test/harness.js';
import { currentCode } from '../../api/src/auth/two-factor.js';
import { makeMessage, smtpSend } from './clients.js';
import { imapCanLogin } from './imap.js';
import { startPanelOnMailstack, type PanelOnMailstack } from './panel.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const PW = 'Quiet-Harbour-Lamp-84';
const OUT = 'outside.test';
const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } }`;
const CREATE = `mutation($m:ID!,$n:String!,$s:[AppPasswordScope!]!){ r: createAppPassword(mailboxId:$m, name:$n, scopes:$s){ __typename
  ... on MutationCreateAppPasswordSuccess { created { password appPassword { id } } } ${ERR} } }`;
const REVOKE = `mutation($id:ID!){ r: revokeAppPassword(id:$id){ __typename ${ERR} } }`;
const ONLY = `mutation($m:ID!,$e:Boolean!){ r: setAppPasswordsOnly(mailboxId:$m, enabled:$e){ __typename ${ERR} } }`;
const NODE = `query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning } } }`;
const USED = `query($id:ID!){ node(id:$id){ ... on Mailbox { appPasswords { name lastUsedAt } } } }`;
const LOGIN = `mutation($e:String!,$p:String!){ r: login(email:$e,password:$p){ __typename ... on SecondFactorRequired { challenge } } }`;

describe.skipIf(!enabled)('app passwords on the real Dovecot and Postfix', () => {
  let p: PanelOnMailstack;
  let tenant: Tenant;

  beforeAll(async () => {
    p = await startPanelOnMailstack();
    tenant = await createTenant(p, { maxDomains: 5 }, 'apps');
  });
  afterAll(async () => {
    await p?.stop();
  });

  const imap = (user: string, pass: string) => imapCanLogin({ port: p.ms.ports.imap, user, pass });
  const submit = async (user: string, pass: string) => {
    const r = await smtpSend({ port: p.ms.ports.submission, from: user, to: [`friend@${OUT}`], data: makeMessage({ from: user, to: `friend@${OUT}`, subject: 'app password' }), auth: { user, pass } });
    return r.ok ? 'sent' : `${r.stage} ${r.code}`;
  };
  const settled = (id: string) => waitFor(async () => (await p.ok(NODE, { id }, tenant.token)).node.provisioning !== 'PENDING', 'provisioning done', 20_000);
  const create = async (mailboxId: string, name: string, scopes: string[]) => {
    const r = (await p.ok(CREATE, { m: mailboxId, n: name, s: scopes }, tenant.token)).r;
    expect(r.__typename, JSON.stringify(r)).toBe('MutationCreateAppPasswordSuccess');
    return r.created as { password: string; appPassword: { id: string } };
  };

  it('logs in within its services only: an IMAP one reads, an SMTP one sends, neither does the other', async () => {
    const m = await createMailbox(p, tenant.token, 'reader', tenant.domain, PW);
    await settled(m.id);
    const reading = await create(m.id, 'Phone (read)', ['IMAP']);
    const sending = await create(m.id, 'Scanner (send)', ['SMTP']);
    expect(await imap(m.address, reading.password)).toBe(true);
    expect(await submit(m.address, reading.password)).toBe('auth 535');
    expect(await submit(m.address, sending.password)).toBe('sent');
    expect(await imap(m.address, sending.password)).toBe(false);
    // Dovecot reports each login; the panel records the app password's last use (and only its own).
    const lastUsed = async () => Object.fromEntries((await p.ok(USED, { id: m.id }, tenant.token)).node.appPasswords.map((a: any) => [a.name, a.lastUsedAt]));
    await waitFor(async () => { const u = await lastUsed(); return u['Phone (read)'] && u['Scanner (send)']; }, 'both app passwords marked used', 10_000);
    const seen = await lastUsed();
    expect(Date.now() - Date.parse(seen['Phone (read)'])).toBeLessThan(60_000);
    // The mailbox's own password still works everywhere, and a wrong one nowhere.
    expect(await imap(m.address, PW)).toBe(true);
    expect(await submit(m.address, PW)).toBe('sent');
    expect(await imap(m.address, 'abcde-fghij-kmnpq-rstuv')).toBe(false);
    // Another mailbox's app password opens only its own mailbox.
    const other = await createMailbox(p, tenant.token, 'other', tenant.domain, 'Velvet-Canyon-Spoon-31');
    await settled(other.id);
    expect(await imap(other.address, reading.password)).toBe(false);
  });

  it('revoked: refused at the next login, IMAP and SMTP', async () => {
    const m = await createMailbox(p, tenant.token, 'revoked', tenant.domain, PW);
    await settled(m.id);
    const both = await create(m.id, 'Old laptop', ['IMAP', 'SMTP']);
    const unused = await create(m.id, 'Never used', ['IMAP']);
    expect(await imap(m.address, both.password)).toBe(true);
    expect(await submit(m.address, both.password)).toBe('sent');
    const at = Date.now();
    expect((await p.ok(REVOKE, { id: both.appPassword.id }, tenant.token)).r.__typename).toBe('MutationRevokeAppPasswordSuccess');
    expect(await imap(m.address, both.password)).toBe(false);
    expect(await submit(m.address, both.password)).toBe('auth 535');
    expect(Date.now() - at).toBeLessThan(5000);
    // Refused logins are not uses; a password never used has no last use.
    const list = (await p.ok(USED, { id: m.id }, tenant.token)).node.appPasswords;
    expect(list.find((a: any) => a.name === 'Never used').lastUsedAt).toBeNull();
    expect(unused.password).toBeTruthy();
  });

  it('"mail clients need app passwords": the own password is refused by IMAP and SMTP, still logs in to the panel with its code', async () => {
    const m = await createMailbox(p, tenant.token, 'strict', tenant.domain, PW);
    await settled(m.id);
    const client = await create(m.id, 'Thunderbird', ['IMAP', 'SMTP']);
    const owner = await p.login(m.address, PW);
    const secret = (await p.ok(`mutation{ startTwoFactorEnrolment{ ... on MutationStartTwoFactorEnrolmentSuccess { enrolment { secret } } } }`, {}, owner)).startTwoFactorEnrolment.enrolment.secret;
    await p.ok(`mutation($k:String!){ confirmTwoFactorEnrolment(code:$k){ __typename } }`, { k: currentCode(secret) }, owner);
    expect((await p.ok(ONLY, { m: m.id, e: true }, owner)).r.__typename).toBe('MutationSetAppPasswordsOnlySuccess');
    await settled(m.id);

    expect(await imap(m.address, PW)).toBe(false);
    expect(await submit(m.address, PW)).toBe('auth 535');
    expect(await imap(m.address, client.password)).toBe(true);
    expect(await submit(m.address, client.password)).toBe('sent');
    // The panel: the password, then the code.
    const step = (await p.ok(LOGIN, { e: m.address, p: PW })).r;
    expect(step.__typename).toBe('SecondFactorRequired');
    const done = await p.ok(`mutation($c:String!,$k:String!){ r: completeLogin(challenge:$c, code:$k){ __typename } }`, { c: step.challenge, k: currentCode(secret, Date.now() + 30_000) });
    expect(done.r.__typename).toBe('MutationCompleteLoginSuccess');

    // Switched off again, the own password opens IMAP once more.
    expect((await p.ok(ONLY, { m: m.id, e: false }, tenant.token)).r.__typename).toBe('MutationSetAppPasswordsOnlySuccess');
    expect(await imap(m.address, PW)).toBe(true);
  });
});
