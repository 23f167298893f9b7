// Keep in sync until cut-over, end to end on real daemons: a source Dovecot on loopback (reached
// through a byte-counting proxy), the panel's Dovecot and Postfix, PostgreSQL, the API in this process
// and the worker as its own process. A sync-mode migration makes its verified first copy, stays
// SYNCING, copies only new mail on each sync (without reading the old bodies again), survives a worker
// restart (the next sync is a pg-boss job), keeps sync mode through a sync that fails on every
// attempt, and finishMigration ends it with one last sync: SUCCEEDED, verified, password erased.
// The "minutes" of the interval are shortened with MIGRATION_SYNC_MINUTE_SECONDS.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp, type TestApp, type Tenant } from '../../test/harness.js';
import { startMailstack, type Mailstack } from './harness.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';
import { startSourceDovecot, type SourceDovecot } from './source-dovecot.js';
import { SOURCE_PASSWORD, SOURCE_USER, counts, imap, message, seed, snapshot, startWorkerProcess, type MailboxSnapshot, migrationEnv } from './migration-fixtures.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const MAILBOX_PASSWORD = 'target-pass-1';
const BULK = 400;
/** Interval 5 "minutes" of 0.6 s: a sync every 3 s. */
const MINUTE_SECONDS = 0.6;
const INTERVAL = 5;

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } }`;
const FIELDS = `id status phase messagesCopied messagesFailed error { code message } verification { ok missing }
  sync { intervalMinutes count lastSyncAt lastSyncMessages lastSyncBytes nextSyncAt finishRequested }`;
const START = `mutation($m:ID!,$s:ImapSourceInput!,$y:MigrationSyncInput){ r: startMigration(mailboxId:$m, source:$s, sync:$y){ __typename ... on MutationStartMigrationSuccess { migration { ${FIELDS} } } ${ERR} } }`;
const FINISH = `mutation($id:ID!){ r: finishMigration(id:$id){ __typename ... on MutationFinishMigrationSuccess { migration { ${FIELDS} } } ${ERR} } }`;
const CANCEL = `mutation($id:ID!){ r: cancelMigration(id:$id){ __typename ... on MutationCancelMigrationSuccess { migration { id status } } ${ERR} } }`;
const NODE = `query($id:ID!){ node(id:$id){ ... on Migration { ${FIELDS} } } }`;

/** A TCP proxy that counts the bytes the source sends, and can refuse sessions (the source "down"). */
async function countingProxy(targetPort: number) {
  let fromServer = 0;
  let down = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) return void client.resetAndDestroy();
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    open.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      fromServer += d.length;
      client.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get bytes() {
      return fromServer;
    },
    setDown(v: boolean) {
      down = v;
      if (v) for (const s of open) s.resetAndDestroy();
    },
    stop: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.skipIf(!enabled)('keep-in-sync migration into the panel’s Dovecot', () => {
  let db: TestDatabase;
  let ms: Mailstack;
  let src: SourceDovecot;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let t: TestApp;
  let tenant: Tenant;
  let dataDir: string;
  let env: Record<string, string>;
  const workers: { stop(): Promise<void>; kill(): Promise<void>; output(): string }[] = [];
  const source = () => ({ host: '127.0.0.1', port: proxy.port, security: 'NONE', username: SOURCE_USER, password: SOURCE_PASSWORD });
  const sql = async (text: string, params: unknown[] = []) => (await db.client.query(text, params)).rows;
  const node = async (id: string) => (await t.ok(NODE, { id }, tenant.token)).node;
  const waitFor = async (id: string, done: (m: any) => boolean, what: string, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await node(id);
      if (done(m)) return m;
      if (Date.now() > deadline) throw new Error(`${what}: not reached in time: ${JSON.stringify(m)}\n--- worker\n${workers.map((w) => w.output().slice(-4000)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const idleAfter = (count: number) => (m: any) => m.status === 'SYNCING' && m.phase === 'IDLE' && m.sync.count >= count;
  const append = async (folder: string, subject: string) => {
    const c = imap(src.port, SOURCE_USER, SOURCE_PASSWORD);
    await c.connect();
    await c.append(folder, message({ subject, messageId: `<${subject.replace(/\W+/g, '-')}@legacy.test>` }), ['\\Seen'], new Date('2026-11-30T12:00:00Z'));
    await c.logout();
  };
  /** The source, in the target's folder names, only the folders it has. */
  const sourceNow = () => snapshot(src.port, SOURCE_USER, SOURCE_PASSWORD);
  const targetOf = async (address: string, like: MailboxSnapshot) => {
    const got = await snapshot(ms.ports.imap, address, MAILBOX_PASSWORD);
    return Object.fromEntries(Object.keys(like).map((k) => [k, got[k] ?? []]));
  };

  beforeAll(async () => {
    db = await startTestDatabase();
    ms = await startMailstack({ databaseUrl: db.url });
    src = await startSourceDovecot({ users: [{ user: SOURCE_USER, password: SOURCE_PASSWORD }] });
    proxy = await countingProxy(src.port);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'migration-sync-e2e-'));
    env = migrationEnv(db, dataDir, ms.panelEnv, {
      MIGRATION_SYNC_MINUTE_SECONDS: String(MINUTE_SECONDS),
      // One retry after half a second: a failing sync gives up quickly (and goes back to IDLE).
      MIGRATION_RETRIES: '1',
      MIGRATION_RETRY_DELAY_SECONDS: '0.5',
    });
    Object.assign(process.env, env);
    t = await startTestApp({ listen: true });
    workers.push(await startWorkerProcess(env));
    tenant = await createTenant(t, {}, 'msync');

    const c = imap(src.port, SOURCE_USER, SOURCE_PASSWORD);
    await c.connect();
    const d = (day: number) => new Date(Date.UTC(2025, 2, day, 9, 0, 0));
    const body = 'x'.repeat(4000);
    await seed(c, [
      { folder: 'INBOX', raw: message({ subject: 'first' }), flags: ['\\Seen'], date: d(1) },
      { folder: 'INBOX', raw: message({ subject: 'second', messageId: null }), flags: [], date: d(2) },
      { folder: 'Archive', raw: message({ subject: 'archived' }), flags: ['\\Seen', '\\Flagged'], date: d(3) },
      ...Array.from({ length: BULK }, (_, i) => ({ folder: 'Bulk', raw: message({ subject: `bulk ${i}`, messageId: `<sync-bulk-${i}@legacy.test>`, body }), flags: ['\\Seen'], date: d(4) })),
    ]);
    await c.logout();
  }, 180_000);

  afterAll(async () => {
    await proxy?.stop().catch(() => {});
    await src?.stop().catch((e) => console.error('source dovecot stop:', e));
    await ms?.stop().catch((e) => console.error('mailstack stop:', e));
    await Promise.all(workers.map((w) => w.kill().catch(() => {})));
    await db?.stop().catch((e) => console.error('database stop:', e));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 120_000);

  let mig: string;
  let mailbox: { id: string; address: string };
  const TOTAL = 3 + BULK;

  it('first copy, verified, then SYNCING: nothing ends, the password stays encrypted, the next sync is a pg-boss job', async () => {
    mailbox = await createMailbox(t, tenant.token, 'sync', tenant.domain, MAILBOX_PASSWORD);
    const r = (await t.ok(START, { m: mailbox.id, s: source(), y: { intervalMinutes: INTERVAL } }, tenant.token)).r;
    expect(r.__typename, JSON.stringify(r)).toBe('MutationStartMigrationSuccess');
    mig = r.migration.id;
    const m = await waitFor(mig, idleAfter(1), 'first copy');
    expect(m, JSON.stringify(m)).toMatchObject({
      status: 'SYNCING',
      phase: 'IDLE',
      messagesCopied: TOTAL,
      messagesFailed: 0,
      error: null,
      verification: { ok: true, missing: 0 },
      sync: { intervalMinutes: INTERVAL, count: 1, lastSyncMessages: TOTAL, finishRequested: false },
    });
    expect(m.sync.lastSyncBytes).toBeGreaterThan(BULK * 4000);
    expect(Date.parse(m.sync.nextSyncAt)).toBeGreaterThan(Date.parse(m.sync.lastSyncAt));
    const [row] = await sql(`SELECT source_password_enc, lease_id FROM migrations WHERE id = (SELECT id FROM migrations ORDER BY created_at DESC LIMIT 1)`);
    expect(row.source_password_enc).toBeTruthy();
    expect(row.source_password_enc).not.toContain(SOURCE_PASSWORD);
    expect(row.lease_id).toBeNull();
    const jobs = await sql(`SELECT state, start_after FROM pgboss.job WHERE name = 'migrate-mailbox' AND state IN ('created', 'retry')`);
    expect(jobs.length).toBeGreaterThanOrEqual(1);
    const expected = await sourceNow();
    expect(await targetOf(mailbox.address, expected)).toEqual(expected);
  });

  it('the next sync copies only the new mail — without reading the old bodies again — and the subscription reports it', async () => {
    const before = await node(mig);
    const events: any[] = [];
    const client = createClient({ url: t.app.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tenant.token}` }, retryAttempts: 0 });
    const unsubscribe = client.subscribe(
      { query: `subscription($id:ID!){ migrationProgress(id:$id){ status phase sync { count lastSyncMessages } } }`, variables: { id: mig } },
      { next: (v) => events.push(v.data?.migrationProgress), error: () => {}, complete: () => {} },
    );
    const bytes0 = proxy.bytes;
    await append('INBOX', 'new after start 1');
    await append('Archive', 'new after start 2');
    const m = await waitFor(mig, (x) => idleAfter(before.sync.count + 1)(x) && x.messagesCopied === TOTAL + 2, 'incremental sync');
    expect(m).toMatchObject({ status: 'SYNCING', messagesCopied: TOTAL + 2, messagesFailed: 0, error: null, sync: { lastSyncMessages: 2 } });
    expect(m.sync.lastSyncBytes).toBeGreaterThan(0);
    expect(m.sync.lastSyncBytes).toBeLessThan(10_000);
    // The Bulk folder is over 1.6 MB of bodies and about 100 KB of headers; a sync that re-read
    // either would show here. A folder without new UIDs costs one SELECT.
    const read = proxy.bytes - bytes0;
    console.info(`bytes read from the source during the sync: ${read}`);
    expect(read, `bytes read from the source during the sync: ${read}`).toBeLessThan(60_000);
    const folders = await sql(`SELECT source_name, last_uid FROM migration_folders ORDER BY source_name`);
    expect(Object.fromEntries(folders.map((f: any) => [f.source_name, Number(f.last_uid)]))).toMatchObject({ INBOX: 3, Archive: 2, Bulk: BULK });
    // A sync with nothing new copies nothing.
    const quiet = await waitFor(mig, idleAfter(m.sync.count + 1), 'quiet sync');
    expect(quiet).toMatchObject({ messagesCopied: TOTAL + 2, sync: { lastSyncMessages: 0 } });
    unsubscribe();
    await client.dispose();
    expect(events.some((e) => e?.status === 'SYNCING' && e.phase === 'IDLE' && e.sync.count >= before.sync.count + 1 && e.sync.lastSyncMessages === 2), JSON.stringify(events)).toBe(true);
    // (No assertion on a COPYING event: the subscription loads the row when it hears of a change, so a
    // sync of two messages may already be IDLE again by then.)
    const expected = await sourceNow();
    expect(await targetOf(mailbox.address, expected)).toEqual(expected);
  });

  it('survives a worker restart: the scheduled sync runs on the new worker', async () => {
    await workers.pop()!.stop();
    const before = await node(mig);
    await append('INBOX', 'while the worker was down');
    await new Promise((r) => setTimeout(r, INTERVAL * MINUTE_SECONDS * 1000 + 500));
    expect((await node(mig)).messagesCopied).toBe(before.messagesCopied); // nobody syncs without a worker
    workers.push(await startWorkerProcess(env));
    const m = await waitFor(mig, (x) => idleAfter(before.sync.count + 1)(x) && x.messagesCopied === before.messagesCopied + 1, 'sync after restart');
    expect(m).toMatchObject({ status: 'SYNCING', error: null, sync: { lastSyncMessages: 1 } });
  });

  it('a sync that fails on every attempt keeps sync mode (error shown); the next good sync clears it', async () => {
    const before = await node(mig);
    proxy.setDown(true);
    const failed = await waitFor(mig, (x) => x.status === 'SYNCING' && x.phase === 'IDLE' && x.error !== null, 'failed sync');
    expect(failed.sync.count).toBe(before.sync.count);
    expect(['CONNECTION_LOST', 'SOURCE_ERROR', 'HOST_UNREACHABLE', 'TIMEOUT', 'GREETING_TIMEOUT']).toContain(failed.error.code);
    expect((await sql(`SELECT source_password_enc FROM migrations WHERE id = (SELECT id FROM migrations ORDER BY created_at DESC LIMIT 1)`))[0].source_password_enc).toBeTruthy();
    proxy.setDown(false);
    await append('Archive', 'after the outage');
    const m = await waitFor(mig, (x) => idleAfter(before.sync.count + 1)(x) && x.error === null && x.messagesCopied === before.messagesCopied + 1, 'sync after the outage');
    expect(m.sync.lastSyncMessages).toBe(1);
  });

  it('finishMigration: one last sync, verified, SUCCEEDED; the password erased; no sync after it', async () => {
    await append('INBOX', 'just before cut-over');
    const before = await node(mig);
    const f = (await t.ok(FINISH, { id: mig }, tenant.token)).r;
    // (A sync may run right now; the last one then follows it — either way the mail above is copied.)
    expect(f.__typename, JSON.stringify(f)).toBe('MutationFinishMigrationSuccess');
    expect(f.migration.sync.finishRequested).toBe(true);
    const done = await waitFor(mig, (x) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(x.status), 'finish');
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'SUCCEEDED', phase: 'FINISHED', error: null, messagesCopied: before.messagesCopied + 1, verification: { ok: true, missing: 0 }, sync: { nextSyncAt: null } });
    // The last sync is recorded like the others.
    expect(done.sync.count).toBeGreaterThan(before.sync.count);
    expect(Date.parse(done.sync.lastSyncAt)).toBeGreaterThan(Date.parse(f.migration.sync.lastSyncAt ?? before.sync.lastSyncAt));
    const [row] = await sql(`SELECT source_password_enc, next_sync_at FROM migrations WHERE id = (SELECT id FROM migrations ORDER BY created_at DESC LIMIT 1)`);
    expect(row).toEqual({ source_password_enc: null, next_sync_at: null });
    const expected = await sourceNow();
    expect(counts(await targetOf(mailbox.address, expected))).toEqual(counts(expected));
    expect(await targetOf(mailbox.address, expected)).toEqual(expected);
    // The job that was scheduled for the next sync finds it ended and does nothing.
    await append('INBOX', 'after cut-over');
    await new Promise((r) => setTimeout(r, INTERVAL * MINUTE_SECONDS * 1000 + 2500));
    expect(await node(mig)).toMatchObject({ status: 'SUCCEEDED', messagesCopied: done.messagesCopied });
  });

  it('cancel while syncing: CANCELLED at once, the password erased, no further sync', async () => {
    const mb = await createMailbox(t, tenant.token, 'cancelled', tenant.domain, MAILBOX_PASSWORD);
    const id = (await t.ok(START, { m: mb.id, s: source(), y: { intervalMinutes: INTERVAL } }, tenant.token)).r.migration.id;
    const idle = await waitFor(id, idleAfter(1), 'first copy (cancel)');
    const c = (await t.ok(CANCEL, { id }, tenant.token)).r;
    expect(c.migration.status).toBe('CANCELLED');
    const [row] = await sql(`SELECT source_password_enc FROM migrations WHERE id = (SELECT id FROM migrations ORDER BY created_at DESC LIMIT 1)`);
    expect(row.source_password_enc).toBeNull();
    await append('Archive', 'after cancel');
    await new Promise((r) => setTimeout(r, INTERVAL * MINUTE_SECONDS * 1000 + 2500));
    expect(await node(id)).toMatchObject({ status: 'CANCELLED', messagesCopied: idle.messagesCopied, sync: { count: idle.sync.count } });
  });
});
