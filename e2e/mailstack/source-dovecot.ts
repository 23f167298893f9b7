// A second, independent Dovecot on loopback that plays the OLD mail server a customer migrates away
// from (MAILSTACK.md "Migration-source instance"): passwd-file users with plain passwords, no SQL,
// no quota, and on purpose a different folder layout from the panel's Dovecot — hierarchy separator
// "." and Apple-style special-use names ("Sent Messages", "Deleted Messages") — so that folder
// mapping is exercised against a real server.
//
//   const src = await startSourceDovecot({ users: [{ user: 'old@legacy.test', password: 'OldPass1' }] });
//   ... IMAP on src.port ...
//   await src.stop();
//
// Users can be added while it runs (passwd-file is re-read on change, though Dovecot does not always
// notice an addition right after a lookup: prefer passing every user to start). A user may get an explicit
// home, which lets a test read any Maildir (e.g. one the panel wrote) through this real Dovecot.
// Daemons are stopped with their own stop command, then by pid — never by name.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pickFreePorts, runCommand } from './harness.js';

export interface SourceUser {
  user: string;
  password: string;
  /** Home folder (Maildir under it); default <dir>/mail/<user>. */
  home?: string;
}

export interface StartSourceDovecotOptions {
  users?: SourceUser[];
  /** Hierarchy separator of the source namespace. Default ".". */
  separator?: '.' | '/';
  /** Namespace prefix (e.g. "INBOX." for a Courier-style server). Default "". */
  prefix?: string;
  /** Allow "." inside folder names (Dovecot's listescape plugin), as many real servers do. */
  dotsInNames?: boolean;
  vmailUid?: number;
  vmailGid?: number;
  keepDir?: boolean;
}

export interface SourceDovecot {
  dir: string;
  port: number;
  conf: string;
  log: string;
  separator: string;
  prefix: string;
  addUser(u: SourceUser): Promise<void>;
  /** doveadm -c <conf> ...args (never rejects; check .code). */
  doveadm(...args: string[]): ReturnType<typeof runCommand>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function usersLine(u: SourceUser, uid: number, gid: number): string {
  if (/[:\n]/.test(u.user + u.password)) throw new Error('passwd-file users and passwords must not contain ":" or newlines');
  return u.home ? `${u.user}:{PLAIN}${u.password}:${uid}:${gid}::${u.home}::\n` : `${u.user}:{PLAIN}${u.password}::::::\n`;
}

export async function startSourceDovecot(opts: StartSourceDovecotOptions = {}): Promise<SourceDovecot> {
  if (!existsSync('/usr/sbin/dovecot')) throw new Error('/usr/sbin/dovecot missing: run bash deploy/install-debian.sh');
  const uid = opts.vmailUid ?? 5000;
  const gid = opts.vmailGid ?? 5000;
  const separator = opts.separator ?? '.';
  const prefix = opts.prefix ?? '';
  const keep = opts.keepDir ?? process.env.MAILSTACK_KEEP === '1';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'srcdove-'));
  await chmod(dir, 0o755);
  const conf = path.join(dir, 'dovecot.conf');
  const users = path.join(dir, 'users');
  const log = path.join(dir, 'dovecot.log');
  const mail = path.join(dir, 'mail');
  const [port] = await pickFreePorts(1);
  await mkdir(path.join(dir, 'run'), { recursive: true });
  await mkdir(path.join(dir, 'state'), { recursive: true });
  await mkdir(mail, { recursive: true });
  await chown(mail, uid, gid);
  await writeFile(users, (opts.users ?? []).map((u) => usersLine(u, uid, gid)).join(''), { mode: 0o640 });
  // The auth process runs as user dovecot: the file holds passwords, so group-readable only.
  await chown(users, 0, Number((await runCommand('id', ['-g', 'dovecot'])).stdout.trim()));
  const special = (name: string, use: string) => `  mailbox "${name}" {\n    special_use = ${use}\n    auto = subscribe\n  }\n`;
  await writeFile(
    conf,
    [
      `instance_name = ${path.basename(dir)}`,
      `base_dir = ${dir}/run`,
      `state_dir = ${dir}/state`,
      `log_path = ${log}`,
      `info_log_path = ${log}`,
      'protocols = imap',
      'listen = 127.0.0.1',
      'ssl = no',
      'disable_plaintext_auth = no',
      'auth_mechanisms = plain login',
      'auth_failure_delay = 0',
      'auth_cache_size = 0',
      `first_valid_uid = ${uid}`,
      `last_valid_uid = ${uid}`,
      `mail_uid = ${uid}`,
      `mail_gid = ${gid}`,
      'mail_location = maildir:~/Maildir',
      ...(opts.dotsInNames ? ['mail_plugins = $mail_plugins listescape'] : []),
      'namespace inbox {',
      '  inbox = yes',
      `  separator = ${separator}`,
      `  prefix = ${prefix}`,
      special('Sent Messages', '\\Sent') + special('Drafts', '\\Drafts') + special('Deleted Messages', '\\Trash') + special('Junk', '\\Junk') + '}',
      'passdb {',
      '  driver = passwd-file',
      `  args = scheme=PLAIN username_format=%u ${users}`,
      '}',
      'userdb {',
      '  driver = passwd-file',
      `  args = username_format=%u ${users}`,
      `  default_fields = uid=${uid} gid=${gid} home=${mail}/%u`,
      '}',
      'service imap-login {',
      '  inet_listener imap {',
      '    address = 127.0.0.1',
      `    port = ${port}`,
      '  }',
      '  inet_listener imaps {',
      '    port = 0',
      '  }',
      '}',
      'service anvil {',
      '  unix_listener anvil-auth-penalty {',
      '    mode = 0',
      '  }',
      '}',
      '',
    ].join('\n'),
  );

  let pid: number | null = null;
  let stopped = false;
  const onExit = () => {
    if (pid !== null && !stopped) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    if (pid !== null && pidAlive(pid)) {
      await runCommand('/usr/bin/doveadm', ['-c', conf, 'stop'], { timeoutMs: 20000 });
      const deadline = Date.now() + 10000;
      while (pidAlive(pid) && Date.now() < deadline) await sleep(50);
      if (pidAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    if (!keep) await rm(dir, { recursive: true, force: true });
    else console.error(`source dovecot: kept ${dir}`);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const fd = openSync(path.join(dir, 'start.log'), 'a');
      const child = spawn('/usr/sbin/dovecot', ['-c', conf], { stdio: ['ignore', fd, fd] });
      closeSync(fd);
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : readFile(path.join(dir, 'start.log'), 'utf8').then((t) => reject(new Error(`dovecot exited ${code}: ${t}`)), reject)));
    });
    // The daemon writes its pid file just after the starting process returns.
    for (let i = 0; i < 100 && pid === null; i++) {
      pid = Number((await readFile(path.join(dir, 'run', 'master.pid'), 'utf8').catch(() => '')).trim()) || null;
      if (pid === null) await sleep(50);
    }
    process.once('exit', onExit);
    const deadline = Date.now() + 20000;
    while (!(await canConnect(port!))) {
      if (Date.now() > deadline) throw new Error(`source dovecot not listening on ${port}`);
      if (pid !== null && !pidAlive(pid)) throw new Error('source dovecot exited');
      await sleep(50);
    }
  } catch (e) {
    const logText = await readFile(log, 'utf8').catch(() => '');
    await stop().catch(() => {});
    if (e instanceof Error) e.message += `\n${logText.split('\n').slice(-20).join('\n')}`;
    throw e;
  }

  return {
    dir,
    port: port!,
    conf,
    log,
    separator,
    prefix,
    addUser: (u) => appendFile(users, usersLine(u, uid, gid)),
    doveadm: (...args) => runCommand('/usr/bin/doveadm', ['-c', conf, ...args]),
    stop,
  };
}
