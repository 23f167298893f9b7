// "Migration you can trust" (issue 13), against real daemons only: source Dovecots on loopback (one
// "."-separated, one "/"-separated), a TCP proxy that cuts source sessions, the panel's Dovecot from
// startMailstack(), PostgreSQL, the API in this process and the worker as its own process (SIGKILLed
// in one test). Every migration here is checked the same way: exact per-folder counts and sets of
// message keys in the target equal the source's, the run ends SUCCEEDED with a clean verification,
// and no file under the worker's temp folder or the panel's folders ever holds the source password.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp, type TestApp, type Tenant } from '../../test/harness.js';
import { startDroppingProxy, type DroppingProxy } from './dropping-proxy.js';
import { startMailstack, type Mailstack } from './harness.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';
import { startSourceDovecot, type SourceDovecot } from './source-dovecot.js';
import { NODE, SOURCE_PASSWORD, SOURCE_USER, START, TEST_CONNECTION, counts, imap, message, seed, snapshot, startWorkerProcess, type MailboxSnapshot, migrationEnv } from './migration-fixtures.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const MAILBOX_PASSWORD = 'target-pass-1';
const BULK = 3000;
const SLASH_USER = 'slash@legacy.test';

/** The "."-separated source's folders as the panel names them: the tree as it was (flagged role folders go to the panel's). */
const toTarget = (f: string) => ({ 'Sent Messages': 'Sent', 'Deleted Messages': 'Trash' })[f] ?? f.split('.').join('/');

const TRUST_FIELDS = `id status phase error { code message } messagesCopied messagesSkipped messagesTotal
  attempt { attempt maxAttempts nextRetryAt } verification { ok missing extra repaired checkedAt }
  folders { sourceName targetName engine status messagesCopied verification { sourceMessages targetMessages missing extra } }`;
const TRUST_NODE = `query($id:ID!){ node(id:$id){ ... on Migration { ${TRUST_FIELDS} } } }`;
const START_WITH = `mutation($m:ID!,$s:ImapSourceInput!,$f:[MigrationFolderOverride!]){ r: startMigration(mailboxId:$m, source:$s, folders:$f){ __typename
  ... on MutationStartMigrationSuccess { migration { id } } ... on Error { message } ... on ValidationError { fieldErrors { field code } } } }`;

/** Every file below `dir` whose bytes contain `secret` (Maildirs, configs, temp files). */
async function filesHolding(dir: string, secret: string): Promise<string[]> {
  const hits: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const st = await stat(p).catch(() => null);
        if (st && st.size < 50 * 1024 * 1024 && (await readFile(p).catch(() => Buffer.alloc(0))).includes(secret)) hits.push(p);
      }
    }
  };
  await walk(dir);
  return hits;
}

describe.skipIf(!enabled)('IMAP migration you can trust', () => {
  let db: TestDatabase;
  let ms: Mailstack;
  let src: SourceDovecot;
  let slashSrc: SourceDovecot;
  let t: TestApp;
  let tenant: Tenant;
  let dataDir: string;
  let workerTmp: string;
  let env: Record<string, string>;
  let expected: MailboxSnapshot;
  let worker: Awaited<ReturnType<typeof startWorkerProcess>> | null = null;
  const proxies: DroppingProxy[] = [];
  // Watches the temp folder for the password for the whole file, every 50 ms.
  const leaks = new Set<string>();
  let watching = true;

  const settings = (port: number, username = SOURCE_USER) => ({ host: '127.0.0.1', port, security: 'NONE', username, password: SOURCE_PASSWORD });
  const node = async (id: string) => (await t.ok(TRUST_NODE, { id }, tenant.token)).node;
  const ended = (m: any) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(m.status);
  const waitFor = async (id: string, done: (m: any) => boolean, timeoutMs = 120_000, onPoll?: (m: any) => void) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await node(id);
      onPoll?.(m);
      if (done(m)) return m;
      if (Date.now() > deadline) throw new Error(`migration did not reach the state in time: ${JSON.stringify(m)}\n--- worker\n${worker?.output().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const start = async (mailboxId: string, source: object, folders?: object[]) => {
    const r = (await t.ok(START_WITH, { m: mailboxId, s: source, f: folders ?? null }, tenant.token)).r;
    expect(r.__typename, JSON.stringify(r)).toBe('MutationStartMigrationSuccess');
    return r.migration.id as string;
  };
  const restartWorker = async (extra: Record<string, string> = {}) => {
    await worker?.stop();
    worker = await startWorkerProcess({ ...env, ...extra });
  };
  /** The target mailbox equals the source: every folder, every message key (and bytes, flags, dates). */
  const expectSameAsSource = async (address: string, want = expected) => {
    const got = await snapshot(ms.ports.imap, address, MAILBOX_PASSWORD);
    expect(counts(got)).toEqual(counts(want));
    expect(got).toEqual(want);
  };
  const expectVerified = (m: any) => {
    expect(m, JSON.stringify(m)).toMatchObject({ status: 'SUCCEEDED', phase: 'FINISHED', error: null, verification: { ok: true, missing: 0, extra: 0 } });
    for (const f of m.folders) expect(f.verification, f.targetName).toMatchObject({ missing: 0, extra: 0 });
  };

  beforeAll(async () => {
    db = await startTestDatabase();
    ms = await startMailstack({ databaseUrl: db.url });
    src = await startSourceDovecot({ users: [{ user: SOURCE_USER, password: SOURCE_PASSWORD }] });
    slashSrc = await startSourceDovecot({ separator: '/', dotsInNames: true, users: [{ user: SLASH_USER, password: SOURCE_PASSWORD }] });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'migration-trust-'));
    workerTmp = path.join(dataDir, 'tmp');
    await mkdir(workerTmp, { mode: 0o777 });
    env = migrationEnv(db, dataDir, ms.panelEnv, {
      TMPDIR: workerTmp,
      MIGRATION_FAST_PATH: 'true',
      MIGRATION_RETRIES: '2',
      MIGRATION_RETRY_DELAY_SECONDS: '1',
    });
    Object.assign(process.env, { ...env, TMPDIR: process.env.TMPDIR ?? '' });
    if (!process.env.TMPDIR) delete process.env.TMPDIR;
    t = await startTestApp({ listen: true });
    tenant = await createTenant(t, {}, 'trust');

    // The "."-separated source: nested folders, a plain "Entwürfe" beside the flagged Drafts, an
    // "Archiv" without a flag, Message-ID-less messages (two of them alike but for the body), a bulk folder.
    const c = imap(src.port, SOURCE_USER, SOURCE_PASSWORD);
    await c.connect();
    const d = (day: number) => new Date(Date.UTC(2022, 0, day, 9, 0, 0));
    const items = [];
    for (let i = 0; i < 40; i++) items.push({ folder: 'INBOX', raw: message({ subject: `inbox ${i}`, messageId: i % 4 ? undefined : null }), flags: i % 2 ? ['\\Seen'] : [], date: d(1 + (i % 20)) });
    items.push({ folder: 'INBOX', raw: message({ subject: 'twin', messageId: null, body: 'first twin\r\n' }), flags: [], date: d(25) });
    items.push({ folder: 'INBOX', raw: message({ subject: 'twin', messageId: null, body: 'other twin\r\n' }), flags: [], date: d(25) });
    for (const [folder, n] of [['Drafts', 3], ['Entwürfe', 4], ['Archiv', 5], ['Archiv.2024', 30], ['Archiv.2024.Q1', 12], ['Ünïcødé Ordner', 6]] as const)
      for (let i = 0; i < n; i++) items.push({ folder, raw: message({ subject: `${folder} ${i}`, messageId: i % 3 ? undefined : null }), flags: ['\\Seen'], date: d(i + 1) });
    await seed(c, items);
    await c.mailboxCreate('Bulk');
    await c.logout();
    const { DovecotTarget } = await import('../../worker/src/migration/target-dovecot.js');
    const bulk = await DovecotTarget.open({ doveadm: '/usr/bin/doveadm', config: src.conf, user: SOURCE_USER });
    for (let i = 0; i < BULK; i += 500)
      await bulk.append(
        'Bulk',
        Array.from({ length: Math.min(500, BULK - i) }, (_, j) => ({
          uid: i + j + 1,
          raw: message({ subject: `bulk ${i + j}`, messageId: (i + j) % 10 ? `<bulk-${i + j}@legacy.test>` : null, body: `Bulk body ${i + j} ${'x'.repeat(2000)}\r\n` }),
          flags: (i + j) % 3 ? ['\\Seen'] : [],
          internalDate: d(20),
          size: 0,
        })),
      );
    await bulk.close();
    expected = await snapshot(src.port, SOURCE_USER, SOURCE_PASSWORD, toTarget);

    // An old version's leftover: the password in a temp file. The worker removes it when it starts.
    await mkdir(path.join(workerTmp, 'mailpanel-import-old'), { recursive: true });
    await writeFile(path.join(workerTmp, 'mailpanel-import-old', 'pw'), SOURCE_PASSWORD);
    worker = await startWorkerProcess(env);
    void (async () => {
      while (watching) {
        for (const f of await filesHolding(workerTmp, SOURCE_PASSWORD)) leaks.add(f);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }, 240_000);

  afterAll(async () => {
    watching = false;
    for (const p of proxies) await p.stop().catch(() => {});
    await src?.stop().catch((e) => console.error('source dovecot stop:', e));
    await slashSrc?.stop().catch((e) => console.error('source dovecot stop:', e));
    await ms?.stop().catch((e) => console.error('mailstack stop:', e));
    await worker?.kill().catch(() => {});
    await db?.stop().catch((e) => console.error('database stop:', e));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('worker start removes an older version’s password file; no file ever holds the password', async () => {
    expect(await readdir(workerTmp)).not.toContain('mailpanel-import-old');
    leaks.clear();
  });

  it('fast path: nested "."-separated folders go through doveadm import, counters move at least every 2 s, the tree stays as it was, verified', async () => {
    const mb = await createMailbox(t, tenant.token, 'fast', tenant.domain, MAILBOX_PASSWORD);
    const id = await start(mb.id, settings(src.port));
    const seen: { at: number; copied: number; phase: string }[] = [];
    const m = await waitFor(id, ended, 180_000, (x) => seen.push({ at: Date.now(), copied: x.messagesCopied, phase: x.phase }));
    expectVerified(m);
    const engine = Object.fromEntries(m.folders.map((f: any) => [f.targetName, f.engine]));
    // Item 7: nested folders of a "."-separated source no longer fall back.
    expect(engine).toMatchObject({ Archiv: 'DOVEADM_IMPORT', 'Archiv/2024': 'DOVEADM_IMPORT', 'Archiv/2024/Q1': 'DOVEADM_IMPORT', Bulk: 'DOVEADM_IMPORT' });
    // Item 5: names as they were; "Entwürfe" is not merged into the flagged Drafts, "Archiv" is not renamed.
    expect(m.folders.map((f: any) => [f.sourceName, f.targetName]).sort()).toEqual(
      ['INBOX', 'Drafts', 'Entwürfe', 'Archiv', 'Archiv.2024', 'Archiv.2024.Q1', 'Ünïcødé Ordner', 'Bulk', 'Sent Messages', 'Deleted Messages', 'Junk']
        .map((s) => [s, toTarget(s)])
        .sort(),
    );
    // Item 8: while copying, the counter moved at least every 2 s.
    const copying = seen.filter((s) => s.phase === 'COPYING');
    const changes = copying.filter((s, i) => i === 0 || s.copied !== copying[i - 1]!.copied).map((s) => s.at);
    for (let i = 1; i < changes.length; i++) expect(changes[i]! - changes[i - 1]!, `counter stalled: ${JSON.stringify(changes)}`).toBeLessThanOrEqual(2500);
    expect(changes.length).toBeGreaterThan(3);
    await expectSameAsSource(mb.address);
    expect([...leaks]).toEqual([]);
  }, 300_000);

  it('a source that drops every session (after N commands, and mid-FETCH): reconnects and resumes; each message exactly once, verified', async () => {
    const proxy = await startDroppingProxy({ targetPort: src.port, cutAfterCommands: 25, cutAfterServerBytes: 3_000_000 });
    proxies.push(proxy);
    for (const fastPath of ['false', 'true']) {
      await restartWorker({ MIGRATION_FAST_PATH: fastPath });
      const mb = await createMailbox(t, tenant.token, `drop${fastPath}`, tenant.domain, MAILBOX_PASSWORD);
      const cutsBefore = proxy.cuts;
      const m = await waitFor(await start(mb.id, settings(proxy.port)), ended, 240_000);
      expectVerified(m);
      expect(proxy.cuts - cutsBefore, 'the proxy really cut sessions').toBeGreaterThan(3);
      await expectSameAsSource(mb.address);
    }
    expect([...leaks]).toEqual([]);
  }, 600_000);

  it('doveadm import that stops part way (half a chunk committed, then an error): the native copier goes on without a duplicate', async () => {
    // The real doveadm, made to stop part way: an import of more than 10 UIDs imports the first half,
    // then exits with an error — as an import cut off by the source does.
    const wrapper = path.join(dataDir, 'doveadm-stops-part-way');
    await writeFile(
      wrapper,
      [
        '#!/bin/sh',
        'for last; do :; done',
        'case "$*" in *" import "*) ;; *) exec /usr/bin/doveadm "$@" ;; esac',
        'a=${last%:*}; b=${last#*:}',
        '[ $((b - a)) -le 10 ] && exec /usr/bin/doveadm "$@"',
        'n=$#; i=0; for x; do i=$((i + 1)); [ $i -lt $n ] && set -- "$@" "$x"; done; shift $n',
        '/usr/bin/doveadm "$@" "$a:$(( (a + b) / 2 ))"',
        'exit 75',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    await restartWorker({ MIGRATION_FAST_PATH: 'true', DOVEADM_PATH: wrapper });
    const mb = await createMailbox(t, tenant.token, 'partial', tenant.domain, MAILBOX_PASSWORD);
    const m = await waitFor(await start(mb.id, settings(src.port)), ended, 180_000);
    expectVerified(m);
    const engine = Object.fromEntries(m.folders.map((f: any) => [f.targetName, f.engine]));
    // The big folders fell back after their partial import; the small ones stayed on the fast path.
    expect(engine).toMatchObject({ Bulk: 'IMAP_APPEND', 'Archiv/2024': 'IMAP_APPEND', 'Archiv/2024/Q1': 'IMAP_APPEND', Archiv: 'DOVEADM_IMPORT' });
    expect(m.messagesCopied + m.messagesSkipped).toBe(Object.values(expected).reduce((n, v) => n + v.length, 0));
    await expectSameAsSource(mb.address);
    expect([...leaks]).toEqual([]);
  }, 300_000);

  it('worker SIGKILLed in the middle of a doveadm import: its import dies with it, another worker resumes; exactly once, verified', async () => {
    await restartWorker({ MIGRATION_FAST_PATH: 'true' });
    const mb = await createMailbox(t, tenant.token, 'killed', tenant.domain, MAILBOX_PASSWORD);
    const id = await start(mb.id, settings(src.port));
    const bulkMid = (x: any) => {
      const b = x.folders.find((f: any) => f.targetName === 'Bulk');
      return ended(x) || (b && b.status === 'COPYING' && b.messagesCopied >= 300 && b.messagesCopied < BULK - 300);
    };
    const at = await waitFor(id, bulkMid, 120_000);
    expect(at.status).toBe('RUNNING');
    await worker!.kill();
    // The import the dead worker started stops too (its wrapper sees the worker's pipe close).
    const importsFor = async () => {
      const out: string[] = [];
      for (const d of await readdir('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        const cmd = await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '');
        if (cmd.includes('import') && cmd.includes(mb.address)) out.push(d);
      }
      return out;
    };
    const deadline = Date.now() + 5000;
    while ((await importsFor()).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await importsFor()).toEqual([]);
    worker = await startWorkerProcess({ ...env, MIGRATION_FAST_PATH: 'true' });
    const m = await waitFor(id, ended, 180_000);
    expectVerified(m);
    expect(m.attempt.attempt).toBeGreaterThanOrEqual(2);
    await expectSameAsSource(mb.address);
    expect([...leaks]).toEqual([]);
  }, 300_000);

  it('truthful errors: a server that never greets is GREETING_TIMEOUT; a closed port retries on the documented schedule showing attempt n of m, next retry and last error, then FAILED', async () => {
    const silent = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      for (const security of ['NONE', 'SSL']) {
        const r = (await t.ok(TEST_CONNECTION, { s: { ...settings((silent.address() as net.AddressInfo).port), security } }, tenant.token)).r;
        expect(r, JSON.stringify(r)).toMatchObject({ __typename: 'SourceTimeoutError', code: 'GREETING_TIMEOUT', message: expect.stringMatching(/never greeted/) });
      }
    } finally {
      silent.close();
    }

    await restartWorker();
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const mb = await createMailbox(t, tenant.token, 'closedport', tenant.domain, MAILBOX_PASSWORD);
    const began = Date.now();
    const id = await start(mb.id, settings(port));
    const waits: any[] = [];
    const m = await waitFor(id, ended, 60_000, (x) => x.phase === 'WAITING' && x.attempt && waits.push({ ...x, seenAt: Date.now() }));
    const elapsed = Date.now() - began;
    // MIGRATION_RETRIES=2, MIGRATION_RETRY_DELAY_SECONDS=1: attempts 1, 2, 3 with pauses of 1 s and 2 s.
    expect(m, JSON.stringify(m)).toMatchObject({ status: 'FAILED', error: { code: 'HOST_UNREACHABLE', message: expect.stringMatching(/refused the connection/) }, attempt: { attempt: 3, maxAttempts: 3, nextRetryAt: null } });
    expect(elapsed).toBeGreaterThanOrEqual(3000);
    expect(elapsed).toBeLessThan(15_000);
    const first = waits.find((w) => w.attempt.attempt === 1);
    const second = waits.find((w) => w.attempt.attempt === 2);
    expect(first, JSON.stringify(waits)).toMatchObject({ status: 'RUNNING', error: { code: 'HOST_UNREACHABLE' }, attempt: { maxAttempts: 3 } });
    expect(second).toMatchObject({ status: 'RUNNING', error: { code: 'HOST_UNREACHABLE' }, attempt: { maxAttempts: 3 } });
    const pause = (w: any) => new Date(w.attempt.nextRetryAt).getTime() - w.seenAt;
    expect(pause(first)).toBeLessThanOrEqual(1100);
    expect(pause(second)).toBeGreaterThan(1000);
    expect(pause(second)).toBeLessThanOrEqual(2100);
  });

  it('the folder tree as it was on a "/"-separated source: "." and spaces inside names, Unicode; the plan is shown first and can be overridden', async () => {
    const c = imap(slashSrc.port, SLASH_USER, SOURCE_PASSWORD);
    await c.connect();
    await seed(c, [
      { folder: 'Kunden/Projekt v1.2', raw: message({ subject: 'dot name' }) },
      { folder: 'Kunden/Projekt v1.2', raw: message({ subject: 'dot name, no id', messageId: null }) },
      { folder: 'Reise 2024.05 – Köln', raw: message({ subject: 'trip' }) },
      { folder: 'Archiv', raw: message({ subject: 'old' }) },
      { folder: 'Sent Items', raw: message({ subject: 'sent elsewhere' }) },
    ]);
    await c.logout();
    const plan = (await t.ok(TEST_CONNECTION, { s: settings(slashSrc.port, SLASH_USER) }, tenant.token)).r;
    expect(plan.__typename).toBe('MutationTestImapConnectionSuccess');
    const planned = Object.fromEntries(plan.result.folders.map((f: any) => [f.name, f.targetName]));
    // The source flags its role folders, so "Sent Items" (no flag) is an ordinary folder.
    expect(planned).toMatchObject({ 'Kunden/Projekt v1.2': 'Kunden/Projekt v1.2', 'Reise 2024.05 – Köln': 'Reise 2024.05 – Köln', Archiv: 'Archiv', 'Sent Items': 'Sent Items', 'Sent Messages': 'Sent' });

    const bad = (await t.ok(START_WITH, { m: (await createMailbox(t, tenant.token, 'badoverride', tenant.domain, MAILBOX_PASSWORD)).id, s: settings(slashSrc.port, SLASH_USER), f: [{ sourceName: 'Archiv', targetName: 'a//b' }] }, tenant.token)).r;
    expect(bad).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'folders.0.targetName', code: 'INVALID' }] });

    for (const fastPath of ['true', 'false']) {
      await restartWorker({ MIGRATION_FAST_PATH: fastPath });
      const mb = await createMailbox(t, tenant.token, `tree${fastPath}`, tenant.domain, MAILBOX_PASSWORD);
      const m = await waitFor(await start(mb.id, settings(slashSrc.port, SLASH_USER), [{ sourceName: 'Archiv', targetName: 'Archiv/alt' }]), ended);
      expectVerified(m);
      const want = await snapshot(slashSrc.port, SLASH_USER, SOURCE_PASSWORD, (f) => ({ Archiv: 'Archiv/alt', 'Sent Messages': 'Sent', 'Deleted Messages': 'Trash' })[f] ?? f);
      const got = await snapshot(ms.ports.imap, mb.address, MAILBOX_PASSWORD);
      expect(counts(got)).toEqual(counts(want));
      expect(got).toEqual(want);
    }
  }, 300_000);
});
