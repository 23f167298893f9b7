// The panel on more than one machine: ONE PostgreSQL (the per-file database of the shared embedded
// cluster), TWO API processes (scripts/start.ts with RUN_WORKER=false) and TWO worker processes
// (scripts/worker.ts), each with its own pid, port and data folder, sharing only PostgreSQL (and the
// mail root, as mail storage is shared). Shown here, each through the real processes:
//  a. a subscription on API A receives a change made by a mutation sent to API B, and the result of
//     a job a worker finished (LISTEN/NOTIFY, core/src/pubsub.ts);
//  b. 200 wrong logins spread over both APIs trip one throttle (rows in PostgreSQL,
//     api/src/auth/login-throttle.ts): exactly LOGIN_MAX_FAILURES_PER_ACCOUNT passwords are checked in
//     all, not that many per process, and both APIs answer TooManyAttemptsError once it is tripped;
//  c. N jobs enqueued through both APIs each run exactly once across the two workers (pg-boss);
//  d. a worker SIGKILLed while it holds jobs: the other worker finishes them (heartbeat → retry).
// "A job ran" is read from the workers' own log: worker/src/worker.ts logs `job start` (debug) with the
// job id each time a handler is entered, so a second run of a job anywhere shows as a second line.
// Every process started here is stopped by its pid in afterAll.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { decodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { ADMIN, createMailbox, createTenant, remoteApi, waitFor, type GqlClient, type Tenant } from './harness.js';
import { freePort } from './free-port.js';

const PER_ACCOUNT = 5;

interface Proc {
  name: string;
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
}

const procs: Proc[] = [];
const folders: string[] = [];

function launch(name: string, script: string, env: Record<string, string>): Proc {
  const dataDir = mkdtempSync(path.join(tmpdir(), `mailpanel-${name}-`));
  folders.push(dataDir);
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      DATA_DIR: dataDir,
      QUOTA_REFRESH_CRON: 'off',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT),
      ...env,
    },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const p = { name, child, output: () => out, exited };
  procs.push(p);
  return p;
}

async function startApi(name: string): Promise<{ proc: Proc; url: string; port: number }> {
  const port = await freePort();
  const proc = launch(name, 'scripts/start.ts', { RUN_WORKER: 'false', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' });
  let done = false;
  void proc.exited.then(() => (done = true));
  await waitFor(async () => done || /GraphQL API: http:\/\/\S+\/graphql/.test(proc.output()), `${name} to serve`, 60_000);
  const m = /GraphQL API: (http:\/\/\S+)\/graphql/.exec(proc.output());
  if (!m) throw new Error(`${name} did not start:\n${proc.output()}`);
  return { proc, url: m[1]!, port };
}

async function startWorkerProcess(name: string): Promise<Proc> {
  // debug: the `job start` lines this file counts.
  const proc = launch(name, 'scripts/worker.ts', { LOG_LEVEL: 'debug' });
  let done = false;
  void proc.exited.then(() => (done = true));
  await waitFor(async () => done || proc.output().includes('"msg":"worker started"'), `${name} to start`, 60_000);
  if (done) throw new Error(`${name} exited:\n${proc.output()}`);
  return proc;
}

/** Ids of the jobs a worker entered, once per entry, in order. */
function jobsStarted(proc: Proc, queue: string): string[] {
  const ids: string[] = [];
  for (const line of proc.output().split('\n')) {
    if (!line.startsWith('{') || !line.includes('"msg":"job start"')) continue;
    const entry = JSON.parse(line) as { name: string; id: string };
    if (entry.name === queue) ids.push(entry.id);
  }
  return ids;
}

const alive = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.sequential('two APIs and two workers on one PostgreSQL', () => {
  let apiA: Awaited<ReturnType<typeof startApi>>;
  let apiB: Awaited<ReturnType<typeof startApi>>;
  let w1: Proc;
  let w2: Proc;
  let A: GqlClient;
  let B: GqlClient;
  let tenant: Tenant;
  let sql: pg.Client;
  let boss: PgBoss | undefined;
  const sockets: Client[] = [];

  beforeAll(async () => {
    // All four at once on a database with no admin and no pg-boss schema yet, as replicas start: the
    // first admin and pg-boss's schema and queues are created once, whoever comes first.
    [apiA, apiB, w1, w2] = await Promise.all([startApi('api-a'), startApi('api-b'), startWorkerProcess('worker-1'), startWorkerProcess('worker-2')]);
    A = await remoteApi(apiA.url);
    B = await remoteApi(apiB.url);
    tenant = await createTenant(B, { maxMailboxes: 1000 });
    sql = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await sql.connect();
  }, 120_000);

  afterAll(async () => {
    for (const s of sockets) await s.dispose();
    await boss?.stop({ graceful: false } as never);
    await sql?.end();
    const { closeDb } = await import('../core/src/db.js');
    await closeDb();
    await Promise.all(
      procs.map(async (p) => {
        if (!alive(p)) return;
        p.child.kill('SIGCONT');
        p.child.kill('SIGTERM');
        const stopped = await Promise.race([p.exited.then(() => true), sleep(15_000).then(() => false)]);
        if (!stopped && alive(p)) p.child.kill('SIGKILL');
      }),
    );
    for (const d of folders) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it('runs as four processes with their own pids; the two APIs on their own ports', () => {
    const pids = procs.map((p) => p.child.pid);
    expect(new Set(pids).size).toBe(4);
    expect(apiA.port).not.toBe(apiB.port);
    expect(procs.every(alive)).toBe(true);
  });

  it('started together, they created one first admin and logged no error', async () => {
    expect((await sql.query(`SELECT count(*)::int AS n FROM users WHERE role = 'ADMIN'`)).rows[0].n).toBe(1);
    for (const p of procs) expect(p.output().split('\n').filter((l) => l.includes('"level":"error"')), p.name).toEqual([]);
  });

  it("a subscription on API A sees a mutation made through API B, and a worker's finished job", { timeout: 30_000 }, async () => {
    const mailbox = await createMailbox(B, tenant.token, 'watched', tenant.domain, 'mailbox-pass-1', 100);
    await waitFor(async () => (await A.ok(`query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning } } }`, { id: mailbox.id }, tenant.token)).node.provisioning === 'READY', 'READY');

    const seen: { limitMb: number; usedBytes: number }[] = [];
    const errors: unknown[] = [];
    // A token B issued, used on A: the instances share the signing secret, not a session store.
    const client = createClient({ url: apiA.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tenant.token}` } });
    sockets.push(client);
    client.subscribe(
      { query: `subscription($id:ID!){ mailboxQuota(mailboxId:$id){ limitMb usedBytes } }`, variables: { id: mailbox.id } },
      { next: (v: any) => (v.errors ? errors.push(...v.errors) : seen.push(v.data.mailboxQuota)), error: (e) => errors.push(e), complete: () => {} },
    );
    await waitFor(async () => seen.length >= 1, 'the current value on A');
    expect(seen[0]).toEqual({ limitMb: 100, usedBytes: 0 });

    // A mutation on B: its NOTIFY reaches A's listener.
    const updated = await B.ok(`mutation($id:ID!){ updateMailbox(id:$id, quotaMb:77){ __typename } }`, { id: mailbox.id }, tenant.token);
    expect(updated.updateMailbox.__typename).toBe('MutationUpdateMailboxSuccess');
    await waitFor(async () => seen.some((q) => q.limitMb === 77), 'the new limit on A');

    // A message lands in the Maildir; only a worker can measure it (quota-refresh, asked through B).
    const { mailboxHome, maildirPath } = await import('../core/src/mail-paths.js');
    const newDir = path.join(maildirPath(mailboxHome(process.env.MAIL_ROOT!, tenant.domain, 'watched')), 'new');
    mkdirSync(newDir, { recursive: true });
    writeFileSync(path.join(newDir, '1700000000.M1P1.scale,S=4321'), 'x');
    const asked = await B.ok(`mutation($id:ID!){ recalculateQuota(mailboxId:$id){ __typename } }`, { id: mailbox.id }, tenant.token);
    expect(asked.recalculateQuota.__typename).toBe('MutationRecalculateQuotaSuccess');
    await waitFor(async () => seen.some((q) => q.usedBytes === 4321), "the worker's measurement on A");
    expect(seen.at(-1)).toEqual({ limitMb: 77, usedBytes: 4321 });
    expect(errors).toEqual([]);
    // …measured by one of the two worker processes.
    expect(jobsStarted(w1, 'quota-refresh').length + jobsStarted(w2, 'quota-refresh').length).toBe(1);
  });

  it('N jobs enqueued through both APIs run exactly once each across the two workers', { timeout: 60_000 }, async () => {
    const N = 40;
    const created: string[] = [];
    // Two at a time per API: createMailbox hashes a password (argon2) in the API.
    for (let i = 0; i < N; i += 4) {
      const batch = await Promise.all([0, 1, 2, 3].map((k) => createMailbox(k % 2 ? A : B, tenant.token, `once${i + k}`, tenant.domain)));
      created.push(...batch.map((m) => m.id));
    }
    const ids = created.map((g) => decodeGlobalID(g).id);
    await waitFor(
      async () => (await sql.query(`SELECT count(*)::int AS n FROM mailboxes WHERE id = ANY($1::uuid[]) AND provisioning = 'READY'`, [ids])).rows[0].n === N,
      'every mailbox READY',
      45_000,
    );
    const jobs = await waitFor(async () => {
      const rows = (await sql.query(`SELECT id, state FROM pgboss.job WHERE name = 'provision-mailbox' AND data->>'mailboxId' = ANY($1)`, [ids])).rows;
      return rows.length === N && rows.every((r) => r.state === 'completed') && rows;
    }, 'every job completed');
    const jobIds = new Set(jobs.map((j: { id: string }) => j.id));
    const runs = [...jobsStarted(w1, 'provision-mailbox'), ...jobsStarted(w2, 'provision-mailbox')].filter((id) => jobIds.has(id));
    expect(new Set(runs).size).toBe(N); // every job ran…
    expect(runs).toHaveLength(N); // …once, on one worker
    const split = [jobsStarted(w1, 'provision-mailbox'), jobsStarted(w2, 'provision-mailbox')].map((r) => r.filter((id) => jobIds.has(id)).length);
    console.log(`provisioning jobs per worker: ${split.join(' / ')}`);
  });

  it('200 wrong logins spread over both APIs trip one shared throttle; both answer TooManyAttemptsError', { timeout: 60_000 }, async () => {
    const LOGIN = `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename } }`;
    const answers: { api: 'A' | 'B'; type: string }[] = [];
    // Four in flight (two per API), under each API's cap on concurrent hashes: every refusal is the throttle's.
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < 200) {
          const i = next++;
          const api = i % 2 ? 'B' : 'A';
          const r = await (api === 'A' ? A : B).gql(LOGIN, { e: tenant.email, p: `wrong-password-${i}` });
          answers.push({ api, type: r.data?.login?.__typename ?? JSON.stringify(r.errors) });
        }
      }),
    );
    const count = (type: string, api?: string) => answers.filter((a) => a.type === type && (!api || a.api === api)).length;
    expect(answers).toHaveLength(200);
    // Counted in PostgreSQL: PER_ACCOUNT passwords checked in all (per process it would be 2 × PER_ACCOUNT).
    expect(count('AuthenticationError')).toBe(PER_ACCOUNT);
    expect(count('TooManyAttemptsError')).toBe(200 - PER_ACCOUNT);
    expect(count('TooManyAttemptsError', 'A')).toBeGreaterThan(0);
    expect(count('TooManyAttemptsError', 'B')).toBeGreaterThan(0);
    // Tripped means tripped on both: the next attempt on either instance is refused with the typed error.
    for (const api of [A, B]) {
      const r = await api.gql(`mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename ... on TooManyAttemptsError { retryAfterSeconds } } }`, { e: tenant.email, p: 'wrong-again' });
      expect(r.data.login.__typename).toBe('TooManyAttemptsError');
      expect(r.data.login.retryAfterSeconds).toBeGreaterThan(0);
    }
  });

  it("a worker SIGKILLed while it holds jobs: the other worker finishes them", { timeout: 90_000 }, async () => {
    const { db } = await import('../core/src/db.js');
    const { createBoss, enqueue } = await import('../core/src/jobs.js');
    boss = createBoss(process.env.DATABASE_URL!, { supervise: false });
    await boss.start();
    const domain = await db().domain.findFirstOrThrow({ where: { name: tenant.domain } });
    const jobState = async (mailboxIds: string[]) =>
      (await sql.query<{ id: string; state: string }>(`SELECT id, state FROM pgboss.job WHERE name = 'provision-mailbox' AND data->>'mailboxId' = ANY($1)`, [mailboxIds])).rows;

    // Batches of jobs until worker-1 is caught holding some: stopped (SIGSTOP) right after it entered
    // one, it cannot complete anything, so what is still active among the jobs it entered is held.
    const all: string[] = [];
    let held: string[] = [];
    for (let round = 0; round < 5 && held.length === 0; round++) {
      const ids: string[] = [];
      // Rows and jobs written as createMailbox writes them (one transaction), minus the hashing.
      await db().$transaction(async (tx) => {
        for (let i = 0; i < 100; i++) {
          const m = await tx.mailbox.create({ data: { localPart: `kill${round}x${i}`, domainId: domain.id, address: `kill${round}x${i}@${tenant.domain}`, passwordHash: 'x' } });
          await enqueue(boss!, tx, 'provision-mailbox', { mailboxId: m.id });
          ids.push(m.id);
        }
      });
      all.push(...ids);
      const jobIds = new Set((await jobState(ids)).map((j) => j.id));
      const entered = await waitFor(async () => jobsStarted(w1, 'provision-mailbox').some((id) => jobIds.has(id)) || (await jobState(ids)).every((j) => j.state === 'completed'), 'worker-1 to take a job', 20_000);
      if (!entered) continue;
      w1.child.kill('SIGSTOP');
      await sleep(500); // anything worker-1 sent before it stopped has reached PostgreSQL
      const active = new Set((await jobState(ids)).filter((j) => j.state === 'active').map((j) => j.id));
      held = jobsStarted(w1, 'provision-mailbox').filter((id) => active.has(id));
      if (held.length === 0) w1.child.kill('SIGCONT');
    }
    expect(held.length, 'worker-1 was never caught holding a job').toBeGreaterThan(0);
    w1.child.kill('SIGKILL');
    await w1.exited;

    // pg-boss notices the missed heartbeat (10 s, checked every 10 s: core/src/jobs.ts) and retries the job on worker-2.
    await waitFor(async () => (await jobState(all)).every((j) => j.state === 'completed'), 'every job completed', 45_000);
    const ranOn2 = new Set(jobsStarted(w2, 'provision-mailbox'));
    expect(held.filter((id) => !ranOn2.has(id))).toEqual([]);
    const ready = (await sql.query(`SELECT count(*)::int AS n FROM mailboxes WHERE id = ANY($1::uuid[]) AND provisioning = 'READY'`, [all])).rows[0].n;
    expect(ready).toBe(all.length);
    const heldMailboxes = (await sql.query(`SELECT m.local_part AS "localPart" FROM pgboss.job j JOIN mailboxes m ON m.id::text = j.data->>'mailboxId' WHERE j.id = ANY($1::uuid[])`, [held])).rows;
    for (const { localPart } of heldMailboxes) expect(existsSync(path.join(process.env.MAIL_ROOT!, tenant.domain, localPart, 'Maildir', 'new'))).toBe(true);
    expect(alive(w2)).toBe(true);
    console.log(`worker-1 killed holding ${held.length} job(s); worker-2 finished them`);
  });
});

