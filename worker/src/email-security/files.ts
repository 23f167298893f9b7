// Writing the files rspamd reads (maps, DKIM keys): atomically (a temporary file renamed over the old
// one, so rspamd never reads half a file), only when the content changes (rspamd re-reads a map when
// its mtime moves), with the mode and group asked for. Where those files live comes from the
// environment (core/src/env.ts).
import { chmod, chown, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '@mailpanel/core/env';

export function dkimDir(cfg: Config): string {
  return cfg.DKIM_DIR ?? path.join(cfg.dataDir, 'dkim');
}

export function rspamdMapsDir(cfg: Config): string {
  return cfg.RSPAMD_MAPS_DIR ?? path.join(cfg.dataDir, 'rspamd');
}

/** The gid of a group name (from /etc/group) or a numeric gid; undefined when not configured. */
export function resolveGroup(group: string | undefined, groupFile = '/etc/group'): number | undefined {
  if (group === undefined) return undefined;
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new Error(`DKIM_KEY_GROUP: no group named ${group}`);
}

export async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Writes `content` to `file` unless it already holds exactly that; returns whether it wrote. */
export async function writeFileAtomic(file: string, content: string, opts: { mode: number; gid?: number; dirMode?: number }): Promise<boolean> {
  await mkdir(path.dirname(file), { recursive: true, mode: opts.dirMode ?? 0o755 });
  if ((await readIfExists(file)) === content) {
    await chmod(file, opts.mode);
    if (opts.gid !== undefined) await chown(file, process.getuid?.() ?? 0, opts.gid);
    return false;
  }
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, content, { mode: opts.mode });
    await chmod(tmp, opts.mode);
    if (opts.gid !== undefined) await chown(tmp, process.getuid?.() ?? 0, opts.gid);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return true;
}
