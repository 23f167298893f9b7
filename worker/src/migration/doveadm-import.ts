// The fast path: Dovecot's own `doveadm import` from the source over imapc, for one folder whose
// target is still empty. Never `doveadm backup` — it makes the target equal to the source and can
// empty an INBOX that already holds mail (MAILSTACK.md, "IMAP migration").
//
// Invariants:
// - Only into an EMPTY target folder, only for an explicit UID range (`uid A:B` in the search query),
//   and only where doveadm's own name for the target folder is the one the folder plan chose — so the
//   result is what the native copier would produce. The caller imports in chunks: each chunk is one
//   doveadm run and one committed transaction, so the checkpoint and the counters move after every
//   chunk (live progress), and a failure leaves at most one chunk uncertain (the caller then reads
//   the target's keys before copying anything itself).
// - The source password never touches a disk or a command line: doveadm reads it from its own
//   environment (`imapc_password = $ENV:…`, passed through `import_environment`), which only the
//   worker's user (and root) can read. The per-run config file holds no secret. Older versions wrote
//   the password to `<tmpdir>/mailpanel-import-*/pw`; removeImportLeftovers() deletes such folders
//   when a worker starts.
// - The import dies with the worker: a small shell wrapper kills doveadm when the worker's end of
//   its stdin closes (a SIGKILLed worker must not leave an import writing behind its successor).
// - Any failure returns ok:false: the caller falls back to the native copier for that folder.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SourceSettings } from '@mailpanel/core/migration/source-imap';

/** Kills "$@" when stdin reaches EOF (the parent died or closed it); exits with its status. */
const WATCHDOG = 'exec 3<&0; "$@" <&- & c=$!; ( while read -r _ <&3; do :; done; kill -TERM "$c" 2>/dev/null ) & w=$!; wait "$c"; r=$?; kill "$w" 2>/dev/null; exit $r';

/** The environment variable doveadm reads the source password from. */
const PASSWORD_ENV = 'MAILPANEL_IMAPC_PASSWORD';
const DIR_PREFIX = 'mailpanel-import-';

export interface ImportRequest {
  doveadm: string;
  config: string;
  user: string;
  source: SourceSettings;
  /** The folder's name on the source, with the source's own separator (imapc lists it so). */
  folder: string;
  fromUid: number;
  toUid: number;
  signal?: AbortSignal;
}

function configValue(v: string): string {
  if (/[\r\n\0]/.test(v)) throw new Error('invalid character in a doveadm setting');
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The name to give `doveadm import … mailbox <name>` for a source folder, or null when the fast path
 * cannot reproduce the planned target name. imapc lists the source's folders under their own names
 * (source separator); doveadm creates each in the target with the source separator turned into the
 * target's "/". So the import is only usable when the plan's target name is exactly that, and when
 * no segment contains a "/" (it would become a level of its own).
 */
export function imapcName(sourcePath: string, delimiter: string | null, personalPrefix: string, targetName: string): string | null {
  if (personalPrefix) return null;
  const segments = delimiter ? sourcePath.split(delimiter) : [sourcePath];
  if (delimiter !== '/' && segments.some((s) => s.includes('/'))) return null;
  return segments.join('/') === targetName ? sourcePath : null;
}

/** Deletes what versions before this one left in the temp folder (they held the password in a file). */
export async function removeImportLeftovers(tmp = os.tmpdir()): Promise<number> {
  let removed = 0;
  for (const e of await readdir(tmp).catch(() => [] as string[])) {
    if (!e.startsWith(DIR_PREFIX)) continue;
    await rm(path.join(tmp, e), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

export async function doveadmImport(req: ImportRequest): Promise<{ ok: true } | { ok: false; reason: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), DIR_PREFIX));
  try {
    await chmod(dir, 0o700);
    const conf = path.join(dir, 'import.conf');
    const ssl = req.source.security === 'SSL' ? 'imaps' : req.source.security === 'STARTTLS' ? 'starttls' : 'no';
    await writeFile(
      conf,
      [
        `!include ${req.config}`,
        `imapc_host = ${configValue(req.source.host)}`,
        `imapc_port = ${req.source.port}`,
        `imapc_user = ${configValue(req.source.username)}`,
        `imapc_password = $ENV:${PASSWORD_ENV}`,
        `import_environment = $import_environment ${PASSWORD_ENV}`,
        `imapc_ssl = ${ssl}`,
        'imapc_ssl_verify = yes',
        'imapc_features = rfc822.size fetch-headers',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const args = ['-c', conf, 'import', '-u', req.user, '-s', 'imapc:', '', 'mailbox', req.folder, 'uid', `${req.fromUid}:${req.toUid}`];
    const child = spawn('/bin/sh', ['-c', WATCHDOG, 'sh', req.doveadm, ...args], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, [PASSWORD_ENV]: req.source.password },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 4000) stderr += c.toString('utf8');
    });
    const onAbort = () => child.stdin.end();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const code = await new Promise<number>((resolve) => {
      child.on('error', () => resolve(127));
      child.on('exit', (c) => resolve(c ?? 1));
    });
    req.signal?.removeEventListener('abort', onAbort);
    child.stdin.destroy();
    if (code !== 0) {
      const reason = stderr.split('\n').filter((l) => /error|fatal/i.test(l)).join(' ').split(req.source.password).join('***').slice(0, 300);
      return { ok: false, reason: `doveadm import exited ${code}${reason ? `: ${reason}` : ''}` };
    }
    return { ok: true };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
