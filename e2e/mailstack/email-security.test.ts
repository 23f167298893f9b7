// Issue 5, proven on the real daemons: Postfix → rspamd (milter, with Redis) → Dovecot (LMTP, Sieve),
// Postfix → the panel's policy service, everything configured by the panel through GraphQL (DKIM keys,
// spam policy, white/blacklists, limits) and checked from outside: SMTP reply codes, Maildirs, IMAP,
// the loopback capture sink ("the Internet"), and a DKIM verifier nobody here wrote (mailauth) asked
// to check against exactly the record the panel displayed. Nothing leaves the machine.
import { mkdtemp, chmod, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ImapFlow } from 'imapflow';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, waitFor, type Tenant } from '../../test/harness.js';
import { CounterStore } from '../../worker/src/policy/counter-store.js';
import { startPolicyServer, type PolicyServer } from '../../worker/src/policy/server.js';
import { headerOf } from './capture-sink.js';
import { makeMessage, smtpSend } from './clients.js';
import { pickFreePorts, runCommand } from './harness.js';
import { withImap } from './imap.js';
import { startPanelOnMailstack, type PanelOnMailstack } from './panel.js';
import { startRspamd, type CheckResult, type Rspamd } from './rspamd.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const PW = 'mailbox-pass-1';
const OUT = 'outside.test';
const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } }`;
const KEY = `id selector algorithm status provisioning dnsRecord { name value values }`;
const M = {
  createDomain: `mutation($n:String!){ r: createDomain(name:$n){ __typename ... on MutationCreateDomainSuccess { domain { id name } } ${ERR} } }`,
  enableDkim: `mutation($d:ID!,$s:String,$a:DkimAlgorithm){ r: enableDkim(domainId:$d, selector:$s, algorithm:$a){ __typename ${ERR} } }`,
  rotateDkim: `mutation($d:ID!,$s:String,$a:DkimAlgorithm){ r: rotateDkimKey(domainId:$d, selector:$s, algorithm:$a){ __typename ${ERR} } }`,
  activateDkim: `mutation($id:ID!){ r: activateDkimKey(id:$id){ __typename ${ERR} } }`,
  spam: `mutation($d:ID!,$i:SpamSettingsInput!){ r: updateSpamSettings(domainId:$d, input:$i){ __typename ${ERR} } }`,
  list: `mutation($d:ID!,$k:SpamListKind!,$v:String!){ r: addSpamListEntry(domainId:$d, kind:$k, value:$v){ __typename ${ERR} } }`,
  release: `mutation($id:ID!){ r: releaseQuarantined(id:$id){ __typename ... on MutationReleaseQuarantinedSuccess { item { status } } ${ERR} } }`,
};
const DKIM = `query($id:ID!){ node(id:$id){ ... on Domain { dkim { ${KEY} } dkimKeys { ${KEY} } } } }`;
const QUARANTINE = `query($id:ID!){ node(id:$id){ ... on Domain { quarantine(first:10){ totalCount edges { node { id recipient sender subject score receivedAt status } } } } } }`;
const USAGE = `query($id:ID!){ node(id:$id){ ... on Mailbox { sendingLimit { limit used remaining resetsAt } } } }`;

async function messagesIn(c: ImapFlow, folder: string): Promise<number | null> {
  const s = await c.status(folder, { messages: true });
  return s ? (s.messages ?? null) : null;
}

/** Scores ~8.5 in rspamd 3.4 on its content alone (no DNS, no Bayes) as Postfix hands it over (with
 *  the Date and Message-ID it adds): an all-caps base64 subject, no MIME-Version, a Content-Type and
 *  nothing else, an HTML-only body linking to a bare IP. A clean message scores about 0. */
function spammy(from: string, to: string, tag: string): string {
  return (
    `From: "Winner" <${from}>\r\nTo: ${to}\r\nSubject: =?utf-8?B?${Buffer.from(`FREE MONEY ${tag.toUpperCase()}!!!`).toString('base64')}?=\r\n` +
    `Content-Type: text/html\r\n\r\n` +
    `<html><body><a href="http://192.0.2.7/claim">CLICK HERE NOW</a> to claim ${tag}</body></html>\r\n`
  );
}

describe.skipIf(!enabled)('email security on the real Postfix + Dovecot + rspamd + Redis (issue 5)', () => {
  let rs: Rspamd;
  let p: PanelOnMailstack;
  let policy: PolicyServer;
  let store: CounterStore;
  let esDir: string;
  let tenant: Tenant;

  beforeAll(async () => {
    // rspamd reads what the worker writes: maps and key files in a folder it can traverse.
    esDir = await mkdtemp(path.join(os.tmpdir(), 'email-security-'));
    await chmod(esDir, 0o755);
    const mapsDir = path.join(esDir, 'maps');
    const dkimDir = path.join(esDir, 'dkim');
    rs = await startRspamd({ mapsDir, dkimDir });
    const [policyPort] = await pickFreePorts(1);
    p = await startPanelOnMailstack({
      mailstack: { milter: rs.milter, policyService: `inet:127.0.0.1:${policyPort}` },
      env: { DKIM_DIR: dkimDir, DKIM_KEY_GROUP: '_rspamd', RSPAMD_MAPS_DIR: mapsDir, QUARANTINE_SCAN_SECONDS: '0.5', RSPAMD_SYNC_SECONDS: '3600' },
    });
    store = new CounterStore(p.db.url);
    policy = await startPolicyServer({ store, port: policyPort, cacheSeconds: 0 });
    tenant = await createTenant(p, { maxDomains: 10, maxMailboxes: 50 }, 'sec');
  });

  afterAll(async () => {
    await policy?.close();
    await store?.close();
    await p?.stop();
    await rs?.stop();
    if (esDir) await rm(esDir, { recursive: true, force: true });
  });

  // ---- helpers --------------------------------------------------------------------------------
  const act = async (doc: string, vars: Record<string, unknown>, token = tenant.token) => {
    const r = (await p.ok(doc, vars, token)).r;
    expect(r.__typename, JSON.stringify(r)).toMatch(/^Mutation\w+Success$/);
    return r;
  };
  const domain = async (name: string) => (await act(M.createDomain, { n: name })).domain as { id: string; name: string };
  const mailbox = async (local: string, dom: string, token = tenant.token) => {
    const m = await createMailbox(p, token, local, dom, PW);
    await waitFor(async () => (await p.ok(`query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning } } }`, { id: m.id }, token)).node.provisioning === 'READY', `${m.address} ready`);
    return m;
  };
  const mx = (to: string, data: string, from = `sender@${OUT}`) => smtpSend({ port: p.ms.ports.smtp, from, to: [to], data });
  const submit = (user: string, to: string, data: string) => smtpSend({ port: p.ms.ports.submission, from: user, to: [to], data, auth: { user, pass: PW } });
  const maildir = (address: string, folder = '') => p.ms.listMaildir(address, 'new', folder);
  const fileIn = async (address: string, folder: string, name: string) => readFile(path.join(p.ms.maildir(address), folder, 'new', name), 'utf8');
  /** Asks rspamd's scanner directly until it applies what the worker wrote (maps re-read in ~1 s). */
  const untilRspamd = (what: string, msg: Parameters<Rspamd['check']>[0], ok: (r: CheckResult) => boolean) =>
    waitFor(async () => ok(await rs.check(msg)), `rspamd applies ${what}`, 30_000);
  /** Waits until rspamd's scanner treats spam (or, with `ham`, a clean first contact) to `dom` as expected. */
  const policyApplied = (dom: string, expected: { action: string; header?: string; ham?: boolean }) => {
    const from = `probe-${Math.random().toString(36).slice(2, 8)}@${OUT}`;
    const message = expected.ham ? makeMessage({ from, to: `probe@${dom}`, subject: 'probe' }) : spammy(from, `probe@${dom}`, 'probe');
    return untilRspamd(`the policy of ${dom}`, { message, rcpt: [`probe@${dom}`], from }, (r) => {
      const header = r.milter?.add_headers?.['X-Panel-Spam'];
      const value = typeof header === 'string' ? header : header?.value;
      return r.action === expected.action && value === expected.header;
    });
  };

  // ---- the configuration ----------------------------------------------------------------------
  it('rspamd runs the rendered configuration: resolver at 127.0.0.1:53, no network modules', async () => {
    const ct = await rs.configtest();
    expect(ct.code, ct.stderr + ct.stdout).toBe(0);
    expect(ct.stdout).toContain('syntax OK');
    const options = await readFile(path.join(rs.dir, 'etc', 'local.d', 'options.inc'), 'utf8');
    expect(options).toContain('nameserver = ["127.0.0.1:53"];');
    for (const m of ['fuzzy_check', 'rbl', 'asn', 'phishing']) expect(await readFile(path.join(rs.dir, 'etc', 'local.d', `${m}.conf`), 'utf8')).toContain('enabled = false;');
  });

  // ---- DKIM -----------------------------------------------------------------------------------
  describe('DKIM', () => {
    const verify = async (data: string, records: Record<string, string[]>) =>
      dkimVerify(Buffer.from(data), {
        resolver: async (name: string, type: string) => {
          if (type === 'TXT' && records[name]) return [records[name]!];
          throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
        },
      });
    const keysOf = async () => (await p.ok(DKIM, { id: tenant.domainId }, tenant.token)).node;

    it('outbound mail is signed with the key whose record the panel displays (RSA-2048, then Ed25519 after a rotation)', async () => {
      const alice = await mailbox('alice', tenant.domain);
      await act(M.enableDkim, { d: tenant.domainId, s: 'mail' });
      const rsa = await waitFor(async () => {
        const k = (await keysOf()).dkim;
        return k?.dnsRecord && k;
      }, 'RSA key made');
      expect(rsa.dnsRecord.values.length).toBe(2); // > 255 bytes: two TXT strings
      const probe = (selector: string) =>
        untilRspamd(`selector ${selector}`, { message: makeMessage({ from: alice.address, to: `bob@${OUT}`, subject: 'probe' }), rcpt: [`bob@${OUT}`], from: alice.address, user: alice.address }, (r) =>
          String(r['dkim-signature'] ?? '').includes(`s=${selector};`),
        );
      await probe('mail');

      const subject = `signed ${Date.now()}`;
      const sent = await submit(alice.address, `bob@${OUT}`, makeMessage({ from: alice.address, to: `bob@${OUT}`, subject }));
      expect(sent.ok, sent.transcript.join('\n')).toBe(true);
      const out = await p.ms.sink.waitFor((m) => headerOf(m.data, 'Subject') === subject, 30_000);
      expect(headerOf(out.data, 'DKIM-Signature')).toMatch(new RegExp(`d=${tenant.domain.replace(/\./g, '\\.')};\\s*s=mail;`));
      const ok = await verify(out.data, { [rsa.dnsRecord.name]: rsa.dnsRecord.values });
      expect(ok.results.map((r) => [r.signingDomain, r.selector, r.status.result])).toEqual([[tenant.domain, 'mail', 'pass']]);
      // The verifier really checks: another key under that name fails.
      const other = await verify(out.data, { [rsa.dnsRecord.name]: ['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu'] });
      expect(other.results[0]!.status.result).not.toBe('pass');

      // Rotation: the new Ed25519 key is published beside the old one, then activated.
      await act(M.rotateDkim, { d: tenant.domainId, s: 'ed', a: 'ED25519' });
      const ed = await waitFor(async () => (await keysOf()).dkimKeys.find((k: any) => k.selector === 'ed' && k.dnsRecord), 'Ed25519 key made');
      expect(ed.status).toBe('PENDING');
      await act(M.activateDkim, { id: ed.id });
      await probe('ed');
      const subject2 = `signed ed25519 ${Date.now()}`;
      expect((await submit(alice.address, `bob@${OUT}`, makeMessage({ from: alice.address, to: `bob@${OUT}`, subject: subject2 }))).ok).toBe(true);
      const out2 = await p.ms.sink.waitFor((m) => headerOf(m.data, 'Subject') === subject2, 30_000);
      expect(headerOf(out2.data, 'DKIM-Signature')).toContain('a=ed25519-sha256');
      const ok2 = await verify(out2.data, { [ed.dnsRecord.name]: ed.dnsRecord.values });
      expect(ok2.results.map((r) => [r.selector, r.status.result])).toEqual([['ed', 'pass']]);
    });
  });

  // ---- spam policy ----------------------------------------------------------------------------
  describe('spam policy per domain', () => {
    it('REJECT: GTUBE and a spammy message are refused at SMTP; a clean one is delivered', async () => {
      const d = await domain('reject-sec.example');
      const carol = await mailbox('carol', d.name);
      await act(M.spam, { d: d.id, i: { action: 'REJECT', threshold: 5.5 } });
      await policyApplied(d.name, { action: 'reject' });
      const gtube = await mx(carol.address, makeMessage({ from: `x@${OUT}`, to: carol.address, subject: 'test', body: GTUBE }));
      expect(gtube).toMatchObject({ ok: false, stage: 'data' });
      expect(gtube.code).toBe(554);
      const spam = await mx(carol.address, spammy(`x@${OUT}`, carol.address, 'reject'));
      expect(spam.code, spam.transcript.join('\n')).toBe(554);
      expect((await mx(carol.address, makeMessage({ from: `x@${OUT}`, to: carol.address, subject: 'hello' }))).ok).toBe(true);
      await p.ms.waitForMaildir(carol.address, 1);
      expect(await maildir(carol.address)).toHaveLength(1);
    });

    it('rspamd down: mail is deferred (4xx), never accepted unscanned; once rspamd is back the policy applies again', async () => {
      const d = await domain('down-sec.example');
      const dave = await mailbox('dave', d.name);
      await act(M.spam, { d: d.id, i: { action: 'REJECT', threshold: 5.5 } });
      await policyApplied(d.name, { action: 'reject' });
      const gtube = () => mx(dave.address, makeMessage({ from: `x@${OUT}`, to: dave.address, subject: 'test', body: GTUBE }));
      const clean = () => mx(dave.address, makeMessage({ from: `x@${OUT}`, to: dave.address, subject: 'hello while down' }));
      await rs.pause();
      try {
        for (const r of [await gtube(), await clean()]) {
          expect(r.ok, r.transcript.join('\n')).toBe(false);
          expect(Math.floor(r.code / 100), r.transcript.join('\n')).toBe(4);
        }
        const sub = await submit(dave.address, `someone@${OUT}`, makeMessage({ from: dave.address, to: `someone@${OUT}`, subject: 'unsigned?' }));
        expect(Math.floor(sub.code / 100), sub.transcript.join('\n')).toBe(4);
      } finally {
        await rs.resume();
      }
      await policyApplied(d.name, { action: 'reject' });
      expect((await gtube()).code).toBe(554);
      expect((await clean()).ok).toBe(true);
      await p.ms.waitForMaildir(dave.address, 1);
      expect(await maildir(dave.address)).toHaveLength(1);
    });

    it('MARK: spam is delivered into Junk with spam headers; clean mail to INBOX; a forged header is dropped', async () => {
      const d = await domain('mark-sec.example');
      const dave = await mailbox('dave', d.name);
      await act(M.spam, { d: d.id, i: { action: 'MARK', threshold: 5 } });
      await policyApplied(d.name, { action: 'add header', header: 'junk' });
      expect((await mx(dave.address, spammy(`x@${OUT}`, dave.address, 'mark'))).ok).toBe(true);
      const [junk] = await p.ms.waitForMaildir(dave.address, 1, { folder: '.Junk' });
      const text = await fileIn(dave.address, '.Junk', junk!);
      expect(headerOf(text, 'X-Spam-Status')).toMatch(/^Yes, score=\d+\.\d+$/);
      expect(headerOf(text, 'X-Spamd-Result')).toMatch(/^default: False \[\d+\.\d+ \/ \d+\.\d+\];/);
      expect(headerOf(text, 'X-Panel-Spam')).toBe('junk');
      expect(await maildir(dave.address)).toEqual([]);
      // A clean message that claims to be quarantined spam goes to INBOX, without that header.
      const forged = makeMessage({ from: `x@${OUT}`, to: dave.address, subject: 'forged', headers: { 'X-Panel-Spam': 'quarantine' } });
      expect((await mx(dave.address, forged)).ok).toBe(true);
      const [inbox] = await p.ms.waitForMaildir(dave.address, 1);
      const clean = await fileIn(dave.address, '', inbox!);
      expect(headerOf(clean, 'X-Panel-Spam')).toBeUndefined();
      expect(headerOf(clean, 'X-Spam-Status')).toMatch(/^No, score=/);
      // What an IMAP client sees.
      const folders = await withImap({ port: p.ms.ports.imap, user: dave.address, pass: PW }, async (c) => {
        return { junk: await messagesIn(c, 'Junk'), inbox: await messagesIn(c, 'INBOX') };
      });
      expect(folders).toEqual({ junk: 1, inbox: 1 });
    });

    it('QUARANTINE: spam is held away from the mailbox, listed by the API, and released into INBOX', async () => {
      const d = await domain('quar-sec.example');
      const erin = await mailbox('erin', d.name);
      await act(M.spam, { d: d.id, i: { action: 'QUARANTINE', threshold: 5.25 } });
      await policyApplied(d.name, { action: 'add header', header: 'quarantine' });
      expect((await mx(erin.address, spammy(`promo@${OUT}`, erin.address, 'quarantine'))).ok).toBe(true);
      const item = await waitFor(async () => (await p.ok(QUARANTINE, { id: d.id }, tenant.token)).node.quarantine.edges[0]?.node, 'listed in the quarantine', 30_000);
      expect(item).toMatchObject({ recipient: erin.address, sender: `promo@${OUT}`, subject: 'FREE MONEY QUARANTINE!!!', status: 'HELD' });
      expect(item.score).toBeGreaterThan(5.25);
      // Not in the mailbox: no file in any folder, no folder an IMAP client can list.
      expect(await maildir(erin.address)).toEqual([]);
      expect(await maildir(erin.address, '.Junk')).toEqual([]);
      const imap = await withImap({ port: p.ms.ports.imap, user: erin.address, pass: PW }, async (c) => ({
        folders: (await c.list()).map((f) => f.path),
        inbox: await messagesIn(c, 'INBOX'),
      }));
      expect(imap!.folders.some((f) => /quarantine/i.test(f))).toBe(false);
      expect(imap!.inbox).toBe(0);

      // The mailbox owner releases it: it arrives in INBOX, where IMAP sees it.
      const owner = await p.login(erin.address, PW);
      expect((await act(M.release, { id: item.id }, owner)).item.status).toBe('RELEASING');
      const [released] = await p.ms.waitForMaildir(erin.address, 1);
      expect(headerOf(await fileIn(erin.address, '', released!), 'Subject')).toContain('=?utf-8?B?');
      const subjects = await withImap({ port: p.ms.ports.imap, user: erin.address, pass: PW }, async (c) => {
        await c.mailboxOpen('INBOX');
        const out: string[] = [];
        for await (const m of c.fetch('1:*', { envelope: true })) out.push(m.envelope?.subject ?? '');
        return out;
      });
      expect(subjects).toEqual(['FREE MONEY QUARANTINE!!!']);
      await waitFor(async () => (await p.ok(QUARANTINE, { id: d.id }, tenant.token)).node.quarantine.totalCount === 0, 'no longer held');
    });

    it('greylisting: the first attempt of an unknown sender is deferred, a retry after the delay is accepted', async () => {
      const d = await domain('grey-sec.example');
      const frank = await mailbox('frank', d.name);
      await act(M.spam, { d: d.id, i: { action: 'REJECT', threshold: 14.5, greylisting: true } });
      await policyApplied(d.name, { action: 'soft reject', ham: true });
      const msg = makeMessage({ from: `new@${OUT}`, to: frank.address, subject: 'first contact' });
      const first = await mx(frank.address, msg, `new@${OUT}`);
      expect(first).toMatchObject({ ok: false, stage: 'data' });
      expect(first.code).toBe(451);
      expect(first.text).toMatch(/4\.7\.1.*Try again later/i);
      expect(await maildir(frank.address)).toEqual([]);
      await new Promise((r) => setTimeout(r, 3000)); // the test profile's 2 s greylisting delay
      const retry = await mx(frank.address, msg, `new@${OUT}`);
      expect(retry.ok, retry.transcript.join('\n')).toBe(true);
      await p.ms.waitForMaildir(frank.address, 1);
    });

    it('whitelist and blacklist: a whitelisted sender is never spam, a blacklisted one always is', async () => {
      const d = await domain('lists-sec.example');
      const gina = await mailbox('gina', d.name);
      await act(M.spam, { d: d.id, i: { action: 'REJECT', threshold: 6.5 } });
      await act(M.list, { d: d.id, k: 'WHITELIST', v: `Friend@${OUT}` });
      await act(M.list, { d: d.id, k: 'BLACKLIST', v: '@spammer.test' });
      const probe = (from: string, message: string) => ({ message, rcpt: [gina.address], from });
      await untilRspamd('the blacklist', probe('x@spammer.test', makeMessage({ from: 'x@spammer.test', to: gina.address, subject: 'p' })), (r) => 'PANEL_SENDER_BLACKLIST' in r.symbols);

      // The same spammy message: refused from a stranger, delivered from the whitelisted friend.
      expect((await mx(gina.address, spammy(`stranger@${OUT}`, gina.address, 'list'), `stranger@${OUT}`)).code).toBe(554);
      expect((await mx(gina.address, spammy(`friend@${OUT}`, gina.address, 'list'), `friend@${OUT}`)).ok).toBe(true);
      // A clean message from anyone at the blacklisted domain is refused.
      const bl = await mx(gina.address, makeMessage({ from: 'ceo@spammer.test', to: gina.address, subject: 'hi' }), 'ceo@spammer.test');
      expect(bl.code).toBe(554);
      const [only] = await p.ms.waitForMaildir(gina.address, 1);
      expect(headerOf(await fileIn(gina.address, '', only!), 'From')).toContain(`friend@${OUT}`);
    });
  });

  // ---- outbound rate limits -------------------------------------------------------------------
  describe('outbound rate limits (Postfix policy service)', () => {
    it('the (N+1)th message in the hour is deferred per mailbox, per domain and per package total', async () => {
      // Not across an hour boundary: the counters would start over in the middle.
      const toNextHour = 3600_000 - (Date.now() % 3600_000);
      if (toNextHour < 60_000) await new Promise((r) => setTimeout(r, toNextHour + 1000));
      const lim = await createTenant(p, { maxEmailsPerHourMailbox: 2, maxEmailsPerHourDomain: 3, maxEmailsPerHour: 4, maxDomains: 5 }, 'lim');
      const other = (await act(M.createDomain, { n: 'lim2.example' }, lim.token)).domain as { id: string; name: string };
      const [h, i, j] = [await mailbox('h', lim.domain, lim.token), await mailbox('i', lim.domain, lim.token), await mailbox('j', other.name, lim.token)];
      let n = 0;
      const send = async (m: { address: string }) => {
        const subject = `limited ${++n}`;
        return { subject, r: await submit(m.address, `rcpt@${OUT}`, makeMessage({ from: m.address, to: `rcpt@${OUT}`, subject })) };
      };
      const deferred = (x: { r: Awaited<ReturnType<typeof submit>> }) => {
        expect(x.r.ok, x.r.transcript.join('\n')).toBe(false);
        expect(x.r.stage).toBe('data');
        expect(x.r.code).toBe(450);
        expect(x.r.text).toMatch(/^4\.7\.1 .*Sending limit reached: /);
        return x.r.text;
      };
      // Mailbox h: 2 per hour.
      const h1 = await send(h);
      const h2 = await send(h);
      expect([h1.r.ok, h2.r.ok]).toEqual([true, true]);
      expect(deferred(await send(h))).toContain(`for ${h.address}`);
      // Domain: 3 per hour → i gets one more.
      expect((await send(i)).r.ok).toBe(true);
      expect(deferred(await send(i))).toContain(`for the domain ${lim.domain}`);
      // Package total: 4 per hour → j (another domain) gets one more.
      expect((await send(j)).r.ok).toBe(true);
      expect(deferred(await send(j))).toContain('for your account');

      // Exactly the accepted ones left the machine (through the capture sink).
      await p.ms.sink.waitFor((m) => headerOf(m.data, 'Subject') === 'limited 6', 30_000);
      const relayed = p.ms.sink.messages.map((m) => headerOf(m.data, 'Subject')).filter((s) => s?.startsWith('limited '));
      expect(relayed.sort()).toEqual(['limited 1', 'limited 2', 'limited 4', 'limited 6']);
      // GraphQL shows the live usage next to each limit.
      const usage = (await p.ok(USAGE, { id: h.id }, lim.token)).node.sendingLimit;
      expect(usage).toMatchObject({ limit: 2, used: 2, remaining: 0 });
      expect(new Date(usage.resetsAt).getTime() % 3600_000).toBe(0);
    });
  });

  // ---- nothing leaves the machine ---------------------------------------------------------------
  it('nothing left the machine: rspamd and Redis talk only to loopback, mail only to the capture sink', async () => {
    const ss = await runCommand('ss', ['-tunapH']);
    expect(ss.code).toBe(0);
    const pids = new Set<number>(rs.pids());
    // rspamd forks its workers: their parent is the main process we started.
    for (const pid of [...pids]) {
      const r = await runCommand('ps', ['-o', 'pid=', '--ppid', String(pid)]);
      for (const c of r.stdout.split('\n').map((s) => Number(s.trim())).filter(Boolean)) pids.add(c);
    }
    const ours = ss.stdout.split('\n').filter((l) => [...l.matchAll(/pid=(\d+)/g)].some((m) => pids.has(Number(m[1]))));
    expect(ours.length).toBeGreaterThan(0);
    for (const line of ours) {
      const peer = line.trim().split(/\s+/)[5] ?? '';
      expect(peer, line).toMatch(/^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]|0\.0\.0\.0|\*|\[::\]):(\d+|\*)$/);
    }
    // Postfix relayed everything it sent to the sink; its log names no other destination.
    const log = await readFile(p.ms.logs.postfix, 'utf8');
    const relays = [...log.matchAll(/ relay=([^,\s]+)/g)].map((m) => m[1]);
    for (const r of relays) expect(r).toMatch(/^(127\.0\.0\.1\[127\.0\.0\.1\]:\d+|none|local)$/);
    expect(await readdir(path.join(esDir, 'maps'))).toEqual(expect.arrayContaining(['settings.ucl', 'dkim_selectors.map']));
  });
});
