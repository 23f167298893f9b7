// Starts rspamd (milter, normal and controller workers) and the Redis beside it for a test, from the
// configuration rendered by core/src/render/rspamd.ts (deploy/templates/rspamd), on loopback ports.
//
//   const rs = await startRspamd({ mapsDir, dkimDir });   // the folders the panel's worker writes
//   await startMailstack({ ..., milter: rs.milter });      // Postfix → rspamd
//   ... rs.check({ rcpt, from, ip, user, message }) asks the scanner directly (/checkv2) ...
//   await rs.stop();                                      // always (also stops on a failed start)
//
// Nothing leaves the machine: rspamd's resolver is 127.0.0.1:53 (nothing listens there) and the
// modules that call out (fuzzy, RBLs, ASN, phishing, URL redirectors, MX checks) are off. Both daemons
// run in the foreground as children of this process and are stopped by their pid, never by name.
// The hyperscan cache lives in a folder kept between runs (RSPAMD_HS_CACHE, default
// /var/tmp/mailpanel-rspamd-hs): rspamd compiles its regexps once (~10-30 s) instead of every run.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { renderRspamdFiles } from '../../deploy/render-rspamd.js';
import { pickFreePorts, runCommand, type CommandResult } from './harness.js';

export interface StartRspamdOptions {
  /** Where the panel's worker writes settings.ucl and dkim_selectors.map (RSPAMD_MAPS_DIR). */
  mapsDir: string;
  /** Where it writes the DKIM key files (DKIM_DIR). */
  dkimDir: string;
  /** Greylisting delay; default 2 s (production: 300 s). */
  greylistDelaySeconds?: number;
  /** Map re-read interval; default 1 s (production: 5 s). */
  mapWatchSeconds?: number;
  keepDir?: boolean;
  startTimeoutMs?: number;
}

export interface CheckResult {
  action: string;
  score: number;
  required_score: number;
  symbols: Record<string, { score: number; options?: string[] }>;
  milter?: { add_headers?: Record<string, { value: string } | string>; remove_headers?: Record<string, number> };
  'dkim-signature'?: string | string[];
  messages?: Record<string, string>;
}

export interface Rspamd {
  dir: string;
  ports: { normal: number; controller: number; proxy: number; redis: number };
  /** Postfix's smtpd_milters value. */
  milter: string;
  logFile: string;
  pids(): number[];
  /** `rspamadm configtest` of the running configuration. */
  configtest(): Promise<CommandResult>;
  /** Scans a message over the normal worker's HTTP API (what the milter asks, without Postfix). */
  check(msg: { message: string; rcpt: string[]; from: string; ip?: string; user?: string }): Promise<CheckResult>;
  logSize(): Promise<number>;
  /** Stops rspamd (not Redis) by its pid, as an outage; resume() starts it again on the same configuration. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function idOf(name: string, flag: '-u' | '-g'): Promise<number> {
  return runCommand('id', [flag, name]).then((r) => {
    if (r.code !== 0) throw new Error(`no user/group ${name}: run deploy/install-debian.sh`);
    return Number(r.stdout.trim());
  });
}

async function waitHttp(url: string, deadline: number, alive: () => boolean): Promise<void> {
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    if (!alive()) throw new Error(`exited before ${url} answered`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer in time`);
    await sleep(100);
  }
}

function startChild(cmd: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

async function stopChild(child: ChildProcess | null, name: string, problems: string[]): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const t = setTimeout(() => {
    problems.push(`${name} (${child.pid}) ignored SIGTERM; killing it`);
    child.kill('SIGKILL');
  }, 15000);
  await gone;
  clearTimeout(t);
}

export async function startRspamd(opts: StartRspamdOptions): Promise<Rspamd> {
  if (process.getuid?.() !== 0) throw new Error('startRspamd needs root (rspamd drops to _rspamd, redis to redis)');
  for (const bin of ['/usr/bin/rspamd', '/usr/bin/rspamadm', '/usr/bin/redis-server', '/usr/bin/setpriv']) {
    if (!existsSync(bin)) throw new Error(`${bin} missing: run bash deploy/install-debian.sh`);
  }
  const keep = opts.keepDir ?? process.env.MAILSTACK_KEEP === '1';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rspamd-'));
  await chmod(dir, 0o755);
  const confDir = path.join(dir, 'etc');
  const dbDir = path.join(dir, 'db');
  const runDir = path.join(dir, 'run');
  const logDir = path.join(dir, 'log');
  const redisDir = path.join(dir, 'redis');
  const logFile = path.join(logDir, 'rspamd.log');
  const hsCacheDir = process.env.RSPAMD_HS_CACHE ?? '/var/tmp/mailpanel-rspamd-hs';
  const [rspamdUid, rspamdGid, redisUid, redisGid] = await Promise.all([idOf('_rspamd', '-u'), idOf('_rspamd', '-g'), idOf('redis', '-u'), idOf('redis', '-g')]);
  const vars = [`--var=LOCAL_CONFDIR=${confDir}`, `--var=DBDIR=${dbDir}`, `--var=RUNDIR=${runDir}`, `--var=LOGDIR=${logDir}`];

  let redis: ChildProcess | null = null;
  let rspamd: ChildProcess | null = null;
  let stopped = false;
  const onExit = () => {
    for (const c of [rspamd, redis]) if (c && c.exitCode === null) c.kill('SIGTERM');
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    const problems: string[] = [];
    await stopChild(rspamd, 'rspamd', problems);
    await stopChild(redis, 'redis', problems);
    if (!keep) await rm(dir, { recursive: true, force: true });
    else console.error(`rspamd: kept ${dir}`);
    if (problems.length) console.error(`rspamd stop: ${problems.join('; ')}`);
  };

  try {
    for (const d of [confDir, dbDir, runDir, logDir, redisDir, opts.mapsDir, hsCacheDir]) await mkdir(d, { recursive: true, mode: 0o755 });
    for (const d of [dbDir, runDir, logDir, hsCacheDir]) await chown(d, rspamdUid, rspamdGid);
    await chown(redisDir, redisUid, redisGid);
    // Until the worker's first sync: maps rspamd can read (it also re-reads them once they appear).
    for (const f of ['settings.ucl', 'dkim_selectors.map']) {
      const p = path.join(opts.mapsDir, f);
      if (!existsSync(p)) await writeFile(p, '', { mode: 0o644 });
    }

    const [normal, controller, proxy, redisPort] = await pickFreePorts(4);
    const files = await renderRspamdFiles({
      mapsDir: opts.mapsDir,
      dkimDir: opts.dkimDir,
      logFile,
      hsCacheDir,
      ports: { normal: normal!, controller: controller!, proxy: proxy! },
      redis: { host: '127.0.0.1', port: redisPort! },
      mapWatchSeconds: opts.mapWatchSeconds ?? 1,
      greylistDelaySeconds: opts.greylistDelaySeconds ?? 2,
      // Every test message comes from 127.0.0.1, which rspamd exempts from greylisting otherwise.
      greylistLocal: true,
    });
    for (const [rel, content] of Object.entries(files)) {
      const abs = path.join(confDir, rel);
      await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
      await writeFile(abs, content, { mode: 0o644 });
    }

    const timeout = opts.startTimeoutMs ?? 120000;
    const deadline = Date.now() + timeout;
    redis = startChild(
      '/usr/bin/setpriv',
      [`--reuid=${redisUid}`, `--regid=${redisGid}`, '--init-groups', '/usr/bin/redis-server', '--bind', '127.0.0.1', '--port', String(redisPort), '--dir', redisDir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', path.join(redisDir, 'redis.log')],
      path.join(logDir, 'redis-start.log'),
    );
    process.once('exit', onExit);
    const launch = async (deadline: number) => {
      rspamd = startChild('/usr/bin/rspamd', ['-f', '-c', '/etc/rspamd/rspamd.conf', '-u', '_rspamd', '-g', '_rspamd', ...vars], path.join(logDir, 'rspamd-start.log'));
      const alive = () => rspamd !== null && rspamd.exitCode === null && rspamd.signalCode === null;
      await waitHttp(`http://127.0.0.1:${normal}/ping`, deadline, alive);
      await waitHttp(`http://127.0.0.1:${controller}/ping`, deadline, alive);
    };
    await launch(deadline);

    const rs: Rspamd = {
      dir,
      ports: { normal: normal!, controller: controller!, proxy: proxy!, redis: redisPort! },
      milter: `inet:127.0.0.1:${proxy}`,
      logFile,
      pids: () => [rspamd?.pid, redis?.pid].filter((p): p is number => typeof p === 'number'),
      configtest: () => runCommand('/usr/bin/rspamadm', [...vars, 'configtest', '-c', '/etc/rspamd/rspamd.conf']),
      async pause() {
        const problems: string[] = [];
        await stopChild(rspamd, 'rspamd', problems);
        if (problems.length) throw new Error(problems.join('; '));
      },
      resume: () => launch(Date.now() + timeout),
      async check(msg) {
        const headers: Record<string, string> = { From: msg.from, IP: msg.ip ?? '127.0.0.1', Pass: 'all' };
        const h = new Headers(headers);
        for (const r of msg.rcpt) h.append('Rcpt', r);
        if (msg.user) h.set('User', msg.user);
        const res = await fetch(`http://127.0.0.1:${normal}/checkv2`, { method: 'POST', headers: h, body: msg.message });
        if (!res.ok) throw new Error(`rspamd /checkv2: ${res.status} ${await res.text()}`);
        return (await res.json()) as CheckResult;
      },
      async logSize() {
        try {
          return (await readFile(logFile)).length;
        } catch {
          return 0;
        }
      },
      stop,
    };
    return rs;
  } catch (e) {
    const tail = await readFile(path.join(logDir, 'rspamd-start.log'), 'utf8').catch(() => '');
    await stop().catch(() => {});
    if (e instanceof Error) e.message += `\n--- rspamd\n${tail.split('\n').slice(-20).join('\n')}`;
    throw e;
  }
}
