// The quarantine through GraphQL with the real worker, without a mail stack: a message appears in the
// mailbox's hidden quarantine folder as Dovecot's Sieve script would file it, the worker moves it to
// the quarantine store and lists it; release puts it into the INBOX, delete removes it. (The mail-stack
// suite proves that rspamd + Dovecot put spam there.)
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp, waitFor } from '../../test/harness.js';

process.env.QUARANTINE_SCAN_SECONDS = '0.3';

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } } ... on NotFoundError { entity }`;
const ITEM = `id recipient sender subject score receivedAt sizeBytes status releasedAt deletedAt mailbox { address } domain { name }`;
const M = {
  spam: `mutation($d:ID!,$i:SpamSettingsInput!){ r: updateSpamSettings(domainId:$d, input:$i){ __typename ${ERR} } }`,
  release: `mutation($id:ID!){ r: releaseQuarantined(id:$id){ __typename ... on MutationReleaseQuarantinedSuccess { item { ${ITEM} } } ${ERR} } }`,
  del: `mutation($id:ID!){ r: deleteQuarantined(id:$id){ __typename ... on MutationDeleteQuarantinedSuccess { item { ${ITEM} } } ${ERR} } }`,
};
const domainQuarantine = `query($id:ID!,$f:QuarantineFilter){ node(id:$id){ ... on Domain { quarantine(first:20, filter:$f){ totalCount edges { node { ${ITEM} } } } } } }`;
const mailboxQuarantine = `query($id:ID!){ node(id:$id){ ... on Mailbox { quarantine(first:20){ totalCount edges { node { id subject } } } } } }`;

describe('quarantine', async () => {
  const t = await startTestApp({ worker: true });
  const A = await createTenant(t);
  const B = await createTenant(t);
  const m1 = await createMailbox(t, A.token, 'one', A.domain);
  const m2 = await createMailbox(t, A.token, 'two', A.domain);
  const owner1 = await t.login(m1.address, 'mailbox-pass-1');
  const home = (address: string) => path.join(process.env.MAIL_ROOT!, address.split('@')[1]!, address.split('@')[0]!);
  let n = 0;
  /** What Dovecot does for `fileinto "Quarantine/held"`: a Maildir file in the hidden namespace. */
  const fileIntoQuarantine = (address: string, subject: string, score: number) => {
    const dir = path.join(home(address), 'quarantine', '.held', 'new');
    mkdirSync(dir, { recursive: true });
    const name = `${1764200000 + ++n}.M${n}P1.mx,S=300`;
    writeFileSync(
      path.join(dir, name),
      `Return-Path: <bounce@spam.test>\r\nX-Spamd-Result: default: False [${score.toFixed(2)} / 6.00];\r\n\tMISSING_MID(2.50)[];\r\nX-Panel-Spam: quarantine\r\nFrom: "Spammer" <Sales@Spam.TEST>\r\nSubject: ${subject}\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\nBuy now ${n}.\r\n`,
    );
    return name;
  };
  const listed = async (id: string, token = A.token, f?: object) => (await t.ok(domainQuarantine, { id, f }, token)).node.quarantine;

  await waitFor(async () => existsSync(path.join(home(m2.address), 'Maildir', 'new')), 'maildirs');
  expect((await t.ok(M.spam, { d: A.domainId, i: { action: 'QUARANTINE' } }, A.token)).r.__typename).toBe('MutationUpdateSpamSettingsSuccess');

  it('the worker moves what Dovecot filed out of the mailbox and lists it per domain and per mailbox', async () => {
    const file = fileIntoQuarantine(m1.address, '=?utf-8?B?RlJFRSBNT05FWSEhIQ==?=', 11.18);
    fileIntoQuarantine(m2.address, 'Cheap pills', 8.5);
    const q = await waitFor(async () => {
      const l = await listed(A.domainId);
      return l.totalCount === 2 && l;
    }, 'two items listed');
    const first = q.edges.find((e: any) => e.node.recipient === m1.address).node;
    expect(first).toMatchObject({ sender: 'sales@spam.test', subject: 'FREE MONEY!!!', score: 11.18, status: 'HELD', mailbox: { address: m1.address }, domain: { name: A.domain } });
    expect(first.sizeBytes).toBeGreaterThan(100);
    // Gone from the Dovecot folder, kept in the store outside every IMAP namespace.
    expect(existsSync(path.join(home(m1.address), 'quarantine', '.held', 'new', file))).toBe(false);
    expect(readdirSync(path.join(home(m1.address), 'panel-quarantine'))).toEqual([`${file}.eml`]);
    // The mailbox owner sees only its own, through the domain and through the mailbox.
    expect((await listed(A.domainId, owner1)).edges.map((e: any) => e.node.recipient)).toEqual([m1.address]);
    expect((await t.ok(mailboxQuarantine, { id: m1.id }, owner1)).node.quarantine.totalCount).toBe(1);
    expect((await t.ok(mailboxQuarantine, { id: m2.id }, owner1)).node).toBeNull();
    // Search by sender or subject.
    expect((await listed(A.domainId, A.token, { search: 'pills' })).totalCount).toBe(1);
    expect((await listed(A.domainId, A.token, { search: 'nothing-like-this' })).totalCount).toBe(0);
  });

  it('releaseQuarantined delivers into INBOX (once) and deleteQuarantined removes the message', async () => {
    const items = (await listed(A.domainId)).edges.map((e: any) => e.node);
    const mine = items.find((i: any) => i.recipient === m1.address);
    const other = items.find((i: any) => i.recipient === m2.address);

    expect((await t.ok(M.release, { id: mine.id }, B.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'QuarantineItem' });
    expect((await t.ok(M.release, { id: other.id }, owner1)).r).toMatchObject({ __typename: 'NotFoundError' });

    const r = (await t.ok(M.release, { id: mine.id }, owner1)).r;
    expect(r.item.status).toBe('RELEASING');
    const inbox = path.join(home(m1.address), 'Maildir', 'new');
    const delivered = await waitFor(async () => {
      const f = readdirSync(inbox);
      return f.length === 1 && f;
    }, 'released into INBOX');
    expect(readFileSync(path.join(inbox, delivered[0]!), 'utf8')).toContain('Subject: =?utf-8?B?RlJFRSBNT05FWSEhIQ==?=');
    await waitFor(async () => (await listed(A.domainId, A.token, { status: 'RELEASED' })).totalCount === 1, 'RELEASED');
    expect(readdirSync(path.join(home(m1.address), 'panel-quarantine'))).toEqual([]);
    expect((await t.ok(M.release, { id: mine.id }, owner1)).r).toMatchObject({ fieldErrors: [{ field: 'id', code: 'NOT_HELD' }] });

    const d = (await t.ok(M.del, { id: other.id }, A.token)).r;
    expect(d.item).toMatchObject({ status: 'DELETED' });
    await waitFor(async () => readdirSync(path.join(home(m2.address), 'panel-quarantine')).length === 0, 'stored file removed');
    expect(readdirSync(path.join(home(m2.address), 'Maildir', 'new'))).toEqual([]);
    expect((await listed(A.domainId)).totalCount).toBe(0);
    const audit = await t.ok(`{ auditEvents(filter:{action:"quarantine.release"}){ edges { node { actorType targetLabel details } } } }`, {}, A.token);
    expect(audit.auditEvents.edges[0].node).toEqual({ actorType: 'MAILBOX', targetLabel: `sales@spam.test → ${m1.address}`, details: { subject: 'FREE MONEY!!!' } });
  });

  it('a retried release job delivers only once', async () => {
    fileIntoQuarantine(m2.address, 'Twice', 7);
    const item = await waitFor(async () => (await listed(A.domainId)).edges[0]?.node, 'listed');
    const { quarantineRelease } = await import('../../worker/src/handlers/quarantine.js');
    const { decodeGlobalID } = await import('@pothos/plugin-relay');
    const { db } = await import('../../core/src/db.js');
    const id = decodeGlobalID(item.id).id;
    await db().quarantineItem.update({ where: { id }, data: { status: 'RELEASING' } });
    // A copy of the stored file stays so that a second run would have something to deliver again.
    const stored = (await db().quarantineItem.findUniqueOrThrow({ where: { id } })).storagePath;
    const content = readFileSync(stored);
    await quarantineRelease({ itemId: id });
    writeFileSync(stored, content);
    await db().quarantineItem.update({ where: { id }, data: { status: 'RELEASING' } });
    await quarantineRelease({ itemId: id });
    expect(readdirSync(path.join(home(m2.address), 'Maildir', 'new'))).toHaveLength(1);
  });
});
