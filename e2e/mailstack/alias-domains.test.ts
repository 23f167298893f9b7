// Issue 16, alias domains, on the real Postfix and Dovecot: alias.example → example.com delivers
// x@alias to x@target's mailbox (with its +tag), an unknown address of the alias reaches the
// target's catch-all (and is refused at RCPT while there is none), every address of the alias is
// refused with 550 5.2.1 (disabled, not unknown) when the target is disabled, a mailbox may send as
// its local part at the alias (submission), and an internationalised alias name works written
// either way. Driven through GraphQL, checked with SMTP and IMAP from outside.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, success, waitFor, type Tenant } from '../../test/harness.js';
import { makeMessage, smtpSend } from './clients.js';
import { imapCanLogin, imapSubjects } from './imap.js';
import { startPanelOnMailstack, type PanelOnMailstack } from './panel.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const PW = 'mailbox-pass-1';
const ALIAS = 'alias.test';
const IDN_U = 'grün.test';
const IDN_A = 'xn--grn-ioa.test';
const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } }`;
const CREATE_ALIAS = `mutation($n:String!,$t:ID!){ r: createAliasDomain(name:$n, targetDomainId:$t){ __typename ... on MutationCreateAliasDomainSuccess { domain { id name asciiName } } ${ERR} } }`;

describe.skipIf(!enabled)('alias domains on the real Postfix + Dovecot (issue 16)', () => {
  let p: PanelOnMailstack;
  let tenant: Tenant;
  const t = (local: string) => `${local}@${tenant.domain}`;

  beforeAll(async () => {
    p = await startPanelOnMailstack();
    tenant = await createTenant(p, { maxDomains: 5 }, 'aliastarget');
    await createMailbox(p, tenant.token, 'info', tenant.domain, PW);
    await waitFor(() => imapCanLogin(imap(t('info'))), 'IMAP login', 10_000);
    const a = success((await p.ok(CREATE_ALIAS, { n: ALIAS, t: tenant.domainId }, tenant.token)).r, 'domain');
    expect(a).toMatchObject({ name: ALIAS, asciiName: ALIAS });
    const u = success((await p.ok(CREATE_ALIAS, { n: IDN_U, t: tenant.domainId }, tenant.token)).r, 'domain');
    expect(u).toMatchObject({ name: IDN_U, asciiName: IDN_A });
  });
  afterAll(async () => {
    await p?.stop();
  });

  const imap = (user: string, pass = PW) => ({ port: p.ms.ports.imap, user, pass });
  const mx = (to: string, subject: string, from = 'sender@outside.test', smtputf8 = false) =>
    smtpSend({ port: p.ms.ports.smtp, from, to: [to], smtputf8, data: makeMessage({ from, to, subject }) });
  const inInfo = (subject: string) => waitFor(async () => (await imapSubjects(imap(t('info')))).includes(subject), `"${subject}" in info's INBOX`, 20_000);

  it("mail to x@alias and x+tag@alias is delivered to x@target's mailbox", async () => {
    const r = await mx(`info@${ALIAS}`, 'to the alias domain');
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    await inInfo('to the alias domain');
    const tagged = await mx(`info+news@${ALIAS}`, 'to the alias with a tag');
    expect(tagged.ok, tagged.transcript.join('\n')).toBe(true);
    await inInfo('to the alias with a tag');
  });

  it("an unknown address of the alias is refused at RCPT; with a catch-all at the target it reaches the catch-all", async () => {
    const before = await mx(`nobody@${ALIAS}`, 'before the catch-all');
    expect(before, before.transcript.join('\n')).toMatchObject({ ok: false, stage: 'rcpt', code: 550 });
    const f = (await p.ok(`mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ __typename ${ERR} } }`, { s: `*@${tenant.domain}`, d: [t('info')] }, tenant.token)).r;
    expect(f.__typename).toBe('MutationCreateForwardSuccess');
    const r = await mx(`nobody@${ALIAS}`, 'caught through the alias');
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    await inInfo('caught through the alias');
  });

  it('an internationalised alias name works written with the U-label (SMTPUTF8) and the A-label', async () => {
    const u = await mx(`info@${IDN_U}`, 'an den Unicode-Alias', 'sender@outside.test', true);
    expect(u.ok, u.transcript.join('\n')).toBe(true);
    await inInfo('an den Unicode-Alias');
    const a = await mx(`info@${IDN_A}`, 'to the A-label alias');
    expect(a.ok, a.transcript.join('\n')).toBe(true);
    await inInfo('to the A-label alias');
  });

  it('submission: a mailbox may send as its own local part at an alias domain (either IDN form), not as another address there', async () => {
    await createMailbox(p, tenant.token, 'sales', tenant.domain, PW);
    const submit = (from: string, subject: string, smtputf8 = false) =>
      smtpSend({ port: p.ms.ports.submission, from, to: ['partner@outside.test'], smtputf8, auth: { user: t('info'), pass: PW }, data: makeMessage({ from, to: 'partner@outside.test', subject }) });
    for (const [from, subject, utf8] of [[`info@${ALIAS}`, 'sent as the alias', false], [`info@${IDN_U}`, 'als Unicode-Alias gesendet', true]] as const) {
      const r = await submit(from, subject, utf8);
      expect(r.ok, r.transcript.join('\n')).toBe(true);
      await p.ms.sink.waitFor((m) => m.rcptTo.includes('partner@outside.test') && m.data.includes(subject));
    }
    const other = await submit(`sales@${ALIAS}`, 'as someone else at the alias');
    expect(other, other.transcript.join('\n')).toMatchObject({ ok: false, code: 553 });
  });

  it('a disabled target: every address of its alias is refused with 550 at RCPT; enabled again, delivered', async () => {
    const off = await p.ok(`mutation($id:ID!){ r: updateDomain(id:$id, enabled:false){ __typename ${ERR} } }`, { id: tenant.domainId }, p.adminToken);
    expect(off.r.__typename).toBe('MutationUpdateDomainSuccess');
    for (const rcpt of [`info@${ALIAS}`, `anyone@${ALIAS}`, `info@${IDN_A}`]) {
      const r = await mx(rcpt, 'while the target is disabled');
      expect(r, `${rcpt}\n${r.transcript.join('\n')}`).toMatchObject({ ok: false, stage: 'rcpt', code: 550 });
      // Refused as disabled (mail_refused), not merely unknown.
      expect(r.transcript.join('\n')).toMatch(/S: 550 5\.2\.1 .*Mailbox disabled/);
    }
    const on = await p.ok(`mutation($id:ID!){ r: updateDomain(id:$id, enabled:true){ __typename ${ERR} } }`, { id: tenant.domainId }, p.adminToken);
    expect(on.r.__typename).toBe('MutationUpdateDomainSuccess');
    const r = await mx(`info@${ALIAS}`, 'after the target is back');
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    await inInfo('after the target is back');
  });
});
