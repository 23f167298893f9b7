// Issue 12, "mail truth at the edges", proven on the real Postfix + Dovecot: the panel driven only
// through GraphQL (in-process API and worker on the database the daemons read), every effect checked
// from outside — SMTP reply codes on the MX and submission ports, IMAP sessions, the capture sink
// (what would have left the machine, bounces included), the Maildirs and Postfix's queue. The
// numbered describe blocks are the numbered items.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, waitFor, type Tenant } from '../../test/harness.js';
import { CounterStore } from '../../worker/src/policy/counter-store.js';
import { startPolicyServer, type PolicyServer } from '../../worker/src/policy/server.js';
import { pickFreePorts } from './harness.js';
import { bodyOf, headerOf, type CapturedMessage } from './capture-sink.js';
import { ImapSession, makeMessage, smtpSend } from './clients.js';
import { imapCanLogin, imapSubjects } from './imap.js';
import { startPanelOnMailstack, type PanelOnMailstack } from './panel.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const PW = 'mailbox-pass-1';
const OUT = 'outside.test'; // "the Internet": only ever reached through the capture sink

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } }`;
const M = {
  createForward: `mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ __typename ... on MutationCreateForwardSuccess { forward { id } } ${ERR} } }`,
  createDomain: `mutation($n:String!){ r: createDomain(name:$n){ __typename ... on MutationCreateDomainSuccess { domain { id name } } ${ERR} } }`,
  updateDomain: `mutation($id:ID!,$e:Boolean!){ r: updateDomain(id:$id, enabled:$e){ __typename ... on MutationUpdateDomainSuccess { domain { enabled } } ${ERR} } }`,
  setStatus: `mutation($id:ID!,$s:MailboxStatus!){ r: setMailboxStatus(id:$id, status:$s){ __typename ... on MutationSetMailboxStatusSuccess { mailbox { status } } ${ERR} } }`,
  password: `mutation($id:ID!,$p:String!){ r: changeMailboxPassword(id:$id, password:$p){ __typename ... on MutationChangeMailboxPasswordSuccess { mailbox { id provisioning } } ${ERR} } }`,
  delete: `mutation($id:ID!){ r: deleteMailbox(id:$id){ __typename ... on MutationDeleteMailboxSuccess { deletedId } ${ERR} } }`,
  autoresponder: `mutation($id:ID!,$i:AutoresponderInput!){ r: setAutoresponder(mailboxId:$id, input:$i){ __typename ... on MutationSetAutoresponderSuccess { mailbox { provisioning } } ${ERR} } }`,
};
const NODE = `query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning provisioningError status } } }`;

describe.skipIf(!enabled)('mail truth at the edges (issue 12)', () => {
  let p: PanelOnMailstack;
  let tenant: Tenant;
  let store: CounterStore;
  let policy: PolicyServer;

  beforeAll(async () => {
    // The panel's policy service (as `npm run policy` runs it) answers the message size check at RCPT.
    const [policyPort] = await pickFreePorts(1);
    p = await startPanelOnMailstack({ mailstack: { policyService: `inet:127.0.0.1:${policyPort}` } });
    store = new CounterStore(p.db.url);
    policy = await startPolicyServer({ store, port: policyPort, cacheSeconds: 0 });
    tenant = await createTenant(p, { maxDomains: 10 }, 'truth');
  });
  afterAll(async () => {
    await policy?.close();
    await store?.close();
    await p?.stop();
  });

  const act = async (doc: string, vars: Record<string, unknown>, token = tenant.token) => {
    const r = (await p.ok(doc, vars, token)).r;
    expect(r.__typename, JSON.stringify(r)).toMatch(/^Mutation\w+Success$/);
    return r;
  };
  const mailbox = (local: string, domain = tenant.domain, quotaMb?: number) => createMailbox(p, tenant.token, local, domain, PW, quotaMb);
  const settled = (id: string) =>
    waitFor(async () => {
      const n = (await p.ok(NODE, { id }, tenant.token)).node;
      return n.provisioning !== 'PENDING' && n;
    }, 'provisioning done', 20_000);
  const imap = (user: string, pass = PW) => ({ port: p.ms.ports.imap, user, pass });
  const mx = (to: string | string[], subject: string, opts: { from?: string; body?: string } = {}) => {
    const from = opts.from ?? `sender@${OUT}`;
    const rcpts = Array.isArray(to) ? to : [to];
    return smtpSend({ port: p.ms.ports.smtp, from, to: rcpts, data: makeMessage({ from, to: rcpts.join(', '), subject, body: opts.body }) });
  };
  const submit = (user: string, pass: string, to: string, subject: string) =>
    smtpSend({ port: p.ms.ports.submission, from: user, to: [to], data: makeMessage({ from: user, to, subject }), auth: { user, pass } });
  const inboxHas = (user: string, subject: string) =>
    waitFor(async () => (await imapSubjects(imap(user))).includes(subject), `"${subject}" in ${user}'s INBOX`, 20_000);
  /** The bounce (DSN from the null sender) the capture sink got for `subject`. */
  const bounceFor = (subject: string, to = `sender@${OUT}`) =>
    p.ms.sink.waitFor((m: CapturedMessage) => m.mailFrom === '' && m.rcptTo.includes(to) && m.data.includes(`Subject: ${subject}`), 30_000);
  const sinkSubjects = () => p.ms.sink.messages.map((m) => headerOf(m.data, 'Subject'));
  /** An IMAP session logged in with INBOX selected, as a mail client keeps one open. */
  const openSession = async (user: string, pass = PW) => {
    const s = await ImapSession.open(p.ms.ports.imap);
    expect((await s.login(user, pass)).status).toBe('OK');
    expect((await s.command('SELECT INBOX')).status).toBe('OK');
    return s;
  };
  /** Milliseconds until the server ends the session (NOOP every 100 ms), or null if still open after `ms`. */
  const endsWithin = async (s: ImapSession, ms: number): Promise<number | null> => {
    const t0 = Date.now();
    for (;;) {
      try {
        const r = await s.command('NOOP');
        if (r.status !== 'OK' || r.untagged.some((l) => l.startsWith('* BYE'))) return Date.now() - t0;
      } catch {
        return Date.now() - t0; // closed by the server
      }
      if (Date.now() - t0 > ms) return null;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  // ---- 2 ---------------------------------------------------------------------------------------
  describe('2. disabled means refused', () => {
    it('a disabled mailbox in a catch-all domain: 550 5.2.1 at RCPT on every port; through a forward it bounces; the catch-all gets nothing', async () => {
      const dis = await mailbox('dis');
      const peer = await mailbox('peer');
      const catcher = await mailbox('catcher');
      await act(M.createForward, { s: `*@${tenant.domain}`, d: [catcher.address] });
      await act(M.createForward, { s: `via@${tenant.domain}`, d: [dis.address] });
      await settled(dis.id);
      await settled(peer.id);
      await act(M.setStatus, { id: dis.id, s: 'DISABLED' });

      // MX: the address and its +tag form
      for (const rcpt of [dis.address, `dis+tag@${tenant.domain}`, dis.address.toUpperCase()]) {
        const r = await mx(rcpt, 'to a disabled mailbox');
        expect(r, r.transcript.join('\n')).toMatchObject({ ok: false, stage: 'rcpt', code: 550 });
        expect(r.text).toMatch(/^5\.2\.1 /);
      }
      // Submission from another mailbox of the panel: refused at RCPT too
      const sub = await submit(peer.address, PW, dis.address, 'submitted to a disabled mailbox');
      expect(sub, sub.transcript.join('\n')).toMatchObject({ ok: false, stage: 'rcpt', code: 550 });
      expect(sub.text).toMatch(/^5\.2\.1 /);
      // Logins of the disabled mailbox are refused as before
      expect(await imapCanLogin(imap(dis.address))).toBe(false);
      expect(await submit(dis.address, PW, `friend@${OUT}`, 'sent while disabled')).toMatchObject({ ok: false, stage: 'auth', code: 535 });

      // Through a forward: accepted for via@ (an active forward), then bounced with 5.2.1 for dis@
      const fw = await mx(`via@${tenant.domain}`, 'forwarded to a disabled mailbox');
      expect(fw.ok, fw.transcript.join('\n')).toBe(true);
      const dsn = await bounceFor('forwarded to a disabled mailbox');
      expect(bodyOf(dsn.data)).toMatch(/5\.2\.1/);

      // A control message shows the catch-all works — and that nothing before it reached it.
      const ctl = await mx(`nobody-here@${tenant.domain}`, 'control for the catch-all');
      expect(ctl.ok, ctl.transcript.join('\n')).toBe(true);
      await inboxHas(catcher.address, 'control for the catch-all');
      expect(await imapSubjects(imap(catcher.address))).toEqual(['control for the catch-all']);

      // Enabled again: delivered to the mailbox itself, not to the catch-all.
      await act(M.setStatus, { id: dis.id, s: 'ACTIVE' });
      const back = await mx(dis.address, 'after re-enabling');
      expect(back.ok, back.transcript.join('\n')).toBe(true);
      await inboxHas(dis.address, 'after re-enabling');
      expect(await imapSubjects(imap(dis.address))).toEqual(['after re-enabling']);
    });

    it('every address of a disabled domain: 550 5.2.1 at RCPT; a forward into it bounces and is never relayed out', async () => {
      const d = (await act(M.createDomain, { n: 'off.example' })).domain;
      const inOff = await mailbox('info', 'off.example');
      await mailbox('catchall', 'off.example');
      await act(M.createForward, { s: '*@off.example', d: ['catchall@off.example'] });
      await act(M.createForward, { s: `to-off@${tenant.domain}`, d: ['someone@off.example', 'info@off.example'] });
      await settled(inOff.id);
      await act(M.updateDomain, { id: d.id, e: false }, p.adminToken);

      // (info@ several times: every idle smtpd process has then looked at it while the domain was off)
      for (const rcpt of ['info@off.example', 'random-1@off.example', 'catchall@off.example', 'info@off.example', 'info@off.example', 'info@off.example']) {
        const r = await mx(rcpt, 'to a disabled domain');
        expect(r, r.transcript.join('\n')).toMatchObject({ ok: false, stage: 'rcpt', code: 550 });
        expect(r.text).toMatch(/^5\.2\.1 /);
      }
      const before = p.ms.sink.messages.length;
      const fw = await mx(`to-off@${tenant.domain}`, 'forwarded into a disabled domain');
      expect(fw.ok, fw.transcript.join('\n')).toBe(true);
      const dsn = await bounceFor('forwarded into a disabled domain');
      expect(bodyOf(dsn.data)).toMatch(/5\.2\.1/);
      expect(bodyOf(dsn.data)).toContain('someone@off.example');
      // Nothing but that bounce left the machine (no relay to someone@off.example).
      await new Promise((r) => setTimeout(r, 1000));
      const after = p.ms.sink.messages.slice(before);
      expect(after.filter((m) => m.rcptTo.some((r) => r.endsWith('@off.example')))).toHaveLength(0);

      // Enabled again: accepted at once, by whichever smtpd process answers.
      await act(M.updateDomain, { id: d.id, e: true }, p.adminToken);
      const back = await mx('info@off.example', 'domain enabled again');
      expect(back.ok, back.transcript.join('\n')).toBe(true);
      await inboxHas('info@off.example', 'domain enabled again');
      expect(await imapSubjects(imap('info@off.example'))).toEqual(['domain enabled again']);
      expect(await imapSubjects(imap('catchall@off.example'))).toEqual([]);
      expect(sinkSubjects()).not.toContain('forwarded into a disabled domain');
    });
  });

  // ---- 3 ---------------------------------------------------------------------------------------
  describe('3. open sessions end on password change, disable and delete', () => {
    it('a password change ends the open IMAP session within 5 s; the new password logs in, the old one not', async () => {
      const m = await mailbox('kick-pw');
      await settled(m.id);
      const s = await openSession(m.address);
      const other = await mailbox('kick-bystander');
      await settled(other.id);
      const bystander = await openSession(other.address);
      try {
        await act(M.password, { id: m.id, p: 'a-brand-new-pass-1' });
        const took = await endsWithin(s, 5_000);
        expect(took, 'the session was still open 5 s after the password change').not.toBeNull();
        expect(took!).toBeLessThan(5_000);
        expect((await settled(m.id)).provisioning).toBe('READY');
        expect(await imapCanLogin(imap(m.address))).toBe(false);
        expect(await imapCanLogin(imap(m.address, 'a-brand-new-pass-1'))).toBe(true);
        // another mailbox's session is untouched
        expect((await bystander.command('NOOP')).status).toBe('OK');
      } finally {
        s.close();
        await bystander.logout();
      }
    });

    it('a disable and a delete end the open IMAP session within 5 s', async () => {
      const d = await mailbox('kick-disable');
      const x = await mailbox('kick-delete');
      await settled(d.id);
      await settled(x.id);
      const sd = await openSession(d.address);
      const sx = await openSession(x.address);
      try {
        await act(M.setStatus, { id: d.id, s: 'DISABLED' });
        const tookD = await endsWithin(sd, 5_000);
        expect(tookD, 'still open 5 s after the disable').not.toBeNull();
        expect((await settled(d.id)).provisioning).toBe('READY');

        await act(M.delete, { id: x.id });
        const tookX = await endsWithin(sx, 5_000);
        expect(tookX, 'still open 5 s after the delete').not.toBeNull();
        expect(await imapCanLogin(imap(x.address))).toBe(false);
      } finally {
        sd.close();
        sx.close();
      }
    });

    it('disabling a domain ends the open IMAP sessions of its mailboxes within 5 s', async () => {
      const d = (await act(M.createDomain, { n: 'kick-domain.example' })).domain;
      const m = await mailbox('user', 'kick-domain.example');
      await settled(m.id);
      const s = await openSession(m.address);
      try {
        await act(M.updateDomain, { id: d.id, e: false }, p.adminToken);
        const took = await endsWithin(s, 5_000);
        expect(took, 'still open 5 s after the domain was disabled').not.toBeNull();
        expect((await settled(m.id)).provisioning).toBe('READY');
        expect(await imapCanLogin(imap(m.address))).toBe(false);
      } finally {
        s.close();
      }
    });

    it('Dovecot unreachable: the mailbox says so (PENDING with the reason), and it completes once Dovecot is back', async () => {
      const m = await mailbox('kick-outage');
      await settled(m.id);
      await p.ms.stopDaemon('dovecot');
      try {
        await act(M.password, { id: m.id, p: 'outage-pass-1234' });
        const shown = await waitFor(async () => {
          const n = (await p.ok(NODE, { id: m.id }, tenant.token)).node;
          return n.provisioningError && n;
        }, 'the failed try on the mailbox', 30_000);
        expect(shown.provisioning).toBe('PENDING');
        expect(shown.provisioningError).toMatch(/doveadm/);
      } finally {
        await p.ms.startDaemon('dovecot');
      }
      const done = await waitFor(async () => {
        const n = (await p.ok(NODE, { id: m.id }, tenant.token)).node;
        return n.provisioning === 'READY' && n;
      }, 'READY after Dovecot is back', 90_000);
      expect(done.provisioningError).toBeNull();
      expect(await imapCanLogin(imap(m.address, 'outage-pass-1234'))).toBe(true);
    });
  });

  // ---- 4 ---------------------------------------------------------------------------------------
  describe('4. one autoresponder reply per sender, whatever the delivery concurrency', () => {
    const ROUNDS = Number(process.env.VACATION_RACE_ROUNDS ?? 4);
    const BURST = 30;

    it(`${ROUNDS} rounds of ${BURST} messages sent at once by one sender (to the address and its +tags): all accepted, exactly one reply per round`, async () => {
      const away = await mailbox('away');
      await settled(away.id);
      await act(M.autoresponder, { id: away.id, i: { enabled: true, subject: 'Away', message: 'Back on Monday.' } });
      expect((await settled(away.id)).provisioning).toBe('READY');
      const replies: number[] = [];
      let delivered = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const sender = `burst${round}@${OUT}`;
        const sent = await Promise.all(
          Array.from({ length: BURST }, (_, i) => mx(i % 3 === 2 ? `away+t${i}@${tenant.domain}` : away.address, `burst ${round}.${i}`, { from: sender })),
        );
        // Every one accepted: no "451 4.3.0 Temporary lookup failure" when many sessions arrive at once.
        expect(sent.filter((r) => !r.ok).map((r) => `${r.stage} ${r.code} ${r.text}`)).toEqual([]);
        delivered += BURST;
        await p.ms.waitForMaildir(away.address, delivered, { timeoutMs: 90_000 });
        // Replies go out through Postfix to the sink; give a second one time to arrive too.
        await p.ms.sink.waitFor((m) => m.rcptTo.includes(sender), 30_000);
        await new Promise((r) => setTimeout(r, 2000));
        replies.push(p.ms.sink.messages.filter((m) => m.rcptTo.includes(sender) && /^auto-replied/.test(headerOf(m.data, 'Auto-Submitted') ?? '')).length);
      }
      expect(replies, `replies per round: ${replies.join(' ')}`).toEqual(Array(ROUNDS).fill(1));
    });
  });

  // ---- 5 ---------------------------------------------------------------------------------------
  describe('5. deletion is final for queued mail', () => {
    const postqueue = async () => {
      const r = await p.ms.run('/usr/sbin/postqueue', ['-c', p.ms.paths.postfixConfigDir, '-j']);
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { queue_name: string; queue_id: string; recipients: { address: string }[] });
    };
    const queuedFor = async (local: string) =>
      (await postqueue()).filter((q) => q.recipients.some((r) => r.address.startsWith(`${local}@`) || r.address.startsWith(`${local}+`)));
    const queueIdOf = (r: { text: string }) => /queued as ([0-9A-Za-z]+)/.exec(r.text)![1]!;

    it('mail Postfix still holds for a deleted mailbox (deferred, on hold, +tag, several recipients) never reaches a re-created mailbox of the same address', async () => {
      const gone = await mailbox('gone');
      const stays = await mailbox('stays');
      await settled(gone.id);
      await settled(stays.id);

      // Dovecot away: Postfix keeps the mail in its queue (deferred).
      await p.ms.stopDaemon('dovecot');
      let held: string;
      try {
        for (const [to, subject] of [
          [gone.address, 'queued for the old mailbox'],
          [[gone.address, stays.address], 'queued for two'],
          [`gone+tag@${tenant.domain}`, 'queued with a tag'],
          [gone.address, 'queued and held'],
        ] as const) {
          const r = await mx(to as string | string[], subject);
          expect(r.ok, r.transcript.join('\n')).toBe(true);
          if (subject === 'queued and held') held = queueIdOf(r);
        }
        await waitFor(async () => (await queuedFor('gone')).filter((q) => q.queue_name === 'deferred').length === 4, 'four deferred messages', 30_000);
        await p.ms.run('/usr/sbin/postsuper', ['-c', p.ms.paths.postfixConfigDir, '-h', held!]);
        expect((await queuedFor('gone')).map((q) => q.queue_name).sort()).toEqual(['deferred', 'deferred', 'deferred', 'hold']);
      } finally {
        await p.ms.startDaemon('dovecot');
      }

      // Delete, and re-create the address as soon as the panel lets us.
      await act(M.delete, { id: gone.id });
      await waitFor(async () => (await p.ok(NODE, { id: gone.id }, tenant.token)).node === null, 'the old mailbox gone', 60_000);
      const again = await mailbox('gone');
      await settled(again.id);

      // Whatever is left anywhere in the queue is delivered now, held mail released.
      await p.ms.run('/usr/sbin/postsuper', ['-c', p.ms.paths.postfixConfigDir, '-H', 'ALL']);
      await p.ms.run('/usr/sbin/postqueue', ['-c', p.ms.paths.postfixConfigDir, '-f']);
      await inboxHas(stays.address, 'queued for two');
      await waitFor(async () => (await postqueue()).length === 0, 'an empty queue', 30_000);

      expect(await imapSubjects(imap(again.address))).toEqual([]);
      expect(await p.ms.listMaildir(again.address)).toEqual([]);
      // The senders were told (bounced, 5.1.1), the other recipient got its copy.
      for (const subject of ['queued for the old mailbox', 'queued for two', 'queued with a tag']) {
        const dsn = await bounceFor(subject);
        expect(bodyOf(dsn.data)).toMatch(/5\.1\.1/);
      }
      // The new mailbox works normally.
      const fresh = await mx(again.address, 'for the new mailbox');
      expect(fresh.ok, fresh.transcript.join('\n')).toBe(true);
      await inboxHas(again.address, 'for the new mailbox');
      expect(await imapSubjects(imap(again.address))).toEqual(['for the new mailbox']);
    });
  });

  // ---- 7 ---------------------------------------------------------------------------------------
  describe('7. maximum message size', () => {
    const UPDATE_PKG = `mutation($id:ID!,$i:HostingPackageInput!){ r: updateHostingPackage(id:$id, input:$i){ __typename ... on MutationUpdateHostingPackageSuccess { hostingPackage { maxMessageSizeMb messageSizeLimitBytes } } ${ERR} } }`;
    const SIZES = `query($id:ID!){ node(id:$id){ ... on Mailbox { quotaMb maxMessageSizeBytes } } }`;
    const SERVER = 26214400; // the stack's message_size_limit (the renderer's default) = MESSAGE_SIZE_LIMIT_BYTES' default

    it('a package limit is refused at RCPT from the SIZE= in MAIL FROM (MX and submission); the server limit at MAIL FROM and advertised in EHLO; GraphQL shows both', async () => {
      const other = await createTenant(p, {}, 'roomy');
      const big = await createMailbox(p, other.token, 'big', other.domain, PW, 0); // quota 0 = unlimited
      const small = await mailbox('small');
      await settled(small.id);

      // Validation: above the server's limit, or negative, is a field error; nothing is saved.
      for (const bad of [26, -1]) {
        const r = (await p.ok(UPDATE_PKG, { id: tenant.packageId, i: { maxMessageSizeMb: bad } }, p.adminToken)).r;
        expect(r.__typename).toBe('ValidationError');
        expect(r.fieldErrors).toEqual([{ field: 'maxMessageSizeMb', code: 'INVALID' }]);
      }
      const set = await act(UPDATE_PKG, { id: tenant.packageId, i: { maxMessageSizeMb: 1 } }, p.adminToken);
      expect(set.hostingPackage).toEqual({ maxMessageSizeMb: 1, messageSizeLimitBytes: 1048576 });
      expect((await p.ok(SIZES, { id: small.id }, tenant.token)).node.maxMessageSizeBytes).toBe(1048576);
      // "unlimited" quota does not mean unlimited message size
      expect((await p.ok(SIZES, { id: big.id }, other.token)).node).toEqual({ quotaMb: 0, maxMessageSizeBytes: SERVER });

      const body = 'x'.repeat(76) + '\r\n';
      const twoMb = body.repeat(Math.ceil(2_000_000 / body.length));
      const send = async (to: string, size: number, opts: { port?: number; auth?: { user: string; pass: string }; from?: string } = {}) => {
        const from = opts.from ?? `sender@${OUT}`;
        const once = () => smtpSend({ port: opts.port ?? p.ms.ports.smtp, from, to: [to], auth: opts.auth, mailParams: `SIZE=${size}`, data: makeMessage({ from, to, subject: `size ${size} to ${to}`, body: twoMb }) });
        const r = await once();
        // After the Dovecot restarts of items 3 and 5, an smtpd process's first AUTH finds its old
        // connection to Dovecot's auth service gone (454 4.7.0) and reconnects: a mail client retries.
        return r.stage === 'auth' && r.code === 454 ? once() : r;
      };

      const refused = await send(small.address, 2_000_000);
      expect(refused.transcript, 'EHLO advertises the server limit').toContain(`S: 250-SIZE ${SERVER}`);
      expect(refused, refused.transcript.join('\n')).toMatchObject({ ok: false, stage: 'rcpt', code: 552 });
      expect(refused.text).toMatch(/^5\.3\.4 .*limit 1 MB/);

      const fromInside = await send(small.address, 2_000_000, { port: p.ms.ports.submission, from: big.address, auth: { user: big.address, pass: PW } });
      expect(fromInside, fromInside.transcript.join('\n')).toMatchObject({ ok: false, stage: 'rcpt', code: 552 });

      const tooBigForServer = await send(big.address, SERVER + 1);
      expect(tooBigForServer, tooBigForServer.transcript.join('\n')).toMatchObject({ ok: false, stage: 'mail', code: 552 });
      expect(tooBigForServer.text).toMatch(/^5\.3\.4 /);

      const fits = await send(big.address, 2_000_000);
      expect(fits.ok, fits.transcript.join('\n')).toBe(true);
      await inboxHas(big.address, `size 2000000 to ${big.address}`);

      // Back to the server's limit (0): the same message is accepted for the small mailbox.
      const reset = await act(UPDATE_PKG, { id: tenant.packageId, i: { maxMessageSizeMb: 0 } }, p.adminToken);
      expect(reset.hostingPackage).toEqual({ maxMessageSizeMb: null, messageSizeLimitBytes: SERVER });
      const now = await send(small.address, 2_000_000);
      expect(now.ok, now.transcript.join('\n')).toBe(true);
      await inboxHas(small.address, `size 2000000 to ${small.address}`);
    });
  });
});
