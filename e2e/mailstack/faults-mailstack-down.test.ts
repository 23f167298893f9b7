// Fault test: the panel's Dovecot goes down while people use the panel, then comes back.
// Claim (docs/mail-stack.md, "When the mail stack is down"): jobs that need Dovecot wait and retry
// with backoff; the panel says "in progress" rather than lying (never done, never a permanent
// failure); when Dovecot returns, everything converges, each job completing once.
//
// What needs the running Dovecot (its auth service answers doveadm's userdb lookups):
// - quota-refresh (doveadm quota get) and migrate-mailbox (doveadm exec imap) → retried;
// - provision-mailbox, quarantine-release write files under MAIL_ROOT (sievec needs no daemon) →
//   they finish during the outage, and READY / RELEASED are true: the files are where Dovecot reads
//   them once it is back, which the last step checks through IMAP and a vacation reply.
//
// Real daemons throughout: Postfix + Dovecot from the harness (stopped and started again by the pid
// it recorded), a second Dovecot as the migration source, the panel driven only through GraphQL, and
// pg-boss's own job rows for the retries. No rspamd here: the one quarantined message carries the
// X-Panel-Spam header rspamd's milter would add, and Dovecot's own global Sieve files it.
// JOB_RETRY_DELAY_MAX_SECONDS=2 keeps the backoff short so the test takes seconds, not minutes.
import { existsSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, waitFor, type Tenant } from '../../test/harness.js';
import { headerOf, type CapturedMessage } from './capture-sink.js';
import { makeMessage, smtpSend } from './clients.js';
import { imapCanLogin, imapSubjects } from './imap.js';
import { MIGRATION_FIELDS, SOURCE_PASSWORD, SOURCE_USER, imap as sourceImap, message, seed, snapshot } from './migration-fixtures.js';
import { startPanelOnMailstack, type PanelOnMailstack } from './panel.js';
import { startSourceDovecot, type SourceDovecot } from './source-dovecot.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const PW = 'mailbox-pass-1';
const OUT = 'outside.test';
const RETRY_CAP_SECONDS = 2;

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } }`;
const M = {
  spam: `mutation($d:ID!,$i:SpamSettingsInput!){ r: updateSpamSettings(domainId:$d, input:$i){ __typename ${ERR} } }`,
  autoresponder: `mutation($id:ID!,$i:AutoresponderInput!){ r: setAutoresponder(mailboxId:$id, input:$i){ __typename ... on MutationSetAutoresponderSuccess { mailbox { provisioning } } ${ERR} } }`,
  release: `mutation($id:ID!){ r: releaseQuarantined(id:$id){ __typename ... on MutationReleaseQuarantinedSuccess { item { status } } ${ERR} } }`,
  recalc: `mutation($id:ID!){ r: recalculateQuota(mailboxId:$id){ __typename ... on MutationRecalculateQuotaSuccess { mailbox { id } } ${ERR} } }`,
  migrate: `mutation($m:ID!,$s:ImapSourceInput!){ r: startMigration(mailboxId:$m, source:$s){ __typename ... on MutationStartMigrationSuccess { migration { id status } } ${ERR} } }`,
};
const MAILBOX = `query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning provisioningError autoresponderActive quota { usedBytes messages updatedAt } } } }`;
const HELD = `query($id:ID!,$s:QuarantineStatus){ node(id:$id){ ... on Domain { quarantine(first:10, filter:{ status:$s }){ edges { node { id subject status } } } } } }`;
const MIGRATION = `query($id:ID!){ node(id:$id){ ... on Migration { ${MIGRATION_FIELDS} } } }`;

interface JobRow {
  id: string;
  name: string;
  state: string;
  retry_count: number;
  retry_limit: number;
  retry_delay_max: number | null;
  retry_backoff: boolean;
}

describe.skipIf(!enabled)('mail stack down: jobs wait and retry, the panel says pending, everything converges', () => {
  let p: PanelOnMailstack;
  let src: SourceDovecot;
  let tenant: Tenant;
  const ids = { alice: '', target: '', late: '', item: '', migration: '' };
  const addr = { alice: '', target: '', late: '' };
  let before: { usedBytes: number; messages: number; updatedAt: string };
  let outageStartedAt = 0;
  let sourceMessages = 0;
  const seen = { quota: [] as number[], migration: [] as number[] };

  const uuid = (globalId: string) => decodeGlobalID(globalId).id;
  const act = async (doc: string, vars: Record<string, unknown>) => {
    const r = (await p.ok(doc, vars, tenant.token)).r;
    expect(r.__typename, JSON.stringify(r)).toMatch(/^Mutation\w+Success$/);
    return r;
  };
  const mailboxNode = async (id: string) => (await p.ok(MAILBOX, { id }, tenant.token)).node;
  const migrationNode = async () => (await p.ok(MIGRATION, { id: ids.migration }, tenant.token)).node;
  const quarantine = async (status: string) => (await p.ok(HELD, { id: tenant.domainId, s: status }, tenant.token)).node.quarantine.edges.map((e: any) => e.node);
  const account = (user: string) => ({ port: p.ms.ports.imap, user, pass: PW });
  const mx = (to: string, subject: string, opts: { from?: string; headers?: Record<string, string> } = {}) => {
    const from = opts.from ?? `sender@${OUT}`;
    return smtpSend({ port: p.ms.ports.smtp, from, to: [to], data: makeMessage({ from, to, subject, headers: opts.headers }) });
  };
  const sentTo = (a: string) => (m: CapturedMessage) => m.rcptTo.includes(a);
  /** pg-boss's rows for jobs of `name` whose payload field `key` is `value`, sent during the outage or later. */
  const jobs = async (name: string, key: string, value: string): Promise<JobRow[]> =>
    (
      await p.db.client.query(
        `SELECT id, name, state, retry_count, retry_limit, retry_delay_max, retry_backoff FROM pgboss.job
         WHERE name = $1 AND data->>$2 = $3 AND created_on >= $4 ORDER BY created_on`,
        [name, key, value, new Date(outageStartedAt)],
      )
    ).rows;
  const theJob = async (name: string, key: string, value: string) => {
    const rows = await jobs(name, key, value);
    expect(rows, `${name} jobs for ${value}`).toHaveLength(1);
    return rows[0]!;
  };
  const doveadmQuota = async (user: string) => {
    const out = (await p.ms.doveadm('quota', 'get', '-u', user)).stdout;
    return { kib: Number(/STORAGE\s+(\d+)/.exec(out)![1]), messages: Number(/MESSAGE\s+(\d+)/.exec(out)![1]) };
  };
  const postfixLogSince = async (offset: number) => (await readFile(p.ms.logs.postfix)).subarray(offset).toString('utf8');

  beforeAll(async () => {
    src = await startSourceDovecot({ users: [{ user: SOURCE_USER, password: SOURCE_PASSWORD }] });
    p = await startPanelOnMailstack({
      // A migration retries on its own schedule (docs/migration.md): short here, and long enough to outlast the outage.
      env: { JOB_RETRY_DELAY_MAX_SECONDS: String(RETRY_CAP_SECONDS), QUARANTINE_SCAN_SECONDS: '0.5', QUOTA_REFRESH_CRON: 'off', MIGRATION_RETRY_DELAY_SECONDS: '0.5', MIGRATION_RETRIES: '8' },
    });
    tenant = await createTenant(p, { maxDomains: 5 }, 'outage');
    // The old mailbox the migration copies from (its own layout: "." separator, "Sent Messages").
    const c = sourceImap(src.port, SOURCE_USER, SOURCE_PASSWORD);
    await c.connect();
    const d = (day: number) => new Date(Date.UTC(2022, 2, day, 9, 0, 0));
    await seed(c, [
      ...[1, 2, 3, 4].map((i) => ({ folder: 'INBOX', raw: message({ subject: `old inbox ${i}` }), flags: i % 2 ? ['\\Seen'] : [], date: d(i) })),
      { folder: 'Sent Messages', raw: message({ subject: 'old sent 1' }), flags: ['\\Seen'], date: d(5) },
      { folder: 'Sent Messages', raw: message({ subject: 'old sent 2' }), flags: ['\\Seen'], date: d(6) },
      { folder: 'Archive.2022', raw: message({ subject: 'old archived' }), flags: ['\\Seen', '\\Flagged'], date: d(7) },
    ]);
    await c.logout();
    sourceMessages = 7;
  }, 180_000);

  afterAll(async () => {
    await p?.stop();
    await src?.stop().catch((e) => console.error('source dovecot stop:', e));
  });

  it('before: a mailbox with mail, a measured quota and a held message; a migration target', async () => {
    const alice = await createMailbox(p, tenant.token, 'alice', tenant.domain, PW);
    const target = await createMailbox(p, tenant.token, 'newhome', tenant.domain, PW);
    Object.assign(ids, { alice: alice.id, target: target.id });
    Object.assign(addr, { alice: alice.address, target: target.address, late: `late@${tenant.domain}` });
    for (const id of [alice.id, target.id]) await waitFor(async () => (await mailboxNode(id)).provisioning === 'READY', 'mailbox ready', 20_000);
    await act(M.spam, { d: tenant.domainId, i: { action: 'QUARANTINE' } });

    expect((await mx(addr.alice, 'hello before the outage')).ok).toBe(true);
    expect((await mx(addr.alice, 'held while down', { headers: { 'X-Panel-Spam': 'quarantine' } })).ok).toBe(true);
    await waitFor(async () => (await imapSubjects(account(addr.alice))).includes('hello before the outage'), 'first message in INBOX', 20_000);
    const [held] = await waitFor(async () => {
      const items = await quarantine('HELD');
      return items.length > 0 && items;
    }, 'the message listed as held', 20_000);
    expect(held).toMatchObject({ subject: 'held while down', status: 'HELD' });
    ids.item = held.id;

    await act(M.recalc, { id: ids.alice });
    const q = await waitFor(async () => {
      const n = await mailboxNode(ids.alice);
      return n.quota.updatedAt && n.quota;
    }, 'first measurement', 20_000);
    before = q;
    expect(before.usedBytes).toBe((await doveadmQuota(addr.alice)).kib * 1024);
  });

  it('while Dovecot is down: the work that needs it waits and retries, the API says so, nothing lies', async () => {
    await p.ms.stopDaemon('dovecot');
    outageStartedAt = Date.now();
    expect(p.ms.daemonPid('dovecot')).toBeNull();
    await expect(imapCanLogin(account(addr.alice))).rejects.toThrow();
    const postfixLogAt = await p.ms.logSize('postfix');

    // 1. A new mailbox with an autoresponder, and a message to it from outside.
    const late = await createMailbox(p, tenant.token, 'late', tenant.domain, PW);
    ids.late = late.id;
    await act(M.autoresponder, { id: late.id, i: { enabled: true, subject: 'Back soon', message: 'I read mail when the server is back.' } });
    expect((await mx(addr.late, 'written during the outage', { from: `traveller@${OUT}` })).ok).toBe(true);
    // 2. Release the held message. 3. Measure alice's quota again. 4. Migrate into newhome.
    expect((await act(M.release, { id: ids.item })).item.status).toBe('RELEASING');
    await act(M.recalc, { id: ids.alice });
    const started = await act(M.migrate, { m: ids.target, s: { host: '127.0.0.1', port: src.port, security: 'NONE', username: SOURCE_USER, password: SOURCE_PASSWORD } });
    ids.migration = started.migration.id;

    // Watch for a while: the retried jobs never finish, never fail for good, and back off.
    const deadline = Date.now() + 30_000;
    let polls = 0;
    for (;;) {
      polls++;
      const m = await migrationNode();
      expect(['QUEUED', 'RUNNING'], `migration during the outage: ${JSON.stringify(m)}`).toContain(m.status);
      expect(m.finishedAt).toBeNull();
      const a = await mailboxNode(ids.alice);
      expect(a.quota, 'no new measurement is claimed while Dovecot cannot be asked').toEqual(before);
      const quotaJob = await theJob('quota-refresh', 'mailboxId', uuid(ids.alice));
      expect(['created', 'retry', 'active'], `${quotaJob.name} job state`).toContain(quotaJob.state);
      expect(quotaJob).toMatchObject({ retry_limit: 20, retry_backoff: true, retry_delay_max: RETRY_CAP_SECONDS });
      // A migration enqueues each next attempt itself (one job per attempt, none failed).
      for (const j of await jobs('migrate-mailbox', 'migrationId', uuid(ids.migration))) expect(['created', 'retry', 'active', 'completed'], 'migration job state').toContain(j.state);
      seen.quota.push(quotaJob.retry_count);
      seen.migration.push(m.attempt?.attempt ?? 0);
      if (quotaJob.retry_count >= 3 && (m.attempt?.attempt ?? 0) >= 3 && m.phase === 'WAITING') {
        // What the tenant reads: a failure being retried (attempt n of m, when), not a final one.
        expect(m.status).toBe('RUNNING');
        expect(m.error).toMatchObject({ code: 'TARGET_ERROR' });
        expect(m.attempt).toMatchObject({ maxAttempts: 9, nextRetryAt: expect.any(String) });
        expect(m.messagesCopied).toBe(0);
        break;
      }
      if (Date.now() > deadline) throw new Error(`no retries seen: quota ${seen.quota.join(',')} migration ${seen.migration.join(',')} ${JSON.stringify(m)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const elapsed = (Date.now() - outageStartedAt) / 1000;
    // Backoff, not a busy loop: three retries take at least two pauses of about the cap.
    expect(elapsed).toBeGreaterThan(2 * (RETRY_CAP_SECONDS - 0.5));
    for (const s of [seen.quota, seen.migration]) expect([...s].sort((x, y) => x - y)).toEqual(s); // only grows
    expect(polls).toBeGreaterThan(1);

    // What does not need the running Dovecot is done, and says so truthfully: the files are in place.
    const lateNode = await waitFor(async () => {
      const n = await mailboxNode(ids.late);
      return n.provisioning !== 'PENDING' && n;
    }, 'late provisioned', 20_000);
    expect(lateNode).toMatchObject({ provisioning: 'READY', provisioningError: null, autoresponderActive: true });
    expect(readlinkSync(path.join(p.ms.home(addr.late), '.dovecot.sieve'))).toBe('sieve/panel.sieve');
    expect(existsSync(path.join(p.ms.home(addr.late), '.dovecot.svbin')), 'compiled by sievec without the daemon').toBe(true);
    await waitFor(async () => (await quarantine('RELEASED')).some((i: any) => i.id === ids.item), 'released', 20_000);
    expect(await quarantine('HELD')).toEqual([]);
    expect((await p.ms.listMaildir(addr.alice, 'new')).filter((f) => f.endsWith('.panel'))).toHaveLength(1);

    // Mail for Dovecot waits in Postfix's queue: deferred, never bounced.
    await p.ms.waitForLog('postfix', new RegExp(`to=<${addr.late.replace(/[.]/g, '\\.')}>.*status=deferred`), { since: postfixLogAt });
    expect(await postfixLogSince(postfixLogAt)).not.toMatch(/status=bounced/);
    expect(p.ms.sink.messages.filter(sentTo(`traveller@${OUT}`))).toEqual([]);
  });

  it('when Dovecot is back: everything converges, each job completed once', async () => {
    const downFor = Date.now() - outageStartedAt;
    const backAt = Date.now();
    await p.ms.startDaemon('dovecot');
    expect(p.ms.daemonPid('dovecot')).not.toBeNull();
    await p.ms.postfix('flush'); // what Postfix does by itself at its next queue run (minutes)

    // The migration resumes at its next retry and completes: every message once, none twice.
    const m = await waitFor(async () => {
      const n = await migrationNode();
      return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(n.status) && n;
    }, 'migration finished', 60_000);
    expect(m, JSON.stringify(m)).toMatchObject({ status: 'SUCCEEDED', phase: 'FINISHED', error: null, messagesCopied: sourceMessages, messagesFailed: 0, messagesTotal: sourceMessages });
    const rename = (f: string) => ({ 'Sent Messages': 'Sent' })[f] ?? f.split('.').join('/');
    const expected = await snapshot(src.port, SOURCE_USER, SOURCE_PASSWORD, rename);
    const got = await snapshot(p.ms.ports.imap, addr.target, PW);
    for (const [folder, msgs] of Object.entries(expected)) {
      const copied = got[folder] ?? [];
      expect(copied, folder).toEqual(msgs);
      expect(new Set(copied.map((x) => x.key)).size, `${folder} without duplicates`).toBe(msgs.length);
    }
    expect(Object.values(got).reduce((n, v) => n + v.length, 0)).toBe(sourceMessages);

    // The measurement asked for during the outage is taken, and is Dovecot's figure.
    const q = await waitFor(async () => {
      const n = await mailboxNode(ids.alice);
      return n.quota.updatedAt !== before.updatedAt && n.quota;
    }, 'new measurement', 30_000);
    expect(Date.parse(q.updatedAt)).toBeGreaterThanOrEqual(backAt - 1000);
    expect(q.usedBytes).toBe((await doveadmQuota(addr.alice)).kib * 1024);

    // The released message is in alice's INBOX, once; the new mailbox logs in, got the mail from the
    // outage, and its autoresponder answered it exactly once.
    const subjects = await imapSubjects(account(addr.alice));
    expect(subjects.filter((s) => s === 'held while down')).toHaveLength(1);
    expect(subjects).toContain('hello before the outage');
    expect(await waitFor(async () => {
      const s = await imapSubjects(account(addr.late));
      return s.length > 0 && s;
    }, 'outage mail delivered', 30_000)).toEqual(['written during the outage']);
    const reply = await p.ms.sink.waitFor(sentTo(`traveller@${OUT}`), 30_000);
    expect(reply.mailFrom).toBe('');
    expect(headerOf(reply.data, 'Subject')).toBe('Back soon');
    expect(headerOf(reply.data, 'Auto-Submitted')).toMatch(/^auto-replied/);
    await new Promise((r) => setTimeout(r, 1000));
    expect(p.ms.sink.messages.filter(sentTo(`traveller@${OUT}`))).toHaveLength(1);

    // pg-boss: every job of the outage completed, once; the retried ones after their retries.
    const quotaJob = await waitFor(async () => {
      const j = await theJob('quota-refresh', 'mailboxId', uuid(ids.alice));
      return j.state === 'completed' && j;
    }, 'quota job completed', 10_000);
    const migrationJobs = await waitFor(async () => {
      const js = await jobs('migrate-mailbox', 'migrationId', uuid(ids.migration));
      return js.every((j) => j.state === 'completed') && js;
    }, 'migration jobs completed', 10_000);
    expect(quotaJob.retry_count).toBeGreaterThanOrEqual(Math.max(...seen.quota));
    expect(migrationJobs.length).toBeGreaterThanOrEqual(Math.max(...seen.migration));
    expect((await theJob('quarantine-release', 'itemId', uuid(ids.item))).state).toBe('completed');
    const provisioning = await jobs('provision-mailbox', 'mailboxId', uuid(ids.late));
    expect(provisioning.map((j) => j.state)).toEqual(['completed', 'completed']); // createMailbox, setAutoresponder
    const failed = await p.db.client.query(`SELECT name, state FROM pgboss.job WHERE state = 'failed'`);
    expect(failed.rows).toEqual([]);
    expect(await postfixLogSince(0)).not.toMatch(/status=bounced/);
    console.log(`mail stack down for ${(downFor / 1000).toFixed(1)} s; converged ${((Date.now() - backAt) / 1000).toFixed(1)} s after Dovecot returned`);
  });
});
