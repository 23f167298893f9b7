// Makes rspamd's files match the database: the settings map (every domain's spam policy and
// white/blacklists), the DKIM selector map (which domains sign, with which selector) and the key
// files. rspamd re-reads the maps by itself (map_watch_interval); nothing is restarted.
//
// Invariants:
// - Idempotent: the same rows give the same bytes, and files are only rewritten when their content
//   changes (so rspamd re-reads only what changed). Runs after every change, and on a timer as a net.
// - Order: key files of ACTIVE and PENDING keys are written before the selector map names them, and
//   files of keys that no longer sign are removed after the map stopped naming them — rspamd never
//   signs with a selector whose key file is missing.
// - Key files: mode 0640, group DKIM_KEY_GROUP (rspamd's), content from the encrypted private key.
//   The key material is never logged; errors name the file, not its content.
// - Calls in one process are serialised; a call made while one runs waits for it and runs once more
//   (it may have read the rows before the caller's change committed).
import { readdir, rm, chmod, chown, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { db } from '@mailpanel/core/db';
import { config, type Config } from '@mailpanel/core/env';
import { decryptSecret } from '@mailpanel/core/crypto/secretbox';
import { dkimKeyFileName, renderDkimSelectorMap, renderRspamdSettings, type DomainSpamPolicy } from '@mailpanel/core/render/rspamd';
import { dkimDir, resolveGroup, rspamdMapsDir, writeFileAtomic } from './files.js';
import { rspamdKeyFile } from './dkim-keys.js';

export const SETTINGS_MAP = 'settings.ucl';
export const SELECTOR_MAP = 'dkim_selectors.map';

export interface RspamdSyncResult {
  settingsChanged: boolean;
  selectorsChanged: boolean;
  keysWritten: number;
  keysRemoved: number;
}

const POLICY = {
  spamThreshold: true,
  spamAction: true,
  greylisting: true,
  spamListEntries: { select: { kind: true, value: true }, orderBy: { value: 'asc' } },
} as const;

/** Every domain's policy. An alias domain has its target's (the milter sees x@alias before Postfix
 *  rewrites it to x@target, and the mail is the target's). */
export async function loadSpamPolicies(): Promise<DomainSpamPolicy[]> {
  const domains = await db().domain.findMany({ select: { name: true, ...POLICY, aliasOf: { select: POLICY } }, orderBy: { name: 'asc' } });
  return domains.map((d) => {
    const p = d.aliasOf ?? d;
    return {
      domain: d.name,
      threshold: p.spamThreshold,
      action: p.spamAction,
      greylisting: p.greylisting,
      whitelist: p.spamListEntries.filter((e) => e.kind === 'WHITELIST').map((e) => e.value),
      blacklist: p.spamListEntries.filter((e) => e.kind === 'BLACKLIST').map((e) => e.value),
    };
  });
}

async function syncOnce(cfg: Config): Promise<RspamdSyncResult> {
  const gid = resolveGroup(cfg.DKIM_KEY_GROUP);
  const mapsDir = rspamdMapsDir(cfg);
  const keysDir = dkimDir(cfg);
  const result: RspamdSyncResult = { settingsChanged: false, selectorsChanged: false, keysWritten: 0, keysRemoved: 0 };

  const keys = await db().dkimKey.findMany({
    where: { status: { in: ['ACTIVE', 'PENDING'] }, provisioning: 'READY', privateKeyEnc: { not: null } },
    select: { selector: true, algorithm: true, status: true, privateKeyEnc: true, domain: { select: { name: true } } },
  });

  // 1. Key files of every key that signs now or may be activated next.
  await mkdir(keysDir, { recursive: true, mode: 0o750 });
  await chmod(keysDir, gid === undefined ? 0o755 : 0o750);
  if (gid !== undefined) await chown(keysDir, process.getuid?.() ?? 0, gid);
  const wanted = new Set<string>();
  for (const k of keys) {
    const file = dkimKeyFileName(k.domain.name, k.selector);
    wanted.add(file);
    const content = rspamdKeyFile(k.algorithm, decryptSecret(k.privateKeyEnc!, cfg.encryptionKey));
    if (await writeFileAtomic(path.join(keysDir, file), content, { mode: 0o640, gid })) result.keysWritten++;
  }

  // 2. The maps.
  const signing = keys.filter((k) => k.status === 'ACTIVE').map((k) => ({ domain: k.domain.name, selector: k.selector }));
  result.selectorsChanged = await writeFileAtomic(path.join(mapsDir, SELECTOR_MAP), renderDkimSelectorMap(signing), { mode: 0o644 });
  result.settingsChanged = await writeFileAtomic(path.join(mapsDir, SETTINGS_MAP), renderRspamdSettings(await loadSpamPolicies()), { mode: 0o644 });

  // 3. Key files nobody signs with any more (retired keys, deleted domains).
  for (const name of await readdir(keysDir)) {
    if (name.endsWith('.key') && !wanted.has(name)) {
      await rm(path.join(keysDir, name), { force: true });
      result.keysRemoved++;
    }
  }
  return result;
}

let running: Promise<RspamdSyncResult> | null = null;
let again: Promise<RspamdSyncResult> | null = null;

/** Brings rspamd's files in line with the database (serialised per process; see the header). */
export function syncRspamd(cfg: Config = config()): Promise<RspamdSyncResult> {
  if (!running) {
    running = syncOnce(cfg).finally(() => {
      running = null;
    });
    return running;
  }
  again ??= running
    .catch(() => undefined)
    .then(() => {
      again = null;
      return syncRspamd(cfg);
    });
  return again;
}
