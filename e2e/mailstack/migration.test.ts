// IMAP migration end to end, against real daemons only: a source Dovecot on loopback with a layout
// unlike the panel's ("." separator, "Sent Messages", "Deleted Messages"), the panel's own Dovecot
// and Postfix from startMailstack(), PostgreSQL, the API in this process and the worker as a
// separate process. Driven through GraphQL (HTTP and graphql-ws); checked with an IMAP client
// against both servers.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp, type TestApp, type Tenant } from '../../test/harness.js';
import { startMailstack, type Mailstack } from './harness.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';
import { startSourceDovecot, type SourceDovecot } from './source-dovecot.js';
import {
  CANCEL,
  NODE,
  RETRY,
  SOURCE_PASSWORD,
  SOURCE_USER,
  START,
  TEST_CONNECTION,
  counts,
  eightBit,
  imap,
  large,
  message,
  seed,
  snapshot,
  startWorkerProcess,
  type MailboxSnapshot, migrationEnv } from './migration-fixtures.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const BULK = 4000;
const MAILBOX_PASSWORD = 'target-pass-1';

/** Source folder names as the panel names them. */
const toTarget = (f: string) => ({ 'Sent Messages': 'Sent', 'Deleted Messages': 'Trash' })[f] ?? f.split('.').join('/');

describe.skipIf(!enabled)('IMAP migration into the panel’s Dovecot', () => {
  let db: TestDatabase;
  let ms: Mailstack;
  let src: SourceDovecot;
  let t: TestApp;
  let tenant: Tenant;
  let dataDir: string;
  let env: Record<string, string>;
  let expected: MailboxSnapshot;
  const workers: { stop(): Promise<void>; kill(): Promise<void>; output(): string }[] = [];
  const sourceSettings = (password = SOURCE_PASSWORD) => ({ host: '127.0.0.1', port: src.port, security: 'NONE', username: SOURCE_USER, password });

  const node = async (id: string) => (await t.ok(NODE, { id }, tenant.token)).node;
  const waitFor = async (id: string, done: (m: any) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await node(id);
      if (done(m)) return m;
      if (Date.now() > deadline)
        throw new Error(`migration did not reach the state in time: ${JSON.stringify(m)}\n--- worker\n${workers.map((w) => w.output().slice(-4000)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const ended = (m: any) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(m.status);
  const start = async (mailboxId: string, source = sourceSettings()) => {
    const r = (await t.ok(START, { m: mailboxId, s: source }, tenant.token)).r;
    expect(r.__typename, JSON.stringify(r)).toBe('MutationStartMigrationSuccess');
    return r.migration;
  };
  const sql = async (text: string, params: unknown[] = []) => (await db.client.query(text, params)).rows;

  beforeAll(async () => {
    db = await startTestDatabase();
    ms = await startMailstack({ databaseUrl: db.url });
    src = await startSourceDovecot({ users: [{ user: SOURCE_USER, password: SOURCE_PASSWORD }] });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'migration-e2e-'));
    env = migrationEnv(db, dataDir, ms.panelEnv, {
      // The fast path is off by default (docs/migration.md, "Benchmark"); this suite compares both.
      MIGRATION_FAST_PATH: 'true',
    });
    Object.assign(process.env, env);
    t = await startTestApp({ listen: true });
    workers.push(await startWorkerProcess(env));
    tenant = await createTenant(t, {}, 'migr');

    // The old mailbox: nested and special-use folders, flags and keywords, 8-bit, large and
    // Message-ID-less messages, each with its own internal date; and a bulk folder.
    const c = imap(src.port, SOURCE_USER, SOURCE_PASSWORD);
    await c.connect();
    const d = (day: number) => new Date(Date.UTC(2021, 0, day, 8, 30, 15));
    await seed(c, [
      { folder: 'INBOX', raw: message({ subject: 'welcome' }), flags: ['\\Seen'], date: d(1) },
      { folder: 'INBOX', raw: message({ subject: 'flagged', date: 'Tue, 02 Jan 2024 10:00:00 +0000' }), flags: ['\\Seen', '\\Flagged', '\\Answered', '$Forwarded', 'ProjektX'], date: d(2) },
      { folder: 'INBOX', raw: eightBit('eight bit'), flags: [], date: d(3) },
      { folder: 'INBOX', raw: large('large attachment'), flags: ['\\Seen'], date: d(4) },
      { folder: 'INBOX', raw: message({ subject: 'no id one', messageId: null }), flags: [], date: d(5) },
      { folder: 'INBOX', raw: message({ subject: 'no id two', messageId: null, date: 'Wed, 03 Jan 2024 10:00:00 +0000' }), flags: ['\\Seen'], date: d(6) },
      { folder: 'Sent Messages', raw: message({ subject: 'sent 1' }), flags: ['\\Seen'], date: d(7) },
      { folder: 'Sent Messages', raw: message({ subject: 'sent 2' }), flags: ['\\Seen'], date: d(8) },
      { folder: 'Drafts', raw: message({ subject: 'draft' }), flags: ['\\Draft'], date: d(9) },
      { folder: 'Deleted Messages', raw: message({ subject: 'trashed' }), flags: ['\\Seen', '\\Deleted'], date: d(10) },
      { folder: 'Junk', raw: message({ subject: 'spammy' }), flags: [], date: d(11) },
      { folder: 'Archive.2024', raw: message({ subject: 'archived 1' }), flags: ['\\Seen'], date: d(12) },
      { folder: 'Archive.2024', raw: message({ subject: 'archived 2' }), flags: ['\\Seen', '\\Flagged'], date: d(13) },
      { folder: 'Archive.2024.Q1', raw: message({ subject: 'deep' }), flags: ['\\Seen'], date: d(14) },
      { folder: 'Projekte.Über', raw: eightBit('umlaut folder'), flags: ['\\Seen'], date: d(15) },
    ]);
    await c.mailboxCreate('Bulk');
    await c.logout();
    // The bulk folder: appended in big batches by the source's own IMAP process (fast seeding).
    const { DovecotTarget } = await import('../../worker/src/migration/target-dovecot.js');
    const bulk = await DovecotTarget.open({ doveadm: '/usr/bin/doveadm', config: src.conf, user: SOURCE_USER });
    for (let i = 0; i < BULK; i += 500)
      await bulk.append(
        'Bulk',
        Array.from({ length: Math.min(500, BULK - i) }, (_, j) => ({ uid: i + j + 1, raw: message({ subject: `bulk ${i + j}`, messageId: `<bulk-${i + j}@legacy.test>` }), flags: (i + j) % 3 ? ['\\Seen'] : [], internalDate: d(20), size: 0 })),
      );
    await bulk.close();
    expected = await snapshot(src.port, SOURCE_USER, SOURCE_PASSWORD, toTarget);
  }, 180_000);

  afterAll(async () => {
    // Daemons first, each on its own: a failing step must not leave the others running.
    await src?.stop().catch((e) => console.error('source dovecot stop:', e));
    await ms?.stop().catch((e) => console.error('mailstack stop:', e));
    await Promise.all(workers.map((w) => w.kill().catch(() => {})));
    await db?.stop().catch((e) => console.error('database stop:', e));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('testImapConnection logs in, lists folders with counts, sizes and where each goes; errors are typed', async () => {
    const m = await createMailbox(t, tenant.token, 'preflight', tenant.domain, MAILBOX_PASSWORD, 2);
    const ok = (await t.ok(TEST_CONNECTION, { s: sourceSettings(), m: m.id }, tenant.token)).r;
    expect(ok.__typename).toBe('MutationTestImapConnectionSuccess');
    const byName = Object.fromEntries(ok.result.folders.map((f: any) => [f.name, f]));
    expect(byName['Sent Messages']).toMatchObject({ targetName: 'Sent', specialUse: '\\Sent', messages: 2 });
    expect(byName['Deleted Messages']).toMatchObject({ targetName: 'Trash', specialUse: '\\Trash' });
    expect(byName['Archive.2024.Q1']).toMatchObject({ targetName: 'Archive/2024/Q1', messages: 1 });
    expect(byName['Projekte.Über']).toMatchObject({ targetName: 'Projekte/Über' });
    expect(byName.INBOX.sizeBytes).toBeGreaterThan(3 * 1024 * 1024);
    expect(ok.result.totalMessages).toBe(15 + BULK);
    // 2 MB quota: the 3 MB message alone does not fit.
    expect(ok.result).toMatchObject({ fitsQuota: false, tls: false });

    const bad = (await t.ok(TEST_CONNECTION, { s: sourceSettings('wrong-password') }, tenant.token)).r;
    expect(bad).toMatchObject({ __typename: 'SourceAuthenticationError', code: 'AUTH_FAILED', message: expect.stringMatching(/username or password/) });
    expect(JSON.stringify(bad)).not.toContain('wrong-password');
    const tls = (await t.ok(TEST_CONNECTION, { s: { ...sourceSettings(), security: 'SSL' } }, tenant.token)).r;
    expect(tls).toMatchObject({ __typename: 'SourceTlsError', code: 'TLS_FAILED' });
    const starttls = (await t.ok(TEST_CONNECTION, { s: { ...sourceSettings(), security: 'STARTTLS' } }, tenant.token)).r;
    expect(starttls).toMatchObject({ __typename: 'SourceTlsError', code: 'TLS_FAILED', message: expect.stringMatching(/STARTTLS/) });
    const closed = (await t.ok(TEST_CONNECTION, { s: { ...sourceSettings(), port: ms.ports.relay + 1 } }, tenant.token)).r;
    expect(['SourceUnreachableError', 'SourceServerError']).toContain(closed.__typename);
  });

  let migA: string;
  let mailboxA: { id: string; address: string };

  it('copies every folder, message, flag and date; a subscriber sees monotonic progress ending in SUCCEEDED', async () => {
    mailboxA = await createMailbox(t, tenant.token, 'alice', tenant.domain, MAILBOX_PASSWORD);
    const client = createClient({ url: t.app.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tenant.token}` }, retryAttempts: 0 });
    const m = await start(mailboxA.id);
    migA = m.id;
    const events: any[] = [];
    const startedAt = Date.now();
    await new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: `subscription($id:ID!){ migrationProgress(id:$id){ status phase foldersDone messagesCopied messagesSkipped messagesTotal } }`, variables: { id: m.id } },
        { next: (v) => (v.errors ? reject(new Error(JSON.stringify(v.errors))) : events.push({ ...(v.data!.migrationProgress as object), at: Date.now() })), error: reject, complete: resolve },
      );
    });
    await client.dispose();
    const final = await node(m.id);
    expect(final, JSON.stringify(final)).toMatchObject({ status: 'SUCCEEDED', phase: 'FINISHED', error: null, messagesFailed: 0, messagesTotal: 15 + BULK, messagesCopied: 15 + BULK });
    expect(events.at(-1).status).toBe('SUCCEEDED');
    for (let i = 1; i < events.length; i++) {
      expect(events[i].messagesCopied + events[i].messagesSkipped).toBeGreaterThanOrEqual(events[i - 1].messagesCopied + events[i - 1].messagesSkipped);
      expect(events[i].foldersDone).toBeGreaterThanOrEqual(events[i - 1].foldersDone);
    }
    const seconds = Math.max(1, (Date.now() - startedAt) / 1000);
    expect(events.length).toBeLessThanOrEqual(Math.ceil(seconds * 5) + 2);
    // Dovecot's doveadm import took the empty folders whose names match; the rest went natively.
    const engines = Object.fromEntries(final.folders.map((f: any) => [f.targetName, f.engine]));
    expect(engines.Sent).toBe('IMAP_APPEND');
    expect(Object.values(engines)).toContain('DOVEADM_IMPORT');
    // The password is gone from the database.
    expect((await sql(`SELECT source_password_enc FROM migrations WHERE status = 'SUCCEEDED'`))[0].source_password_enc).toBeNull();

    const got = await snapshot(ms.ports.imap, mailboxA.address, MAILBOX_PASSWORD);
    expect(counts(got)).toEqual(counts(expected));
    expect(got).toEqual(expected);
  });

  it('a re-run copies nothing; after new mail arrives in the source it copies exactly that', async () => {
    const again = (await t.ok(RETRY, { id: migA, p: SOURCE_PASSWORD }, tenant.token)).r;
    expect(again.migration).toMatchObject({ status: 'QUEUED', runs: 2 });
    const r2 = await waitFor(migA, ended);
    expect(r2).toMatchObject({ status: 'SUCCEEDED', messagesCopied: 0, messagesFailed: 0 });

    const c = imap(src.port, SOURCE_USER, SOURCE_PASSWORD);
    await c.connect();
    await c.append('INBOX', message({ subject: 'new after cut-over' }), ['\\Seen'], new Date('2024-06-01T12:00:00Z'));
    await c.append('Archive.2024', message({ subject: 'late archive', messageId: null }), [], new Date('2024-06-02T12:00:00Z'));
    await c.logout();
    await t.ok(RETRY, { id: migA, p: SOURCE_PASSWORD }, tenant.token);
    const r3 = await waitFor(migA, ended);
    expect(r3).toMatchObject({ status: 'SUCCEEDED', messagesCopied: 2, messagesFailed: 0 });
    expected = await snapshot(src.port, SOURCE_USER, SOURCE_PASSWORD, toTarget);
    expect(await snapshot(ms.ports.imap, mailboxA.address, MAILBOX_PASSWORD)).toEqual(expected);
  });

  it('native copier only, worker killed mid-run: another worker resumes; no duplicate, no loss, same result as with doveadm import', async () => {
    await workers.pop()!.stop();
    const nativeEnv = { ...env, MIGRATION_FAST_PATH: 'false' };
    const w2 = await startWorkerProcess(nativeEnv);
    const mailboxB = await createMailbox(t, tenant.token, 'bob', tenant.domain, MAILBOX_PASSWORD);
    // Mail that reached the new server before the migration (e.g. after the MX switch): a copy of
    // one source message is already in the INBOX and must not be duplicated.
    const pre = imap(ms.ports.imap, mailboxB.address, MAILBOX_PASSWORD);
    await pre.connect();
    const c = imap(src.port, SOURCE_USER, SOURCE_PASSWORD);
    await c.connect();
    await c.mailboxOpen('INBOX', { readOnly: true });
    const first = await c.fetchOne('1', { source: true, flags: true, internalDate: true });
    await c.logout();
    await pre.append('INBOX', (first as any).source, [...(first as any).flags], (first as any).internalDate);
    await pre.logout();

    const m = await start(mailboxB.id);
    await waitFor(m.id, (x) => x.messagesCopied >= 800 || ended(x));
    await w2.kill();
    const atKill = await node(m.id);
    expect(atKill.status).toBe('RUNNING');
    await new Promise((r) => setTimeout(r, 1000));
    const still = await node(m.id);
    expect(still.messagesCopied).toBe(atKill.messagesCopied); // nobody copies while no worker runs
    workers.push(await startWorkerProcess(nativeEnv));
    const done = await waitFor(m.id, ended, 90_000);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'SUCCEEDED', messagesFailed: 0 });
    expect(done.messagesCopied + done.messagesSkipped).toBeGreaterThanOrEqual(expected.INBOX!.length + BULK);
    expect(done.folders.every((f: any) => f.engine !== 'DOVEADM_IMPORT')).toBe(true);
    const got = await snapshot(ms.ports.imap, mailboxB.address, MAILBOX_PASSWORD);
    expect(counts(got)).toEqual(counts(expected));
    expect(got).toEqual(expected);
  });

  it('wrong password: FAILED within seconds with the right message, no retries, password wiped', async () => {
    const mb = await createMailbox(t, tenant.token, 'carol', tenant.domain, MAILBOX_PASSWORD);
    const began = Date.now();
    const m = await start(mb.id, sourceSettings('not-the-password'));
    const done = await waitFor(m.id, ended, 20_000);
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(done).toMatchObject({ status: 'FAILED', error: { code: 'AUTH_FAILED', message: expect.stringMatching(/rejected the username or password/) }, messagesCopied: 0 });
    const rows = await sql(`SELECT source_password_enc, attempts FROM migrations WHERE id = (SELECT id FROM migrations WHERE mailbox_id = (SELECT id FROM mailboxes WHERE address = $1))`, [mb.address]);
    expect(rows[0]).toMatchObject({ source_password_enc: null, attempts: 1 });
  });

  it('cancel: CANCELLED, and no message is copied after that', async () => {
    const mb = await createMailbox(t, tenant.token, 'dave', tenant.domain, MAILBOX_PASSWORD);
    const m = await start(mb.id);
    await waitFor(m.id, (x) => x.messagesCopied > 0 || ended(x));
    const c = (await t.ok(CANCEL, { id: m.id }, tenant.token)).r;
    expect(c.__typename).toBe('MutationCancelMigrationSuccess');
    const done = await waitFor(m.id, ended, 20_000);
    expect(done.status).toBe('CANCELLED');
    const total = (s: MailboxSnapshot) => Object.values(s).reduce((n, v) => n + v.length, 0);
    const now = total(await snapshot(ms.ports.imap, mb.address, MAILBOX_PASSWORD));
    expect(now).toBeLessThan(total(expected));
    await new Promise((r) => setTimeout(r, 1500));
    expect(total(await snapshot(ms.ports.imap, mb.address, MAILBOX_PASSWORD))).toBe(now);
    expect((await node(m.id)).messagesCopied).toBe(done.messagesCopied);
    expect((await sql(`SELECT source_password_enc FROM migrations WHERE status = 'CANCELLED'`)).every((r: any) => r.source_password_enc === null)).toBe(true);
  });

  it('target over quota: stops FAILED with a clear state, keeps what fit', async () => {
    const mb = await createMailbox(t, tenant.token, 'erin', tenant.domain, MAILBOX_PASSWORD, 2);
    const m = await start(mb.id);
    const done = await waitFor(m.id, ended);
    expect(done).toMatchObject({ status: 'FAILED', error: { code: 'TARGET_OVER_QUOTA', message: expect.stringMatching(/quota/i) } });
    const inbox = done.folders.find((f: any) => f.targetName === 'INBOX');
    expect(inbox.status).toBe('FAILED');
    // The messages before the large one are in; the large one is not.
    const got = await snapshot(ms.ports.imap, mb.address, MAILBOX_PASSWORD);
    expect(got.INBOX!.length).toBeGreaterThan(0);
    expect(got.INBOX!.some((x) => x.size > 1024 * 1024)).toBe(false);
  });
});
