// Starts the real mail stack (Dovecot + Postfix from Debian packages) for a test, from the configs
// rendered by core/src/render/mailstack-config.ts, against a PostgreSQL the caller runs.
//
//   const ms = await startMailstack({ databaseUrl });   // superuser URL of the mail database
//   ... IMAP on ms.ports.imap, MX on ms.ports.smtp, submission on ms.ports.submission,
//       relayed mail in ms.sink.messages, homes at ms.home(email) ...
//   await ms.stop();                                     // always (also stops on a failed start)
//
// Needs root (chown to vmail/postfix, daemons that drop privileges) and the packages from
// deploy/install-debian.sh. Everything lives in a fresh temporary folder, mailstack-<run id>-*
// (MAILSTACK_RUN_ID from run.sh: its leftover check counts only its own run's daemons; kept when the
// environment has MAILSTACK_KEEP=1, for reading the logs); daemons are stopped by their own stop
// commands and then by pid, never by name.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  renderReadonlyRoleSql,
  type MailstackPorts,
  type MailstackSettings,
} from '../../core/src/render/mailstack-config.js';
import { renderMailstackFiles } from '../../deploy/render.js';
import { startCaptureSink, type CaptureSink } from './capture-sink.js';

export interface StartMailstackOptions {
  /** URL of the mail database for a role that may CREATE ROLE and GRANT on the views
   *  (superuser or the views' owner); used once to create the read-only role. */
  databaseUrl: string;
  /** Read-only role Postfix and Dovecot use. Default "mail_reader". */
  readonlyRole?: string;
  /** Its password; default random (hex). */
  readonlyPassword?: string;
  hostname?: string;
  postmasterAddress?: string;
  /** Test profile (auth_failure_delay 0, vacation min period 0, no DNS). Default true. */
  testProfile?: boolean;
  /** Postfix milter (rspamd), empty by default. */
  milter?: string;
  /** Postfix policy service for outbound rate limits (inet:HOST:PORT), empty by default. */
  policyService?: string;
  /** Dovecot's auth-policy reports to the panel (app passwords' last use); none by default. */
  authPolicy?: { url: string; secret: string };
  /** Keep the temporary folder after stop(). Default: MAILSTACK_KEEP=1 in the environment. */
  keepDir?: boolean;
  /** Parent of the temporary folder. Default os.tmpdir(). */
  tmpParent?: string;
  /** The run this stack belongs to: its folder is mailstack-<runId>-*, which is how run.sh tells its
   *  own leftover daemons from another run's. Default MAILSTACK_RUN_ID, else "adhoc". */
  runId?: string;
  /** How long to wait for the daemons' ports. Default 30 s. */
  startTimeoutMs?: number;
  vmailUid?: number;
  vmailGid?: number;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Mailstack {
  /** The temporary folder holding everything below. */
  dir: string;
  settings: MailstackSettings;
  ports: Required<{ [K in keyof MailstackPorts]: number }>;
  paths: {
    configDir: string;
    dovecotConf: string;
    postfixConfigDir: string;
    mailRoot: string;
    logDir: string;
  };
  /** The panel's settings that point its worker at this stack: where Maildirs live, whose files they
   *  are, the Dovecot configuration doveadm and sievec read, and the Postfix whose queue it cleans. */
  panelEnv: { MAIL_ROOT: string; MAIL_UID: string; MAIL_GID: string; DOVECOT_CONFIG: string; POSTFIX_CONFIG_DIR: string };
  logs: { dovecot: string; postfix: string; sink: string };
  sink: CaptureSink;
  db: { role: string; password: string; host: string; port: number; dbname: string };
  /** <mailRoot>/<domain>/<local part> */
  home(email: string): string;
  /** <home>/Maildir */
  maildir(email: string): string;
  /** Files in a Maildir subfolder ('new' by default; folder '' = INBOX, '.Sent' …). */
  listMaildir(email: string, sub?: 'new' | 'cur' | 'tmp', folder?: string): Promise<string[]>;
  /** Polls until the Maildir subfolder holds at least `count` files; returns them. */
  waitForMaildir(email: string, count: number, opts?: { timeoutMs?: number; sub?: 'new' | 'cur'; folder?: string }): Promise<string[]>;
  /** Polls a log file until `re` matches a line written after `since` (a byte offset, default 0). */
  waitForLog(which: 'dovecot' | 'postfix', re: RegExp, opts?: { timeoutMs?: number; since?: number }): Promise<string>;
  /** Current size of a log (pass to waitForLog's `since`). */
  logSize(which: 'dovecot' | 'postfix'): Promise<number>;
  /** doveadm -c <conf> ...args; rejects on a non-zero exit. */
  doveadm(...args: string[]): Promise<CommandResult>;
  /** postfix -c <dir> ...args; rejects on a non-zero exit. */
  postfix(...args: string[]): Promise<CommandResult>;
  /** postmap -c <dir> -q key pgsql:<dir>/<mapFile>; resolves the value or null when not found. */
  postmapQuery(mapFile: string, key: string): Promise<string | null>;
  /** Runs any command, never rejects on exit code. */
  run(cmd: string, args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** Fault tests: stops one daemon by the pid recorded when it started (SIGTERM to its master);
   *  resolves when the master is gone and its ports refuse connections. */
  stopDaemon(name: DaemonName): Promise<void>;
  /** Starts a stopped daemon again with the same configuration; resolves when its ports answer. */
  startDaemon(name: DaemonName): Promise<void>;
  /** The running master's pid, or null when it is not running. */
  daemonPid(name: DaemonName): number | null;
  /** Stops every daemon it started (own stop command, then by pid), closes the sink, removes the
   *  folder unless kept. Safe to call twice. */
  stop(): Promise<void>;
}

export type DaemonName = 'dovecot' | 'postfix';

// --- process helpers ------------------------------------------------------------------------

export function runCommand(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 60000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
        if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
        // spawn failure (ENOENT …) or killed by the timeout / a signal
        resolve({ code: 127, stdout, stderr: `${stderr}${e.message}` });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

async function mustRun(cmd: string, args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<CommandResult> {
  const r = await runCommand(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  }
  return r;
}

/**
 * Runs a command that daemonizes (dovecot, postfix start). Its output goes to `logFile`, not to
 * pipes: the daemon inherits the descriptors, so waiting for pipes to close (what execFile does)
 * would wait for the daemon's whole life. Resolves when the foreground process exits.
 */
function startDaemon(cmd: string, args: string[], logFile: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const t = setTimeout(() => {
      reject(new Error(`${cmd} ${args.join(' ')} did not return within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      if (code === 0) resolve();
      else readFile(logFile, 'utf8').then(
        (out) => reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}:\n${out.split('\n').slice(-30).join('\n')}`)),
        () => reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}`)),
      );
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPid(file: string): Promise<number | null> {
  try {
    const n = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(n) && n > 1 ? n : null;
  } catch {
    return null;
  }
}

async function waitPidGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(50);
  }
  return !pidAlive(pid);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** The kernel's range for outgoing connections' local ports: a port in it that is free now can be
 *  taken by any client socket before a daemon binds it (seen in CI: postfix "Address already in use"). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    /* not Linux: use the common default */
  }
  return [32768, 60999];
}

/** `n` distinct free loopback ports, chosen at random in 10000..59999 outside the ephemeral range. */
export async function pickFreePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  const [lo, hi] = ephemeralRange();
  for (let tries = 0; out.size < n; tries++) {
    if (tries > 1000) throw new Error('could not find free ports');
    const p = 10000 + Math.floor(Math.random() * 50000);
    if (p >= lo && p <= hi) continue;
    if (!out.has(p) && (await portIsFree(p))) out.add(p);
  }
  return [...out];
}

async function waitForPorts(ports: { name: string; port: number }[], timeoutMs: number, alive: () => string | null) {
  const deadline = Date.now() + timeoutMs;
  for (const { name, port } of ports) {
    for (;;) {
      if (await canConnect(port)) break;
      const dead = alive();
      if (dead) throw new Error(`${dead} exited before ${name} (port ${port}) was ready`);
      if (Date.now() > deadline) throw new Error(`${name} (port ${port}) not ready after ${timeoutMs} ms`);
      await sleep(50);
    }
  }
}

async function tail(file: string, lines = 40): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function idOf(name: string, flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
}

// --- the harness ----------------------------------------------------------------------------

export async function startMailstack(opts: StartMailstackOptions): Promise<Mailstack> {
  if (process.getuid?.() !== 0) throw new Error('startMailstack needs root (chown to vmail/postfix, privileged daemons)');
  for (const bin of ['/usr/sbin/dovecot', '/usr/bin/doveadm', '/usr/sbin/postfix']) {
    if (!existsSync(bin)) throw new Error(`${bin} missing: run bash deploy/install-debian.sh`);
  }

  const keep = opts.keepDir ?? process.env.MAILSTACK_KEEP === '1';
  const runId = opts.runId ?? process.env.MAILSTACK_RUN_ID ?? 'adhoc';
  if (!/^[a-z0-9]{1,40}$/i.test(runId)) throw new Error(`run id must be 1..40 letters and digits (got ${JSON.stringify(runId)})`);
  const dir = await mkdtemp(path.join(opts.tmpParent ?? os.tmpdir(), `mailstack-${runId}-`));
  // mkdtemp makes 0700: vmail, postfix and dovecot must be able to traverse it.
  await chmod(dir, 0o755);

  const configDir = path.join(dir, 'etc');
  const runtimeDir = path.join(dir, 'run');
  const logDir = path.join(dir, 'log');
  const mailRoot = path.join(dir, 'vmail');
  const queueDir = path.join(dir, 'postfix', 'spool');
  const dataDir = path.join(dir, 'postfix', 'data');
  const dovecotConf = path.join(configDir, 'dovecot', 'dovecot.conf');
  const postfixConfigDir = path.join(configDir, 'postfix');
  const logs = { dovecot: path.join(logDir, 'dovecot.log'), postfix: path.join(logDir, 'postfix.log'), sink: path.join(logDir, 'sink.log') };

  const uid = opts.vmailUid ?? idOf('vmail', '-u');
  const gid = opts.vmailGid ?? idOf('vmail', '-g');
  const postfixUid = idOf('postfix', '-u');
  const postfixGid = idOf('postfix', '-g');

  let sink: CaptureSink | null = null;
  let dovecotPid: number | null = null;
  let postfixPid: number | null = null;
  let stopped = false;

  const onExit = () => {
    for (const pid of [postfixPid, dovecotPid]) {
      if (pid !== null && !stopped) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
    }
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    const problems: string[] = [];
    // Postfix first (it delivers into Dovecot), then Dovecot.
    const pfPid = postfixPid ?? (await readPid(path.join(queueDir, 'pid', 'master.pid')));
    if (pfPid !== null && pidAlive(pfPid)) {
      await runCommand('/usr/sbin/postfix', ['-c', postfixConfigDir, 'stop'], { timeoutMs: 20000 });
      if (!(await waitPidGone(pfPid, 10000))) {
        problems.push(`postfix master ${pfPid} ignored "postfix stop"; killing it`);
        try {
          process.kill(pfPid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    const dvPid = dovecotPid ?? (await readPid(path.join(runtimeDir, 'dovecot', 'master.pid')));
    if (dvPid !== null && pidAlive(dvPid)) {
      await runCommand('/usr/bin/doveadm', ['-c', dovecotConf, 'stop'], { timeoutMs: 20000 });
      if (!(await waitPidGone(dvPid, 10000))) {
        problems.push(`dovecot master ${dvPid} ignored "doveadm stop"; killing it`);
        try {
          process.kill(dvPid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    if (sink) await sink.close();
    if (!keep) await rm(dir, { recursive: true, force: true });
    else console.error(`mailstack: kept ${dir}`);
    if (problems.length) console.error(`mailstack stop: ${problems.join('; ')}`);
  };

  try {
    for (const d of [configDir, runtimeDir, logDir, mailRoot, queueDir, dataDir, path.join(runtimeDir, 'dovecot-state')]) {
      await mkdir(d, { recursive: true, mode: 0o755 });
    }
    await chown(mailRoot, uid, gid);
    await chmod(mailRoot, 0o750);
    await chown(dataDir, postfixUid, postfixGid);

    // Read-only role in the caller's PostgreSQL.
    const url = new URL(opts.databaseUrl);
    const dbHost = url.hostname === 'localhost' || url.hostname === '' ? '127.0.0.1' : url.hostname;
    const dbPort = url.port ? Number(url.port) : 5432;
    const dbname = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
    const role = opts.readonlyRole ?? 'mail_reader';
    const password = opts.readonlyPassword ?? randomBytes(18).toString('hex');
    const client = new pg.Client({ connectionString: opts.databaseUrl });
    await client.connect();
    try {
      await client.query(renderReadonlyRoleSql(role, password));
    } finally {
      await client.end();
    }

    const [imap, lmtp, saslAuth, smtp, submission, reinject, relay] = await pickFreePorts(7);
    sink = await startCaptureSink({ port: relay!, logFile: logs.sink });
    const ports = { imap: imap!, lmtp: lmtp!, saslAuth: saslAuth!, smtp: smtp!, submission: submission!, reinject: reinject!, relay: sink.port };

    const settings: MailstackSettings = {
      paths: { configDir, runtimeDir, logDir, mailRoot, postfixQueueDir: queueDir, postfixDataDir: dataDir },
      ports,
      database: { host: dbHost, port: dbPort, dbname, user: role, password },
      vmail: { uid, gid },
      hostname: opts.hostname ?? 'mx.mailstack.test',
      postmasterAddress: opts.postmasterAddress ?? 'postmaster@mailstack.test',
      instanceName: `ms-${path.basename(dir).slice(`mailstack-${runId}-`.length).toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 32),
      milter: opts.milter ?? '',
      policyService: opts.policyService ?? '',
      ...(opts.authPolicy ? { authPolicy: opts.authPolicy } : {}),
      flags: { testProfile: opts.testProfile ?? true },
    };

    // Config files: 0640, group of the daemon that reads them (they hold the role's password).
    const files = await renderMailstackFiles(settings);
    for (const [rel, content] of Object.entries(files)) {
      const abs = path.join(configDir, rel);
      await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
      await writeFile(abs, content, { mode: 0o640 });
      await chmod(abs, 0o640);
      if (rel.startsWith('postfix/pgsql-')) await chown(abs, 0, postfixGid);
      else if (rel.startsWith('postfix/')) await chmod(abs, 0o644);
      else if (rel.endsWith('.sieve')) await chmod(abs, 0o644); // read by LMTP as vmail (sieve_before)
    }
    // Global Sieve scripts compiled in advance: LMTP (as vmail) may not write beside them.
    for (const rel of Object.keys(files).filter((f) => f.endsWith('.sieve'))) {
      const abs = path.join(configDir, rel);
      const bin = abs.replace(/\.sieve$/, '.svbin');
      await mustRun('/usr/bin/sievec', ['-c', dovecotConf, abs, bin]);
      await chmod(bin, 0o644);
    }

    // Dovecot
    const timeout = opts.startTimeoutMs ?? 30000;
    const dovecotPorts = [
      { name: 'dovecot imap', port: ports.imap },
      { name: 'dovecot lmtp', port: ports.lmtp },
      { name: 'dovecot auth (SASL)', port: ports.saslAuth },
    ];
    const postfixPorts = [
      { name: 'postfix mx', port: ports.smtp },
      { name: 'postfix submission', port: ports.submission },
      { name: 'postfix reinject', port: ports.reinject },
    ];
    // After a stop, master.pid may still name the old master until the new one writes it.
    const livePid = async (file: string) => {
      const deadline = Date.now() + timeout;
      for (;;) {
        const pid = await readPid(file);
        if ((pid !== null && pidAlive(pid)) || Date.now() > deadline) return pid;
        await sleep(20);
      }
    };
    const launchDovecot = async () => {
      await startDaemon('/usr/sbin/dovecot', ['-c', dovecotConf], path.join(logDir, 'dovecot-start.log'), timeout);
      dovecotPid = await livePid(path.join(runtimeDir, 'dovecot', 'master.pid'));
      await waitForPorts(dovecotPorts, timeout, () => (dovecotPid !== null && !pidAlive(dovecotPid) ? 'dovecot' : null));
    };
    const launchPostfix = async () => {
      await startDaemon('/usr/sbin/postfix', ['-c', postfixConfigDir, 'start'], path.join(logDir, 'postfix-start.log'), timeout);
      postfixPid = await livePid(path.join(queueDir, 'pid', 'master.pid'));
      await waitForPorts(postfixPorts, timeout, () => (postfixPid !== null && !pidAlive(postfixPid) ? 'postfix' : null));
    };
    await launchDovecot();

    // Last resort if the test process exits without calling stop(): SIGTERM the masters by pid
    // (both stop their children on SIGTERM).
    process.once('exit', onExit);

    // Postfix
    await launchPostfix();

    // Fault tests: one daemon down and back. Stopped by the pid recorded at its start (SIGTERM to
    // its master, which stops its children), never by name; stopped means the master is gone and
    // none of its ports accepts a connection.
    const daemons = {
      dovecot: { pid: () => dovecotPid, ports: dovecotPorts, launch: launchDovecot },
      postfix: { pid: () => postfixPid, ports: postfixPorts, launch: launchPostfix },
    };
    const stopDaemonByPid = async (name: DaemonName) => {
      const d = daemons[name];
      const pid = d.pid();
      if (pid === null) throw new Error(`${name}: no recorded pid`);
      if (pidAlive(pid)) {
        process.kill(pid, 'SIGTERM');
        if (!(await waitPidGone(pid, 15000))) throw new Error(`${name} master ${pid} still running 15 s after SIGTERM`);
      }
      const deadline = Date.now() + 15000;
      for (const { name: what, port } of d.ports) {
        while (await canConnect(port)) {
          if (Date.now() > deadline) throw new Error(`${what} (port ${port}) still accepts connections after ${name} stopped`);
          await sleep(50);
        }
      }
    };
    const startDaemonAgain = async (name: DaemonName) => {
      if (stopped) throw new Error('the mail stack was stopped');
      const pid = daemons[name].pid();
      if (pid !== null && pidAlive(pid)) throw new Error(`${name} is running (pid ${pid})`);
      await daemons[name].launch();
    };

    const splitEmail = (email: string) => {
      const at = email.lastIndexOf('@');
      const local = email.slice(0, at);
      const domain = email.slice(at + 1);
      if (at < 1 || !domain || local.includes('/') || domain.includes('/') || local.startsWith('.') || domain.startsWith('.')) {
        throw new Error(`not a usable address: ${email}`);
      }
      return { local: local.toLowerCase(), domain: domain.toLowerCase() };
    };
    const home = (email: string) => {
      const { local, domain } = splitEmail(email);
      return path.join(mailRoot, domain, local);
    };
    const maildir = (email: string) => path.join(home(email), 'Maildir');
    const listMaildir = async (email: string, sub: 'new' | 'cur' | 'tmp' = 'new', folder = '') => {
      try {
        return (await readdir(path.join(maildir(email), folder, sub))).sort();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    };
    const logSize = async (which: 'dovecot' | 'postfix') => {
      try {
        return (await readFile(logs[which])).length;
      } catch {
        return 0;
      }
    };

    const ms: Mailstack = {
      dir,
      settings,
      ports,
      paths: { configDir, dovecotConf, postfixConfigDir, mailRoot, logDir },
      panelEnv: { MAIL_ROOT: mailRoot, MAIL_UID: String(settings.vmail.uid), MAIL_GID: String(settings.vmail.gid), DOVECOT_CONFIG: dovecotConf, POSTFIX_CONFIG_DIR: postfixConfigDir },
      logs,
      sink,
      db: { role, password, host: dbHost, port: dbPort, dbname },
      home,
      maildir,
      listMaildir,
      async waitForMaildir(email, count, o = {}) {
        const deadline = Date.now() + (o.timeoutMs ?? 20000);
        for (;;) {
          const files = await listMaildir(email, o.sub ?? 'new', o.folder ?? '');
          if (files.length >= count) return files;
          if (Date.now() > deadline) {
            throw new Error(`${email}: ${files.length} of ${count} messages in Maildir after ${o.timeoutMs ?? 20000} ms\n--- postfix.log\n${await tail(logs.postfix, 15)}\n--- dovecot.log\n${await tail(logs.dovecot, 15)}`);
          }
          await sleep(50);
        }
      },
      logSize,
      async waitForLog(which, re, o = {}) {
        const deadline = Date.now() + (o.timeoutMs ?? 20000);
        for (;;) {
          let text = '';
          try {
            text = (await readFile(logs[which])).subarray(o.since ?? 0).toString('utf8');
          } catch {
            /* not yet */
          }
          const line = text.split('\n').find((l) => re.test(l));
          if (line !== undefined) return line;
          if (Date.now() > deadline) throw new Error(`${which}.log: no line matching ${re} within ${o.timeoutMs ?? 20000} ms\n${await tail(logs[which], 20)}`);
          await sleep(50);
        }
      },
      doveadm: (...args) => mustRun('/usr/bin/doveadm', ['-c', dovecotConf, ...args]),
      postfix: (...args) => mustRun('/usr/sbin/postfix', ['-c', postfixConfigDir, ...args]),
      async postmapQuery(mapFile, key) {
        const r = await runCommand('/usr/sbin/postmap', ['-c', postfixConfigDir, '-q', key, `pgsql:${path.join(postfixConfigDir, mapFile)}`]);
        if (r.code === 1 && r.stderr.trim() === '') return null;
        if (r.code !== 0) throw new Error(`postmap -q ${key} ${mapFile} exited ${r.code}: ${r.stderr}`);
        return r.stdout.trim();
      },
      run: runCommand,
      stopDaemon: stopDaemonByPid,
      startDaemon: startDaemonAgain,
      daemonPid: (name) => {
        const pid = daemons[name].pid();
        return pid !== null && pidAlive(pid) ? pid : null;
      },
      stop,
    };
    return ms;
  } catch (e) {
    const detail = `\n--- dovecot.log\n${await tail(logs.dovecot)}\n--- postfix.log\n${await tail(logs.postfix)}`;
    await stop().catch(() => {});
    if (e instanceof Error) e.message += detail;
    throw e;
  }
}
