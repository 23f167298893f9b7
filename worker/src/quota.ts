// Measuring a mailbox's storage use, two ways:
// - With Dovecot (DOVECOT_CONFIG set): `doveadm -f tab quota get` — the numbers Dovecot enforces
//   (count backend, virtual sizes). Dovecot reports STORAGE in KiB (rounded up), as IMAP GETQUOTA
//   does; we store KiB × 1024 so the panel shows exactly what Dovecot and the IMAP client show.
//   Only ACTIVE mailboxes are in Dovecot's userdb: an inactive one yields no measurement (its
//   usage cannot change while it is refused) and the row keeps its last values.
// - Without Dovecot: a scan of the Maildir++ tree — INBOX (cur, new) and every `.Folder`
//   (cur, new); tmp holds unfinished deliveries and is not counted. A message's size is the
//   `S=<bytes>` in its file name when present (what Dovecot and most MDAs write), else the file's
//   size on disk.
// Parsing is pure and exported for tests; the I/O around it stays thin.
import { execFile } from 'node:child_process';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface QuotaUsage {
  bytes: number;
  messages: number;
}

/** `S=<bytes>` from a Maildir file name (`<unique>,S=1234,W=1260:2,S`), or null. */
export function sizeFromMaildirName(name: string): number | null {
  const base = name.split(':', 1)[0]!;
  const m = /(?:^|,)S=(\d+)(?:,|$)/.exec(base);
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}

/** Sums the messages of a Maildir++ tree (see the header). A missing Maildir counts as empty. */
export async function scanMaildir(maildir: string): Promise<QuotaUsage> {
  const folders = [maildir];
  for (const name of await listDir(maildir)) {
    if (!name.startsWith('.') || name === '.' || name === '..') continue;
    const st = await lstat(path.join(maildir, name)).catch(() => null);
    if (st?.isDirectory()) folders.push(path.join(maildir, name));
  }
  let bytes = 0;
  let messages = 0;
  for (const folder of folders) {
    for (const sub of ['cur', 'new']) {
      const dir = path.join(folder, sub);
      for (const name of await listDir(dir)) {
        if (name.startsWith('.')) continue;
        let size = sizeFromMaildirName(name);
        if (size === null) {
          const st = await lstat(path.join(dir, name)).catch(() => null); // expunged meanwhile
          if (!st?.isFile()) continue;
          size = st.size;
        }
        bytes += size;
        messages += 1;
      }
    }
  }
  return { bytes, messages };
}

/**
 * Parses `doveadm -f tab quota get` output (with or without the Username column that -A adds)
 * into usage per user. STORAGE is KiB → bytes. With several quota roots the largest counts.
 * Rows without a user (the -u form) are keyed ''.
 */
export function parseDoveadmQuota(stdout: string): Map<string, QuotaUsage> {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const out = new Map<string, QuotaUsage>();
  if (lines.length === 0) return out;
  const header = lines[0]!.split('\t').map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const iUser = col('username');
  const iType = col('type');
  const iValue = col('value');
  if (iType < 0 || iValue < 0) throw new Error(`unexpected doveadm quota output header: ${lines[0]!.slice(0, 200)}`);
  for (const line of lines.slice(1)) {
    const cells = line.split('\t');
    const user = iUser >= 0 ? (cells[iUser] ?? '').trim() : '';
    const type = (cells[iType] ?? '').trim().toUpperCase();
    const value = Number((cells[iValue] ?? '').trim());
    if (!Number.isFinite(value) || value < 0) continue;
    const u = out.get(user) ?? { bytes: 0, messages: 0 };
    if (type === 'STORAGE') u.bytes = Math.max(u.bytes, value * 1024);
    else if (type === 'MESSAGE') u.messages = Math.max(u.messages, value);
    else continue;
    out.set(user, u);
  }
  return out;
}

export interface Doveadm {
  doveadm: string;
  dovecotConfig: string;
}

/** doveadm's exit code for "user doesn't exist" (EX_NOUSER). */
const EX_NOUSER = 67;

export function runDoveadm(d: Doveadm, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(d.doveadm, ['-c', d.dovecotConfig, ...args], { timeout: 120_000, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const code = (err as NodeJS.ErrnoException & { code?: unknown }).code;
      if (typeof code === 'number') return resolve({ code, stdout, stderr });
      reject(new Error(`doveadm could not run: ${err.message}`));
    });
  });
}

export function doveadmError(args: string[], r: { code: number; stderr: string }): Error {
  const detail = r.stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 400);
  return new Error(`doveadm ${args.join(' ')} exited ${r.code}: ${detail}`);
}

/** Dovecot's usage of one user, or null when Dovecot does not know the user (inactive mailbox). */
export async function doveadmQuotaOf(d: Doveadm, address: string): Promise<QuotaUsage | null> {
  const args = ['-f', 'tab', 'quota', 'get', '-u', address];
  const r = await runDoveadm(d, args);
  if (r.code === EX_NOUSER) return null;
  if (r.code !== 0) throw doveadmError(args, r);
  return parseDoveadmQuota(r.stdout).get('') ?? { bytes: 0, messages: 0 };
}

/**
 * Dovecot's usage of every user it knows (its userdb iteration: the active mailboxes). doveadm
 * goes on after a user it cannot read and exits non-zero at the end: the users it did report are
 * still returned, with the failure as `warning`.
 */
export async function doveadmQuotaOfAll(d: Doveadm): Promise<{ usage: Map<string, QuotaUsage>; warning: string | null }> {
  const args = ['-f', 'tab', 'quota', 'get', '-A'];
  const r = await runDoveadm(d, args);
  const all = parseDoveadmQuota(r.stdout);
  if (r.code !== 0 && all.size === 0) throw doveadmError(args, r);
  return {
    usage: new Map([...all].map(([user, u]) => [user.toLowerCase(), u])),
    warning: r.code === 0 ? null : doveadmError(args, r).message,
  };
}
