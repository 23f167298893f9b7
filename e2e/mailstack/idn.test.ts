// Issue 12, item 6, proven on the real Postfix and Dovecot: a mailbox of an internationalised
// domain (bücher.test, stored as xn--bcher-kva.test) logs in to IMAP and submission with either
// form of its address and is one user (one home, one quota); SMTPUTF8 mail to the Unicode address
// is accepted at RCPT and delivered; SMTPUTF8 mail leaves through the relay with SMTPUTF8 (the
// capture sink refuses non-ASCII addresses without it, like a real server). Driven through
// GraphQL, checked with real clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, waitFor, type Tenant } from '../../test/harness.js';
import { headerOf, type CapturedMessage } from './capture-sink.js';
import { makeMessage, smtpSend } from './clients.js';
import { imapCanLogin, imapSubjects, withImap } from './imap.js';
import { startPanelOnMailstack, type PanelOnMailstack } from './panel.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const PW = 'mailbox-pass-1';
const U = 'bücher.test';
const A = 'xn--bcher-kva.test';
const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } }`;

describe.skipIf(!enabled)('internationalised domains on the real Postfix + Dovecot (issue 12, item 6)', () => {
  let p: PanelOnMailstack;
  let tenant: Tenant;

  beforeAll(async () => {
    p = await startPanelOnMailstack();
    tenant = await createTenant(p, { maxDomains: 5 }, 'idn');
    const d = (await p.ok(`mutation($n:String!){ r: createDomain(name:$n){ __typename ... on MutationCreateDomainSuccess { domain { name asciiName } } ${ERR} } }`, { n: U }, tenant.token)).r;
    expect(d.domain).toEqual({ name: U, asciiName: A });
    const m = await createMailbox(p, tenant.token, 'info', U, PW);
    expect(m.address).toBe(`info@${U}`);
    await waitFor(() => imapCanLogin(imap(`info@${A}`)), 'IMAP login', 10_000);
  });
  afterAll(async () => {
    await p?.stop();
  });

  const imap = (user: string, pass = PW) => ({ port: p.ms.ports.imap, user, pass });
  const mx = (to: string, subject: string, from = 'sender@outside.test') =>
    smtpSend({ port: p.ms.ports.smtp, from, to: [to], smtputf8: true, data: makeMessage({ from, to, subject }) });
  const submit = (login: string, from: string, to: string, subject: string) =>
    smtpSend({ port: p.ms.ports.submission, from, to: [to], smtputf8: true, auth: { user: login, pass: PW }, data: makeMessage({ from, to, subject }) });
  const sentTo = (addr: string) => (m: CapturedMessage) => m.rcptTo.includes(addr);

  it('IMAP: the Unicode and the A-label address log in as one user (same home, same quota); a wrong password fails', async () => {
    expect(await imapCanLogin(imap(`info@${U}`))).toBe(true);
    expect(await imapCanLogin(imap(`info@${U}`, 'wrong-password'))).toBe(false);
    const r = await mx(`info@${A}`, 'via the A-label');
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    await waitFor(async () => (await imapSubjects(imap(`info@${U}`))).includes('via the A-label'), 'mail in the INBOX seen through the Unicode login', 20_000);
    // Dovecot resolved the Unicode login to the stored user: the same quota root, counting that message.
    const quota = await withImap(imap(`info@${U}`), async (c) => c.getQuota('INBOX'));
    expect(quota && quota.storage?.usage).toBeGreaterThan(0);
    expect(await p.ms.waitForLog('dovecot', new RegExp(`imap-login: Info: Login: user=<info@${A.replace(/\./g, '\\.')}>`))).toBeTruthy();
  });

  it('MX: SMTPUTF8 mail to the Unicode address (UTF-8 headers) is accepted at RCPT and delivered to the mailbox', async () => {
    const r = await mx(`info@${U}`, 'Grüße aus München');
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    expect(r.transcript).toContain(`C: RCPT TO:<info@${U}>`);
    expect(r.transcript[r.transcript.indexOf(`C: RCPT TO:<info@${U}>`) + 1]).toMatch(/^S: 250 /);
    await waitFor(async () => (await imapSubjects(imap(`info@${U}`))).includes('Grüße aus München'), 'the SMTPUTF8 message in the INBOX', 20_000);
    // Nothing bounced back to the sender ("SMTPUTF8 is required" from the LMTP hop).
    expect(p.ms.sink.messages.filter(sentTo('sender@outside.test'))).toEqual([]);
  });

  it('MX: an unknown local part of the Unicode domain is refused at RCPT (550), not accepted and bounced later', async () => {
    const r = await mx(`nobody@${U}`, 'to nobody');
    expect(r.ok).toBe(false);
    expect(r.stage).toBe('rcpt');
    expect(r.code).toBe(550);
  });

  it('a forward of the Unicode domain to an outside address relays SMTPUTF8 mail to the capture sink with SMTPUTF8', async () => {
    const f = (
      await p.ok(
        `mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ __typename ${ERR} } }`,
        { s: `team@${U}`, d: [`partner@${U.replace('bücher', 'straße')}`] },
        tenant.token,
      )
    ).r;
    expect(f.__typename).toBe('MutationCreateForwardSuccess');
    const r = await mx(`team@${U}`, 'für das Team', 'jörg@müller.example');
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    const out = await p.ms.sink.waitFor(sentTo('partner@xn--strae-oqa.test'));
    expect(out.smtputf8).toBe(true);
    expect(out.mailFrom).toBe('jörg@müller.example');
    expect(headerOf(out.data, 'Subject')).toBe('für das Team');
  });

  it('a catch-all of the Unicode domain catches SMTPUTF8 mail to an unknown local part written with the U-label', async () => {
    const f = (
      await p.ok(`mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ __typename ${ERR} } }`, { s: `*@${U}`, d: [`info@${U}`] }, tenant.token)
    ).r;
    expect(f.__typename).toBe('MutationCreateForwardSuccess');
    const r = await mx(`irgendwer@${U}`, 'an irgendwen');
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    await waitFor(async () => (await imapSubjects(imap(`info@${A}`))).includes('an irgendwen'), 'the caught message in info\'s INBOX', 20_000);
  });

  it('submission: the owner logs in with the Unicode address, sends as either form, and SMTPUTF8 mail is relayed with SMTPUTF8', async () => {
    const r = await submit(`info@${U}`, `info@${U}`, 'jörg@müller.example', 'Antwort aus Bücher');
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    const out = await p.ms.sink.waitFor((m) => headerOf(m.data, 'Subject') === 'Antwort aus Bücher');
    expect(out.smtputf8).toBe(true);
    expect(out.rcptTo).toEqual(['jörg@müller.example']);
    // The envelope sender is the stored address (bounces come back to a name every hop can route).
    expect(out.mailFrom).toBe(`info@${A}`);

    const ascii = await submit(`info@${A}`, `info@${U}`, 'partner@outside.test', 'A-label login, Unicode sender');
    expect(ascii.ok, ascii.transcript.join('\n')).toBe(true);
    await p.ms.sink.waitFor((m) => headerOf(m.data, 'Subject') === 'A-label login, Unicode sender');

    // Still only as itself: another mailbox's address, in either form, is refused.
    await createMailbox(p, tenant.token, 'sales', U, PW);
    const other = await submit(`info@${U}`, `sales@${U}`, 'partner@outside.test', 'as someone else');
    expect(other.ok).toBe(false);
    expect(other.code).toBe(553);
    expect(await imapCanLogin(imap(`info@${U}`, 'wrong-password'))).toBe(false);
    const wrong = await smtpSend({ port: p.ms.ports.submission, from: `info@${U}`, to: ['partner@outside.test'], smtputf8: true, auth: { user: `info@${U}`, pass: 'wrong-password' }, data: makeMessage({ from: `info@${U}`, to: 'partner@outside.test', subject: 'x' }) });
    expect(wrong.stage).toBe('auth');
  });

  it('a disabled mailbox, and every address of a disabled domain, written with the U-label: 550 5.2.1 at RCPT as with the A-label', async () => {
    const off = await createMailbox(p, tenant.token, 'off', U, PW);
    await waitFor(() => imapCanLogin(imap(`off@${A}`)), 'IMAP login of off@', 10_000);
    // The domain has a catch-all (test above): a disabled mailbox's mail must not fall through to it.
    const st = await p.ok(`mutation($id:ID!){ r: setMailboxStatus(id:$id, status:DISABLED){ __typename ${ERR} } }`, { id: off.id }, tenant.token);
    expect(st.r.__typename).toBe('MutationSetMailboxStatusSuccess');
    for (const rcpt of [`off@${U}`, `off+tag@${U}`, `off@${A}`]) {
      const r = await mx(rcpt, 'to a disabled mailbox');
      expect(r, r.transcript.join('\n')).toMatchObject({ ok: false, stage: 'rcpt', code: 550 });
      expect(r.text).toMatch(/^5\.2\.1 /);
    }

    const K = 'köln.test';
    const d = (await p.ok(`mutation($n:String!){ r: createDomain(name:$n){ __typename ... on MutationCreateDomainSuccess { domain { id asciiName } } ${ERR} } }`, { n: K }, tenant.token)).r;
    await createMailbox(p, tenant.token, 'info', K, PW);
    const ok = await mx(`info@${K}`, 'while enabled');
    expect(ok.ok, ok.transcript.join('\n')).toBe(true);
    const dis = await p.ok(`mutation($id:ID!){ r: updateDomain(id:$id, enabled:false){ __typename ${ERR} } }`, { id: d.domain.id }, p.adminToken);
    expect(dis.r.__typename).toBe('MutationUpdateDomainSuccess');
    for (const rcpt of [`info@${K}`, `anyone@${K}`, `info@${d.domain.asciiName}`]) {
      const r = await mx(rcpt, 'to a disabled domain');
      expect(r, r.transcript.join('\n')).toMatchObject({ ok: false, stage: 'rcpt', code: 550 });
      expect(r.text).toMatch(/^5\.2\.1 /);
    }
  });
});
