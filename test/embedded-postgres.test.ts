// The zero-setup database survives what a killed `npm start` leaves behind: a node process killed with
// SIGKILL leaves its PostgreSQL running with a postmaster.pid; the next start must still work.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import pg from 'pg';
import { processAlive as alive, startEmbeddedPostgres } from '../core/src/embedded-postgres.js';

const root = mkdtempSync(path.join(tmpdir(), 'mailpanel-stale-'));
chmodSync(root, 0o755);
const dir = path.join(root, 'pg');
afterAll(() => rmSync(root, { recursive: true, force: true }));


it('starts again after the owning process was killed with SIGKILL', { timeout: 60_000 }, async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const script = `
    const { startEmbeddedPostgres } = await import(${JSON.stringify(path.resolve('core/src/embedded-postgres.ts'))});
    await startEmbeddedPostgres({ dir: ${JSON.stringify(dir)}, port: ${port} });
    console.log('ready');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const leftover = Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  expect(alive(leftover)).toBe(true);

  const db = await startEmbeddedPostgres({ dir, port });
  try {
    expect(alive(leftover)).toBe(false);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await client.end();
  } finally {
    await db.stop();
  }
  expect(existsSync(path.join(dir, 'postmaster.pid'))).toBe(false);
});

it('stop() while the supervisor is bringing a killed postmaster back leaves nothing running', { timeout: 60_000 }, async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const db = await startEmbeddedPostgres({ dir, port });
  const killed = db.pid()!;
  process.kill(killed, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await db.stop();
  expect(Date.now() - t0).toBeLessThan(5000);
  // Nothing comes back after stop(): no postmaster, no pid file, the port free.
  await new Promise((r) => setTimeout(r, 1500));
  expect(alive(killed)).toBe(false);
  const pidFile = path.join(dir, 'postmaster.pid'); // the killed one's is left; the next start clears it
  if (existsSync(pidFile)) expect(alive(Number(readFileSync(pidFile, 'utf8').split('\n')[0]))).toBe(false);
  const client = new pg.Client({ connectionString: db.url, connectionTimeoutMillis: 1000 });
  await expect(client.connect()).rejects.toThrow();
});
