// A worker killed with SIGKILL in the middle of provisioning: after a new worker starts, every job
// finishes, each exactly once in the queue's books, and every mailbox ends READY with its Maildir.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, createTenant } from './harness.js';

const N = 300;

function startWorker(): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'scripts/worker.ts'], { env: { ...process.env, LOG_LEVEL: 'error' }, stdio: ['ignore', 'inherit', 'inherit'] });
}

it('SIGKILL during provisioning: a new worker finishes every job exactly once', { timeout: 120_000 }, async () => {
  const t = await startTestApp(); // API only; the workers are separate processes
  const tenant = await createTenant(t);
  const { db } = await import('../core/src/db.js');
  const { enqueue } = await import('../core/src/jobs.js');
  const domain = await db().domain.findFirstOrThrow({ where: { name: tenant.domain } });
  // Rows and jobs written exactly as createMailbox writes them (one transaction each), minus the hashing.
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    ids.push(
      await db().$transaction(async (tx) => {
        const m = await tx.mailbox.create({ data: { localPart: `k${i}`, domainId: domain.id, address: `k${i}@${tenant.domain}`, passwordHash: 'x' } });
        await enqueue(t.app.boss, tx, 'provision-mailbox', { mailboxId: m.id });
        return m.id;
      }),
    );
  }
  const ready = () => db().mailbox.count({ where: { domainId: domain.id, provisioning: 'READY' } });

  const first = startWorker();
  while ((await ready()) < 10) await new Promise((r) => setTimeout(r, 5));
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const atKill = await ready();
  expect(atKill).toBeLessThan(N); // killed mid-way, with work left

  const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  const jobStates = async () =>
    (await c.query(`SELECT data->>'mailboxId' AS id, state FROM pgboss.job WHERE name = 'provision-mailbox' AND data->>'mailboxId' = ANY($1)`, [ids])).rows;
  // A job the killed worker held is taken again once its heartbeat is missed (10 s, checked every 10 s).
  const second = startWorker();
  try {
    const deadline = Date.now() + 90_000;
    while ((await ready()) < N || (await jobStates()).some((j) => j.state !== 'completed')) {
      expect(Date.now(), `only ${await ready()} of ${N} READY`).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }
  const jobs = await jobStates();
  await c.end();
  expect(jobs).toHaveLength(N);
  expect(new Set(jobs.map((j) => j.id)).size).toBe(N);
  expect(jobs.filter((j) => j.state !== 'completed')).toEqual([]);
  for (let i = 0; i < N; i += 37) expect(existsSync(path.join(process.env.MAIL_ROOT!, tenant.domain, `k${i}`, 'Maildir', 'new'))).toBe(true);
});
