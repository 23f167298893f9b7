// Bulk migration (issue 16) against real daemons: two source Dovecots on loopback and a dead source
// (a closed port), the panel's Dovecot from startMailstack(), PostgreSQL, the API in this process and
// TWO workers as their own processes sharing one per-host gate (MIGRATION_PER_HOST_CONCURRENCY=1).
// One CSV starts all three: the live ones finish with every message in the target, one after the
// other (their source host allows one at a time, whichever worker runs them), the dead one fails
// with its own error, and the bulk's summary says so. The password is in no answer and no output.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/free-port.js';
import { createMailbox, createTenant, startTestApp, type TestApp, type Tenant } from '../../test/harness.js';
import { startMailstack, type Mailstack } from './harness.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';
import { startSourceDovecot, type SourceDovecot } from './source-dovecot.js';
import { counts, imap, message, seed, snapshot, startWorkerProcess, migrationEnv } from './migration-fixtures.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const MAILBOX_PASSWORD = 'target-pass-1';
const PASSWORDS = ['Bulk-One-Src-91', 'Bulk-Two-Src-92', 'Bulk-Dead-Src-93'];

const START = `mutation($i:StartBulkMigrationInput!){ r: startBulkMigration(input:$i){ __typename
  ... on MutationStartBulkMigrationSuccess { result { bulkMigration { id } } }
  ... on Error { message } ... on ValidationError { fieldErrors { field code message } } } }`;
const BULK = `query($id:ID!){ node(id:$id){ ... on BulkMigration { summary { total queued waiting running succeeded failed cancelled }
  migrations(first: 10) { edges { node { id status phase startedAt finishedAt messagesCopied messagesTotal error { code message } mailbox { address } source { host port } } } } } } }`;

describe.skipIf(!enabled)('bulk migration from three source servers, one dead', () => {
  let db: TestDatabase;
  let ms: Mailstack;
  const sources: SourceDovecot[] = [];
  let t: TestApp;
  let tenant: Tenant;
  let dataDir: string;
  const workers: Awaited<ReturnType<typeof startWorkerProcess>>[] = [];

  beforeAll(async () => {
    db = await startTestDatabase();
    ms = await startMailstack({ databaseUrl: db.url });
    for (const [i, user] of ['one@legacy.test', 'two@legacy.test'].entries()) {
      const src = await startSourceDovecot({ users: [{ user, password: PASSWORDS[i]! }] });
      sources.push(src);
      const c = imap(src.port, user, PASSWORDS[i]!);
      await c.connect();
      const items = [];
      for (let n = 0; n < 25 + i * 10; n++) items.push({ folder: n % 3 ? 'INBOX' : 'Archiv', raw: message({ subject: `${user} ${n}` }), flags: n % 2 ? ['\\Seen'] : [] });
      await seed(c, items);
      await c.logout();
    }
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bulk-migration-'));
    const env = migrationEnv(db, dataDir, ms.panelEnv, {
      MIGRATION_RETRIES: '1',
      MIGRATION_RETRY_DELAY_SECONDS: '1',
      MIGRATION_PER_HOST_CONCURRENCY: '1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    });
    Object.assign(process.env, env);
    t = await startTestApp({ listen: true });
    tenant = await createTenant(t, {}, 'bulk');
    workers.push(await startWorkerProcess(env), await startWorkerProcess(env));
  }, 240_000);

  afterAll(async () => {
    for (const w of workers) await w.stop().catch(() => {});
    for (const s of sources) await s.stop().catch((e) => console.error('source dovecot stop:', e));
    await ms?.stop().catch((e) => console.error('mailstack stop:', e));
    await db?.stop().catch((e) => console.error('database stop:', e));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('the live sources are copied completely, one at a time per host; the dead one fails with its error', async () => {
    const boxes = await Promise.all(['uno', 'due', 'tre'].map((u) => createMailbox(t, tenant.token, u, tenant.domain, MAILBOX_PASSWORD)));
    const dead = await freePort();
    const csv = [
      'address,host,port,security,username,password',
      `${boxes[0]!.address},127.0.0.1,${sources[0]!.port},NONE,one@legacy.test,${PASSWORDS[0]}`,
      `${boxes[1]!.address},127.0.0.1,${sources[1]!.port},NONE,two@legacy.test,${PASSWORDS[1]}`,
      // Another host name for the dead server, so its failure does not wait behind the live ones.
      `${boxes[2]!.address},localhost,${dead},NONE,three@legacy.test,${PASSWORDS[2]}`,
    ].join('\n');
    const r = (await t.ok(START, { i: { csv, name: 'three-servers.csv' } }, tenant.token)).r;
    expect(r.__typename, JSON.stringify(r)).toBe('MutationStartBulkMigrationSuccess');
    const id = r.result.bulkMigration.id;

    let bulk: any;
    let sawWaiting = false;
    const deadline = Date.now() + 180_000;
    for (;;) {
      bulk = (await t.ok(BULK, { id }, tenant.token)).node;
      if (bulk.summary.waiting > 0) sawWaiting = true;
      // Never more than one migration from 127.0.0.1 at a time, across both workers.
      const live = bulk.migrations.edges.filter((e: any) => e.node.source.host === '127.0.0.1' && e.node.status === 'RUNNING' && e.node.phase !== 'WAITING');
      expect(live.length).toBeLessThanOrEqual(1);
      if (bulk.summary.succeeded + bulk.summary.failed + bulk.summary.cancelled === 3) break;
      if (Date.now() > deadline) throw new Error(`bulk did not finish: ${JSON.stringify(bulk)}\n${workers.map((w) => w.output().slice(-3000)).join('\n---\n')}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(bulk.summary).toMatchObject({ total: 3, succeeded: 2, failed: 1, cancelled: 0, running: 0, waiting: 0, queued: 0 });
    expect(sawWaiting).toBe(true);
    const rows = Object.fromEntries(bulk.migrations.edges.map((e: any) => [e.node.mailbox.address, e.node]));
    const [one, two, three] = boxes.map((b) => rows[b.address]);
    expect(one).toMatchObject({ status: 'SUCCEEDED', error: null, messagesCopied: 25 });
    expect(two).toMatchObject({ status: 'SUCCEEDED', error: null, messagesCopied: 35 });
    expect(three).toMatchObject({ status: 'FAILED', error: { code: 'HOST_UNREACHABLE' } });
    expect(three.error.message).toMatch(/refused the connection/);
    // The per-host gate: the second live migration started after the first one ended.
    const [first, second] = [one, two].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    expect(Date.parse(second.startedAt)).toBeGreaterThanOrEqual(Date.parse(first.finishedAt));

    for (const [i, user] of ['one@legacy.test', 'two@legacy.test'].entries()) {
      const want = counts(await snapshot(sources[i]!.port, user, PASSWORDS[i]!));
      const got = counts(await snapshot(ms.ports.imap, boxes[i]!.address, MAILBOX_PASSWORD));
      for (const [folder, n] of Object.entries(want)) if (n > 0) expect(got[folder], `${user} ${folder}`).toBe(n);
    }
    const output = workers.map((w) => w.output()).join('\n');
    for (const p of PASSWORDS) expect(output).not.toContain(p);
    expect(JSON.stringify(bulk)).not.toContain(PASSWORDS[0]);
  }, 240_000);
});
