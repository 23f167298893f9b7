// The fast path: Dovecot's own `doveadm import` from the source over imapc, for one folder whose
// target is still empty. Never `doveadm backup` — it makes the target equal to the source and can
// empty an INBOX that already holds mail (MAILSTACK.md, "IMAP migration").
//
// Invariants:
// - Only into an EMPTY target folder, only for the UIDs up to the source's UIDNEXT-1 seen before the
//   import (`uid 1:N` in the search query), and only where imapc's own name for the folder is the
//   target name the folder plan chose — so the result is what the native copier would produce and
//   the checkpoint afterwards is exact.
// - The source password never reaches a command line (other local users can read those): it goes
//   into a 0600 file in a 0700 folder that a per-run config file reads with `imapc_password = <file`,
//   and both are deleted when the command ends.
// - The import dies with the worker: a small shell wrapper kills doveadm when the worker's end of
//   its stdin closes (a SIGKILLed worker must not leave an import writing behind its successor).
// - Any failure returns false: the caller falls back to the native copier for that folder.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SourceSettings } from '@mailpanel/core/migration/source-imap';

/** Kills "$@" when stdin reaches EOF (the parent died or closed it); exits with its status. */
const WATCHDOG = 'exec 3<&0; "$@" <&- & c=$!; ( while read -r _ <&3; do :; done; kill -TERM "$c" 2>/dev/null ) & w=$!; wait "$c"; r=$?; kill "$w" 2>/dev/null; exit $r';

export interface ImportRequest {
  doveadm: string;
  config: string;
  user: string;
  source: SourceSettings;
  /** The folder's name as imapc shows it (the source path with "/" as separator). */
  folder: string;
  maxUid: number;
  signal?: AbortSignal;
}

function configValue(v: string): string {
  if (/[\r\n\0]/.test(v)) throw new Error('invalid character in a doveadm setting');
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The imapc name of a source folder: its path with the target separator, no personal prefix. */
export function imapcName(sourcePath: string, delimiter: string | null, personalPrefix: string): string | null {
  if (personalPrefix) return null;
  if (!delimiter || delimiter === '/') return sourcePath;
  if (sourcePath.includes('/')) return null;
  return sourcePath.split(delimiter).join('/');
}

export async function doveadmImport(req: ImportRequest): Promise<{ ok: true } | { ok: false; reason: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailpanel-import-'));
  try {
    await chmod(dir, 0o700);
    const pw = path.join(dir, 'pw');
    await writeFile(pw, req.source.password, { mode: 0o600 });
    const conf = path.join(dir, 'import.conf');
    const ssl = req.source.security === 'SSL' ? 'imaps' : req.source.security === 'STARTTLS' ? 'starttls' : 'no';
    await writeFile(
      conf,
      [
        `!include ${req.config}`,
        `imapc_host = ${configValue(req.source.host)}`,
        `imapc_port = ${req.source.port}`,
        `imapc_user = ${configValue(req.source.username)}`,
        `imapc_password = <${pw}`,
        `imapc_ssl = ${ssl}`,
        'imapc_ssl_verify = yes',
        'imapc_features = rfc822.size fetch-headers',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const args = ['-c', conf, 'import', '-u', req.user, '-s', 'imapc:', '', 'mailbox', req.folder, 'uid', `1:${req.maxUid}`];
    const child = spawn('/bin/sh', ['-c', WATCHDOG, 'sh', req.doveadm, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
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
