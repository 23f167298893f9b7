// Issue 12, item 6 follow-up, proven on the real Postfix + rspamd (+ Redis) + Dovecot: a domain's
// spam policy applies to mail addressed to its Unicode form (`x@bücher.test`, SMTPUTF8) exactly as
// to its A-label (`x@xn--bcher-kva.test`). rspamd's milter sees the envelope before Postfix's
// canonical map rewrites it to the A-label, and rspamd 3.4 drops a UTF-8 SMTP address altogether:
// Postfix's smtpd_command_filter (pgsql-idn-command-filter.cf) hands it the A-label. DKIM: mail
// submitted with the Unicode envelope sender is signed with the domain's key, and no longer with
// another customer's key named in From: (an empty envelope skipped rspamd's domain check).
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, waitFor, type Tenant } from '../../test/harness.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { headerOf } from './capture-sink.js';
import { makeMessage, smtpSend } from './clients.js';
import { startPanelOnMailstack, type PanelOnMailstack } from './panel.js';
import { startRspamd, type Rspamd } from './rspamd.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const PW = 'mailbox-pass-1';
const U = 'bücher.test';
const A = 'xn--bcher-kva.test';
const OUT = 'outside.test';
const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
/** Scores ~8.5 in rspamd 3.4 on its content alone (as in email-security.test.ts). */
function spammy(from: string, to: string, tag: string): string {
  return (
    `From: "Winner" <${from}>\r\nTo: ${to}\r\nSubject: =?utf-8?B?${Buffer.from(`FREE MONEY ${tag.toUpperCase()}!!!`).toString('base64')}?=\r\n` +
    `Content-Type: text/html\r\n\r\n` +
    `<html><body><a href="http://192.0.2.7/claim">CLICK HERE NOW</a> to claim ${tag}</body></html>\r\n`
  );
}
const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } }`;

describe.skipIf(!enabled)('rspamd applies the policy of an internationalised domain to either form (issue 12, item 6)', () => {
  let rs: Rspamd;
  let p: PanelOnMailstack;
  let tenant: Tenant;
  let dir: string;
  let domainId: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'idn-rspamd-'));
    await chmod(dir, 0o755);
    const mapsDir = path.join(dir, 'maps');
    const dkimDir = path.join(dir, 'dkim');
    rs = await startRspamd({ mapsDir, dkimDir });
    p = await startPanelOnMailstack({
      mailstack: { milter: rs.milter },
      env: { DKIM_DIR: dkimDir, DKIM_KEY_GROUP: '_rspamd', RSPAMD_MAPS_DIR: mapsDir, RSPAMD_SYNC_SECONDS: '3600' },
    });
    tenant = await createTenant(p, { maxDomains: 5, maxMailboxes: 10 }, 'idnrs');
    const d = (await p.ok(`mutation($n:String!){ r: createDomain(name:$n){ __typename ... on MutationCreateDomainSuccess { domain { id name asciiName } } ${ERR} } }`, { n: U }, tenant.token)).r;
    expect(d.domain).toMatchObject({ name: U, asciiName: A });
    domainId = d.domain.id;
    const m = await createMailbox(p, tenant.token, 'info', U, PW);
    await waitFor(async () => (await p.ok(`query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning } } }`, { id: m.id }, tenant.token)).node.provisioning === 'READY', 'mailbox ready');
  });
  afterAll(async () => {
    await p?.stop();
    await rs?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const mx = (to: string, data: string, from = `x@${OUT}`) => smtpSend({ port: p.ms.ports.smtp, from, to: [to], smtputf8: true, data });

  const setPolicy = async (i: Record<string, unknown>) => {
    const r = (await p.ok(`mutation($d:ID!,$i:SpamSettingsInput!){ r: updateSpamSettings(domainId:$d, input:$i){ __typename ${ERR} } }`, { d: domainId, i }, tenant.token)).r;
    expect(r.__typename, JSON.stringify(r)).toBe('MutationUpdateSpamSettingsSuccess');
  };

  it('REJECT with a low threshold: spam to the Unicode address is refused at SMTP exactly as to the A-label; clean mail to either is delivered', async () => {
    await setPolicy({ action: 'REJECT', threshold: 5.5 });
    // The A-label form first: proves the policy is loaded (rspamd re-reads the map within ~1 s).
    await waitFor(async () => (await mx(`info@${A}`, spammy(`x@${OUT}`, `info@${A}`, 'probe'))).code === 554, 'the policy applies to the A-label', 30_000);
    // Scores ~8.5: under rspamd's default reject (15), above the domain's 5.5.
    const uni = await mx(`info@${U}`, spammy(`x@${OUT}`, `info@${U}`, 'unicode'));
    expect(uni.ok, uni.transcript.join('\n')).toBe(false);
    expect(uni.stage).toBe('data');
    expect(uni.code).toBe(554);
    // GTUBE too, and the sender's own form of the address stays in the transcript it sent.
    const gtube = await mx(`info@${U}`, makeMessage({ from: `x@${OUT}`, to: `info@${U}`, subject: 'gtube', body: GTUBE }));
    expect(gtube).toMatchObject({ ok: false, stage: 'data', code: 554 });
    expect(uni.transcript).toContain(`C: RCPT TO:<info@${U}>`);
    for (const to of [`info@${U}`, `info@${A}`]) {
      // The To: header in ASCII: this is about the envelope (the raw UTF-8 header scores on its own).
      const ok = await mx(to, makeMessage({ from: `x@${OUT}`, to: `info@${A}`, subject: `clean to ${to}` }));
      expect(ok.ok, ok.transcript.join('\n')).toBe(true);
    }
    await p.ms.waitForMaildir(`info@${A}`, 2);
    expect(await p.ms.listMaildir(`info@${A}`, 'new')).toHaveLength(2);
  });

  it('greylisting on: the first attempt to the Unicode address is deferred as to the A-label; off: accepted at once', async () => {
    await setPolicy({ action: 'MARK', threshold: 10, greylisting: true });
    const clean = (to: string, tag: string) => makeMessage({ from: `grey-${tag}@${OUT}`, to, subject: `grey ${tag}` });
    await waitFor(async () => (await mx(`info@${A}`, clean(`info@${A}`, `a${Date.now()}`), `grey-a${Date.now()}@${OUT}`)).code === 451, 'greylisting applies to the A-label', 30_000);
    const first = await mx(`info@${U}`, clean(`info@${U}`, 'u1'), `grey-u1@${OUT}`);
    expect(first.ok, first.transcript.join('\n')).toBe(false);
    expect(first.code).toBe(451);
    await setPolicy({ action: 'MARK', threshold: 10, greylisting: false });
    await waitFor(async () => (await mx(`info@${A}`, clean(`info@${A}`, `b${Date.now()}`), `grey-b${Date.now()}@${OUT}`)).ok, 'greylisting off for the A-label', 30_000);
    const off = await mx(`info@${U}`, clean(`info@${U}`, 'u2'), `grey-u2@${OUT}`);
    expect(off.ok, off.transcript.join('\n')).toBe(true);
  });

  it('DKIM: mail submitted with the Unicode envelope sender is signed with the domain key (d= the A-label) and verifies', async () => {
    const KEY = `dkim { selector dnsRecord { name values } }`;
    const r = (await p.ok(`mutation($d:ID!,$s:String){ r: enableDkim(domainId:$d, selector:$s){ __typename ${ERR} } }`, { d: domainId, s: 'mail' }, tenant.token)).r;
    expect(r.__typename, JSON.stringify(r)).toBe('MutationEnableDkimSuccess');
    const key = await waitFor(async () => (await p.ok(`query($id:ID!){ node(id:$id){ ... on Domain { ${KEY} } } }`, { id: domainId }, tenant.token)).node.dkim?.dnsRecord && (await p.ok(`query($id:ID!){ node(id:$id){ ... on Domain { ${KEY} } } }`, { id: domainId }, tenant.token)).node.dkim, 'DKIM key made');
    const send = (subject: string, headerFrom: string) =>
      smtpSend({ port: p.ms.ports.submission, from: `info@${U}`, to: [`partner@${OUT}`], smtputf8: true, auth: { user: `info@${U}`, pass: PW }, data: makeMessage({ from: headerFrom, to: `partner@${OUT}`, subject }) });
    // rspamd re-reads the selector map within ~1 s: send until a signed copy arrives.
    const out = await waitFor(async () => {
      const subject = `signed ${Date.now()}`;
      const sent = await send(subject, `info@${A}`);
      expect(sent.ok, sent.transcript.join('\n')).toBe(true);
      const m = await p.ms.sink.waitFor((x) => headerOf(x.data, 'Subject') === subject, 20_000);
      return headerOf(m.data, 'DKIM-Signature') ? m : null;
    }, 'a signed message', 30_000);
    expect(out.mailFrom).toBe(`info@${A}`);
    expect(headerOf(out.data, 'DKIM-Signature')).toMatch(/d=xn--bcher-kva\.test;\s*s=mail;/);
    const v = await dkimVerify(Buffer.from(out.data), {
      resolver: async (name: string, type: string) => {
        if (type === 'TXT' && name === key.dnsRecord.name) return [key.dnsRecord.values];
        throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
      },
    });
    expect(v.results.map((x: any) => [x.signingDomain, x.selector, x.status.result])).toEqual([[A, 'mail', 'pass']]);
  });

  it("DKIM: a Unicode envelope sender cannot get another customer's key by writing that domain in From:", async () => {
    // Before the envelope reached rspamd as the A-label, rspamd dropped the UTF-8 MAIL FROM and took
    // the message as having an empty envelope, which skips its header/envelope domain check: a
    // mailbox of bücher.test signed From: boss@<another customer's domain> with that domain's key.
    const other = await createTenant(p, { maxDomains: 2, maxMailboxes: 5 }, 'idnrs-other');
    const boss = await createMailbox(p, other.token, 'boss', other.domain, PW);
    const r = (await p.ok(`mutation($d:ID!,$s:String){ r: enableDkim(domainId:$d, selector:$s){ __typename ${ERR} } }`, { d: other.domainId, s: 'other' }, other.token)).r;
    expect(r.__typename, JSON.stringify(r)).toBe('MutationEnableDkimSuccess');
    const send = (login: string, envelope: string, headerFrom: string, subject: string) =>
      smtpSend({ port: p.ms.ports.submission, from: envelope, to: [`partner@${OUT}`], smtputf8: true, auth: { user: login, pass: PW }, data: makeMessage({ from: headerFrom, to: `partner@${OUT}`, subject }) });
    const signature = async (subject: string) => headerOf((await p.ms.sink.waitFor((x) => headerOf(x.data, 'Subject') === subject, 20_000)).data, 'DKIM-Signature');
    // The other domain's key is in use (its own mailbox's mail is signed) ...
    await waitFor(async () => {
      const subject = `boss ${Date.now()}`;
      expect((await send(boss.address, boss.address, boss.address, subject)).ok).toBe(true);
      return /s=other;/.test((await signature(subject)) ?? '');
    }, "the other domain's key in use", 30_000);
    // ... but not for info@bücher.test writing that address in From: (sent, unsigned).
    const subject = `forged ${Date.now()}`;
    const sent = await send(`info@${U}`, `info@${U}`, boss.address, subject);
    expect(sent.ok, sent.transcript.join('\n')).toBe(true);
    expect(await signature(subject)).toBeUndefined();
  });
});
