// The embedded default: no Dovecot beside the panel (DOVECOT_CONFIG unset), so the worker writes the
// target Maildir itself. Only the source Dovecot runs. The written Maildir is then read back through
// a real Dovecot (the source instance, with a user whose home is the migrated mailbox): folders,
// counts, flags and keywords, internal dates and bytes must be what the source holds.
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp, type TestApp, type Tenant } from '../../test/harness.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';
import { startSourceDovecot, type SourceDovecot } from './source-dovecot.js';
import { NODE, RETRY, SOURCE_PASSWORD, SOURCE_USER, START, counts, eightBit, imap, large, message, seed, snapshot, type MailboxSnapshot } from './migration-fixtures.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const VMAIL = 5000;

describe.skipIf(!enabled)('IMAP migration into a Maildir written by the worker (no local Dovecot)', () => {
  let db: TestDatabase;
  let src: SourceDovecot;
  let t: TestApp;
  let tenant: Tenant;
  let dataDir: string;
  let expected: MailboxSnapshot;
  const source = () => ({ host: '127.0.0.1', port: src.port, security: 'NONE', username: SOURCE_USER, password: SOURCE_PASSWORD });
  const node = async (id: string) => (await t.ok(NODE, { id }, tenant.token)).node;
  const finished = async (id: string) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const m = await node(id);
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(m.status)) return m;
      if (Date.now() > deadline) throw new Error(`not finished: ${JSON.stringify(m)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** The migrated mailbox as the source's Dovecot shows it (separator "."), in target names: a
   *  source user whose home is the mailbox's home (see the users given to startSourceDovecot). */
  const readBack = async (address: string) => {
    const user = `${address.split('@')[0]}@check.test`;
    const s = await snapshot(src.port, user, 'verify-pass', (f) => f.split('.').join('/'));
    // That instance auto-creates its own special-use names; they are not part of the migration.
    for (const extra of ['Sent Messages', 'Deleted Messages']) if (s[extra]?.length === 0) delete s[extra];
    return s;
  };

  beforeAll(async () => {
    db = await startTestDatabase();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'migration-maildir-'));
    const home = (local: string) => path.join(dataDir, 'vmail', 'embedded.example', local);
    src = await startSourceDovecot({
      users: [
        { user: SOURCE_USER, password: SOURCE_PASSWORD },
        { user: 'frank@check.test', password: 'verify-pass', home: home('frank') },
        { user: 'gina@check.test', password: 'verify-pass', home: home('gina') },
      ],
    });
    await chmod(dataDir, 0o755);
    // The mail root belongs to the mail user, as on a real host (Dovecot reads it back below).
    await mkdir(path.join(dataDir, 'vmail'), { mode: 0o755 });
    await chown(path.join(dataDir, 'vmail'), VMAIL, VMAIL);
    Object.assign(process.env, {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      MAIL_ROOT: path.join(dataDir, 'vmail'),
      MAIL_UID: String(VMAIL),
      MAIL_GID: String(VMAIL),
      JWT_SECRET: createHash('sha256').update('jwt').digest('hex'),
      ENCRYPTION_KEY: createHash('sha256').update('key').digest('hex'),
      QUOTA_REFRESH_CRON: 'off',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    });
    delete process.env.DOVECOT_CONFIG;
    t = await startTestApp({ worker: true });
    tenant = await createTenant(t, {}, 'embedded');

    const c = imap(src.port, SOURCE_USER, SOURCE_PASSWORD);
    await c.connect();
    const d = (day: number) => new Date(Date.UTC(2022, 4, day, 6, 7, 8));
    await seed(c, [
      { folder: 'INBOX', raw: message({ subject: 'hello' }), flags: ['\\Seen', '\\Answered'], date: d(1) },
      { folder: 'INBOX', raw: message({ subject: 'keywords' }), flags: ['\\Flagged', '$Forwarded', 'ProjektX'], date: d(2) },
      { folder: 'INBOX', raw: eightBit('8bit'), flags: [], date: d(3) },
      { folder: 'INBOX', raw: large('big', 3 * 1024 * 1024), flags: ['\\Seen'], date: d(4) },
      { folder: 'INBOX', raw: message({ subject: 'no message id', messageId: null }), flags: ['\\Seen'], date: d(5) },
      { folder: 'Sent Messages', raw: message({ subject: 'sent' }), flags: ['\\Seen'], date: d(6) },
      { folder: 'Drafts', raw: message({ subject: 'draft' }), flags: ['\\Draft'], date: d(7) },
      { folder: 'Deleted Messages', raw: message({ subject: 'gone' }), flags: ['\\Seen', '\\Deleted'], date: d(8) },
      { folder: 'Archive.2023', raw: message({ subject: 'old' }), flags: ['\\Seen'], date: d(9) },
      { folder: 'Archive.2023.Tax', raw: message({ subject: 'deeper' }), flags: [], date: d(10) },
      { folder: 'Kunden.Müller & Söhne', raw: eightBit('customer'), flags: ['\\Seen'], date: d(11) },
      ...Array.from({ length: 300 }, (_, i) => ({ folder: 'Bulk', raw: message({ subject: `bulk ${i}` }), flags: i % 2 ? ['\\Seen'] : [], date: d(12) })),
    ]);
    await c.logout();
    expected = await snapshot(src.port, SOURCE_USER, SOURCE_PASSWORD, (f) => ({ 'Sent Messages': 'Sent', 'Deleted Messages': 'Trash' })[f] ?? f.split('.').join('/'));
  }, 180_000);

  afterAll(async () => {
    await src?.stop().catch((e) => console.error('source dovecot stop:', e));
    await db?.stop().catch((e) => console.error('database stop:', e));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('writes a Maildir that a real Dovecot reads back exactly: folders, counts, flags, keywords, dates, bytes; a re-run adds nothing', async () => {
    const mb = await createMailbox(t, tenant.token, 'frank', tenant.domain, 'frank-pass-1');
    const r = (await t.ok(START, { m: mb.id, s: source() }, tenant.token)).r;
    expect(r.__typename, JSON.stringify(r)).toBe('MutationStartMigrationSuccess');
    const done = await finished(r.migration.id);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'SUCCEEDED', engine: 'MAILDIR', messagesCopied: 311, messagesFailed: 0, error: null });
    expect(done.folders.every((f: any) => f.engine === 'MAILDIR')).toBe(true);

    const got = await readBack(mb.address);
    // Folders the panel's Maildir has anyway (provisioning) may be empty here.
    for (const k of Object.keys(got)) if (!(k in expected) && got[k]!.length === 0) delete got[k];
    expect(counts(got)).toEqual(counts(expected));
    expect(got).toEqual(expected);

    await t.ok(RETRY, { id: r.migration.id, p: SOURCE_PASSWORD }, tenant.token);
    const again = await finished(r.migration.id);
    expect(again).toMatchObject({ status: 'SUCCEEDED', messagesCopied: 0 });
    const after = await readBack(mb.address);
    for (const k of Object.keys(after)) if (!(k in expected) && after[k]!.length === 0) delete after[k];
    expect(counts(after)).toEqual(counts(expected));
  });

  it('enforces the mailbox quota itself: FAILED with TARGET_OVER_QUOTA, what fit is kept', async () => {
    const mb = await createMailbox(t, tenant.token, 'gina', tenant.domain, 'gina-pass-1', 2);
    const r = (await t.ok(START, { m: mb.id, s: source() }, tenant.token)).r;
    const done = await finished(r.migration.id);
    expect(done).toMatchObject({ status: 'FAILED', error: { code: 'TARGET_OVER_QUOTA' } });
    const got = await readBack(mb.address);
    expect(got.INBOX!.length).toBeGreaterThan(0);
    expect(got.INBOX!.some((m) => m.size > 1024 * 1024)).toBe(false);
  });
});
