// Installs a mailbox's autoresponder where Dovecot runs it (dovecot.conf: `sieve =
// file:~/sieve;active=~/.dovecot.sieve`): the script at <home>/sieve/panel.sieve, made active by
// the symlink <home>/.dovecot.sieve → sieve/panel.sieve.
//
// Invariants:
// - The script text comes only from renderVacationSieve() (core/src/render/sieve.ts), the one
//   place that escapes user text into Sieve.
// - Idempotent ("make the disk match the row"): the same row twice leaves the files untouched.
// - Atomic: the script is written to a temporary name (and checked there with sievec when it is
//   configured, so a script Pigeonhole refuses never becomes active), then renamed into place;
//   the link is a temporary symlink renamed over .dovecot.sieve. Dovecot sees the old script or
//   the new one, never half of one.
// - Dovecot runs the active script through the link and keeps its compiled form beside it, as
//   <home>/.dovecot.svbin (the binary records the script path it was compiled from; another path
//   makes Dovecot recompile). A changed script removes that binary: Pigeonhole only recompiles
//   when the script is newer than the binary, at one-second resolution, so a binary from the same
//   second would otherwise keep answering with the old text. With sievec configured the worker
//   compiles the new binary itself, from the link path, so the first delivery finds it ready.
// - Disabled (or no autoresponder): the link and our files are removed and Dovecot just delivers.
//   A .dovecot.sieve that is not our link is left alone when disabling, replaced when enabling
//   (the panel owns the mailbox's active script).
// - Everything is owned by MAIL_UID/MAIL_GID when set (lchown for the link): Dovecot runs as the
//   vmail user and saves its compiled binary next to the script.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, lchown, lstat, mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderVacationSieve } from '@mailpanel/core/render/sieve';
import type { Owner } from './maildir.js';

/** Temporary names unique to this run: two runs for one mailbox (two jobs at once) never share one. */
const unique = () => `${process.pid}.${randomBytes(4).toString('hex')}`;

export const SIEVE_DIR = 'sieve';
export const SIEVE_SCRIPT = 'panel.sieve';
export const ACTIVE_LINK = '.dovecot.sieve';
/** Where Dovecot keeps the compiled active script (beside the link). */
export const ACTIVE_BINARY = '.dovecot.svbin';
/** A binary beside the script itself (an older layout, or a manual sievec run): removed with it. */
const SCRIPT_BINARY = 'panel.svbin';
const LINK_TARGET = `${SIEVE_DIR}/${SIEVE_SCRIPT}`;

export interface AutoresponderRow {
  enabled: boolean;
  subject: string;
  message: string;
  startsAt: Date | null;
  endsAt: Date | null;
}

export interface SieveCompiler {
  /** sievec binary */
  sievec: string;
  /** dovecot.conf passed as -c (optional) */
  dovecotConfig?: string;
}

export type SieveSyncResult = 'installed' | 'unchanged' | 'removed' | 'absent';

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function readIfExists(p: string): Promise<string | null> {
  try {
    return await readFile(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

async function linkTarget(p: string): Promise<string | null> {
  try {
    return await readlink(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return null; // missing, or not a symlink
    throw e;
  }
}

async function own(p: string, owner: Owner, link = false) {
  if (owner.uid === undefined) return;
  const gid = owner.gid ?? owner.uid;
  await (link ? lchown(p, owner.uid, gid) : chown(p, owner.uid, gid));
}

function compile(c: SieveCompiler, script: string, binary: string): Promise<void> {
  const args = [...(c.dovecotConfig ? ['-c', c.dovecotConfig] : []), script, binary];
  return new Promise((resolve, reject) => {
    execFile(c.sievec, args, { timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve();
      // sievec names the script file and the Sieve error. The message ends up in the mailbox's
      // provisioningError, which its tenant reads: keep the error, not the server's paths.
      const detail = `${stderr}${stdout}`
        .trim()
        .split('\n')
        .slice(0, 5)
        .join(' / ')
        .replace(/\/[^\s:'"]+/g, '<file>')
        .slice(0, 400);
      reject(new Error(`sievec refused the autoresponder script: ${detail || 'exit ' + String((err as { code?: unknown }).code)}`));
    });
  });
}

/**
 * Brings <home>'s Sieve files in line with the autoresponder row. `address` is the mailbox
 * address (vacation :addresses). Throws SieveRenderError for a row the renderer refuses (the API
 * validates with the same renderer, so that means a row written around the API).
 */
export async function syncAutoresponderSieve(
  home: string,
  address: string,
  autoresponder: AutoresponderRow | null,
  opts: { owner: Owner; compiler?: SieveCompiler | null },
): Promise<SieveSyncResult> {
  const dir = path.join(home, SIEVE_DIR);
  const scriptPath = path.join(dir, SIEVE_SCRIPT);
  const linkPath = path.join(home, ACTIVE_LINK);
  const binaries = [path.join(home, ACTIVE_BINARY), path.join(dir, SCRIPT_BINARY)];
  const removeBinaries = async () => {
    for (const b of binaries) await rm(b, { force: true });
  };

  if (!autoresponder || !autoresponder.enabled) {
    const hadLink = (await linkTarget(linkPath)) === LINK_TARGET;
    if (hadLink) {
      await rm(linkPath, { force: true });
      await rm(path.join(home, ACTIVE_BINARY), { force: true });
    }
    const hadScript = await exists(scriptPath);
    await rm(scriptPath, { force: true });
    await rm(path.join(dir, SCRIPT_BINARY), { force: true });
    return hadLink || hadScript ? 'removed' : 'absent';
  }

  const script = renderVacationSieve({
    enabled: true,
    subject: autoresponder.subject,
    message: autoresponder.message,
    startsAt: autoresponder.startsAt,
    endsAt: autoresponder.endsAt,
    address,
  });

  await mkdir(dir, { recursive: true, mode: 0o700 });
  await own(dir, opts.owner);

  let changed = false;
  if ((await readIfExists(scriptPath)) !== script) {
    changed = true;
    const tmpScript = path.join(dir, `.${SIEVE_SCRIPT}.${unique()}.tmp`);
    const tmpBinary = `${tmpScript}.svbin`;
    await writeFile(tmpScript, script, { mode: 0o600 });
    await own(tmpScript, opts.owner);
    try {
      if (opts.compiler) await compile(opts.compiler, tmpScript, tmpBinary);
      await removeBinaries();
      await rename(tmpScript, scriptPath);
    } finally {
      await rm(tmpScript, { force: true });
      await rm(tmpBinary, { force: true });
    }
  }

  if ((await linkTarget(linkPath)) !== LINK_TARGET) {
    changed = true;
    await removeBinaries();
    const tmpLink = path.join(home, `${ACTIVE_LINK}.${unique()}.tmp`);
    await rm(tmpLink, { force: true });
    await symlink(LINK_TARGET, tmpLink);
    await own(tmpLink, opts.owner, true);
    await rename(tmpLink, linkPath);
  }

  if (changed && opts.compiler) {
    // Compiled from the link path, as Dovecot would, so Dovecot takes it as it is.
    const activeBinary = path.join(home, ACTIVE_BINARY);
    const tmp = path.join(home, `${ACTIVE_BINARY}.${unique()}.tmp`);
    try {
      await compile(opts.compiler, linkPath, tmp);
      await own(tmp, opts.owner);
      await rename(tmp, activeBinary);
    } finally {
      await rm(tmp, { force: true });
    }
  }
  // Ownership is part of "matching the row" too (e.g. MAIL_UID set after the files were made).
  await own(scriptPath, opts.owner);
  await own(linkPath, opts.owner, true);
  return changed ? 'installed' : 'unchanged';
}
