// Quota warnings on the real Postfix + Dovecot: when a measurement finds a mailbox past 80 % (then
// 95 %) of its quota, the worker hands one warning mail to the local Postfix, which delivers it into
// that very mailbox; a second measurement at the same level sends nothing; dropping under the
// threshold (a bigger quota) resets it, and the next crossing warns again. The API and the panel
// show the level (MailboxQuota.warningPercent).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, waitFor, type Tenant } from '../../test/harness.js';
import { makeMessage, smtpSend } from './clients.js';
import { bodyOf } from './capture-sink.js';
import { imapSubjects, withImap } from './imap.js';
import { startPanelOnMailstack, type PanelOnMailstack } from './panel.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const PW = 'Quota-warn-pass-4';
const ERR = `... on Error { __typename message }`;
const RECALC = `mutation($id:ID!){ r: recalculateQuota(mailboxId:$id){ __typename ${ERR} } }`;
const QUOTA = `mutation($id:ID!,$q:Int!){ r: updateMailbox(id:$id, quotaMb:$q){ __typename ${ERR} } }`;
const LEVEL = `query($id:ID!){ node(id:$id){ ... on Mailbox { quota { messages warningPercent updatedAt } } } }`;

describe.skipIf(!enabled)('quota warnings through the real Postfix', () => {
  let p: PanelOnMailstack;
  let tenant: Tenant;

  beforeAll(async () => {
    p = await startPanelOnMailstack({ env: (ms) => ({ QUOTA_WARNING_SMTP: `127.0.0.1:${ms.ports.smtp}` }) });
    tenant = await createTenant(p, { maxDomains: 2 }, 'quotawarn');
  });
  afterAll(async () => {
    await p?.stop();
  });

  const imap = (user: string) => ({ port: p.ms.ports.imap, user, pass: PW });
  const deliver = (to: string, subject: string, kib: number) =>
    smtpSend({ port: p.ms.ports.smtp, from: 'sender@outside.test', to: [to], data: makeMessage({ from: 'sender@outside.test', to, subject, body: `${'z'.repeat(1022)}\r\n`.repeat(kib) }) });
  const level = async (id: string) => (await p.ok(LEVEL, { id }, tenant.token)).node.quota;
  /** A fresh measurement (a newer updatedAt) that has seen at least `messages` messages and left the
   *  warning level at `warned` (the level is written just after the usage). */
  const measure = async (id: string, messages: number, warned: number | null) => {
    const before = (await level(id)).updatedAt ?? '';
    const r = (await p.ok(RECALC, { id }, tenant.token)).r;
    expect(r.__typename).toBe('MutationRecalculateQuotaSuccess');
    return waitFor(async () => {
      const q = await level(id);
      return (q.updatedAt ?? '') > before && q.messages >= messages && q.warningPercent === warned && q;
    }, `a measurement with ${messages} messages and warning level ${warned}`, 20_000);
  };
  const warnings = async (user: string) => (await imapSubjects(imap(user))).filter((s) => /is \d+ % full/.test(s));

  it('one mail per crossing, delivered into the mailbox; none again at the same level; a drop resets', async () => {
    const box = await createMailbox(p, tenant.token, 'full', tenant.domain, PW, 1);
    const addr = box.address;
    await waitFor(async () => (await p.ok(`query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning } } }`, { id: box.id }, tenant.token)).node.provisioning === 'READY', 'mailbox ready', 20_000);

    // ~850 KiB of a 1 MiB quota: past 80 %, under 95 %.
    expect((await deliver(addr, 'big one', 850)).ok).toBe(true);
    await waitFor(async () => (await imapSubjects(imap(addr))).includes('big one'), 'the big message', 20_000);
    await measure(box.id, 1, 80);
    await waitFor(async () => (await warnings(addr)).length === 1, 'the 80 % warning in the inbox', 20_000);
    expect((await warnings(addr))[0]).toMatch(new RegExp(`^Your mailbox ${addr.replace(/\./g, '\\.')} is (8\\d|9[0-4]) % full$`));

    // Measured again at the same level (the warning itself added a little): no second mail.
    await measure(box.id, 2, 80);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await warnings(addr)).toHaveLength(1);

    // A bigger quota: under every threshold, nothing sent, the level reset.
    expect((await p.ok(QUOTA, { id: box.id, q: 10 }, tenant.token)).r.__typename).toBe('MutationUpdateMailboxSuccess');
    await measure(box.id, 2, null);
    // Back to 1 MB: the crossing warns again.
    expect((await p.ok(QUOTA, { id: box.id, q: 1 }, tenant.token)).r.__typename).toBe('MutationUpdateMailboxSuccess');
    await measure(box.id, 2, 80);
    await waitFor(async () => (await warnings(addr)).length === 2, 'a second warning after the reset', 20_000);
  });

  // Mailbox language (issue 16): a German mailbox gets the German warning, subject and body.
  it('in the mailbox\'s language: a German mailbox gets the German text', async () => {
    const created = (await p.ok(
      `mutation($d:String!,$p:String!){ r: createMailbox(username:"voll", domain:$d, password:$p, quotaMb:1, language:"de"){ __typename ... on MutationCreateMailboxSuccess { mailbox { id address language } } ${ERR} } }`,
      { d: tenant.domain, p: PW },
      tenant.token,
    )).r;
    expect(created.mailbox.language).toBe('de');
    const box = created.mailbox as { id: string; address: string };
    await waitFor(async () => (await p.ok(`query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning } } }`, { id: box.id }, tenant.token)).node.provisioning === 'READY', 'mailbox ready', 20_000);
    expect((await deliver(box.address, 'groß', 850)).ok).toBe(true);
    await waitFor(async () => (await imapSubjects(imap(box.address))).includes('groß'), 'the big message', 20_000);
    await measure(box.id, 1, 80);
    const german = await waitFor(async () => {
      const subjects = (await imapSubjects(imap(box.address))).filter((s) => s.startsWith('Ihr Postfach'));
      return subjects.length === 1 && subjects;
    }, 'the German warning in the inbox', 20_000);
    expect(german[0]).toMatch(new RegExp(`^Ihr Postfach ${box.address.replace(/\./g, '\\.')} ist zu (8\\d|9[0-4]) % voll$`));
    expect(await warnings(box.address)).toEqual([]); // no English one
    const body = await withImap(imap(box.address), async (c) => {
      await c.mailboxOpen('INBOX');
      for await (const msg of c.fetch('1:*', { envelope: true, source: true })) if (msg.envelope?.subject?.startsWith('Ihr Postfach')) return msg.source!.toString();
      return null;
    });
    const text = bodyOf(body!);
    expect(text).toMatch(/^Ihr Postfach \S+ belegt [\d,]+ MB von 1 MB \((8\d|9[0-4]) %\)\./);
    expect(text).toContain('Sie erhalten diese Nachricht einmal, wenn das Postfach 80 % seines Speicherplatzes überschreitet.');
  });
});
