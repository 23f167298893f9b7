// The quarantine on disk. rspamd marks spam for a QUARANTINE domain with `X-Panel-Spam: quarantine`;
// Dovecot's global Sieve script (deploy/templates/dovecot/spam.sieve) files it into the hidden,
// unlisted namespace "Quarantine/" (Maildir at <home>/quarantine, folder "held"), so it never shows
// in the mailbox. The worker then moves each message into the mailbox's quarantine store
// (<home>/panel-quarantine/<key>.eml) and records a row; the panel lists the rows.
//
// Invariants:
// - Ingesting is idempotent and crash-safe: (1) hard-link the Maildir file into the store under its
//   Maildir unique name, (2) insert the row keyed by (mailbox, unique name) — a duplicate is skipped,
//   (3) unlink the Maildir file. A crash between any two steps is finished by the next scan; no
//   message is lost or listed twice, and several workers may scan at once.
// - Releasing writes the message into INBOX (Maildir new/, via tmp/ and a rename, so Dovecot never
//   sees half a file) under a name derived from the row, and does nothing when a file of that name is
//   already in new/ or cur/ — a retried release never delivers twice.
// - Files keep the vmail owner (MAIL_UID/MAIL_GID); everything stays inside the mailbox's home, so
//   deleting the mailbox deletes its quarantine too.
import { chown, copyFile, link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { db } from '@mailpanel/core/db';
import type { Config } from '@mailpanel/core/env';
import { mailboxHome, maildirPath } from '@mailpanel/core/mail-paths';
import { log } from '@mailpanel/core/logger';
import type { Owner } from '../maildir.js';
import { messageInfo } from './message-info.js';

/** Maildir of Dovecot's hidden quarantine namespace, relative to the home (dovecot.conf). */
export const QUARANTINE_NAMESPACE_DIR = 'quarantine';
/** The folder spam.sieve files into ("Quarantine/held"), as a Maildir++ directory. */
export const QUARANTINE_FOLDER_DIR = '.held';
/** Where the worker keeps quarantined messages, relative to the home. */
export const QUARANTINE_STORE_DIR = 'panel-quarantine';
const HEADER_BYTES = 64 * 1024;

export function ownerOf(cfg: Config): Owner {
  return { uid: cfg.MAIL_UID, gid: cfg.MAIL_GID ?? cfg.MAIL_UID };
}

async function own(p: string, owner: Owner) {
  if (owner.uid !== undefined) await chown(p, owner.uid, owner.gid ?? owner.uid);
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function readHead(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

interface ScanMailbox {
  id: string;
  address: string;
  localPart: string;
  domainId: string;
  domain: { name: string };
}

/** Moves one mailbox's newly quarantined messages into its store; returns how many were recorded. */
export async function ingestMailbox(cfg: Config, m: ScanMailbox): Promise<number> {
  const home = mailboxHome(cfg.mailRoot, m.domain.name, m.localPart);
  const folder = path.join(home, QUARANTINE_NAMESPACE_DIR, QUARANTINE_FOLDER_DIR);
  const store = path.join(home, QUARANTINE_STORE_DIR);
  const owner = ownerOf(cfg);
  let recorded = 0;
  for (const sub of ['new', 'cur']) {
    for (const name of await listDir(path.join(folder, sub))) {
      if (name.startsWith('.')) continue;
      const src = path.join(folder, sub, name);
      const key = name.split(':')[0]!;
      const dest = path.join(store, `${key}.eml`);
      await mkdir(store, { recursive: true, mode: 0o700 });
      await own(store, owner);
      try {
        await link(src, dest);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue; // another worker took it
        if (code === 'EXDEV') await copyFile(src, dest);
        else if (code !== 'EEXIST') throw e;
      }
      const st = await stat(dest);
      const info = messageInfo(await readHead(dest));
      const r = await db().quarantineItem.createMany({
        data: [
          {
            domainId: m.domainId,
            mailboxId: m.id,
            recipient: m.address,
            sender: info.sender,
            subject: info.subject,
            score: info.score,
            receivedAt: st.mtime,
            sizeBytes: st.size,
            storagePath: dest,
            sourceKey: key,
          },
        ],
        skipDuplicates: true,
      });
      recorded += r.count;
      await rm(src, { force: true });
    }
  }
  return recorded;
}

/**
 * Scans the mailboxes whose domain quarantines (or did until a day ago: messages filed before a
 * change must not stay behind) and ingests what Dovecot filed there.
 */
export async function ingestQuarantine(cfg: Config, now = new Date()): Promise<number> {
  const mailboxes = await db().mailbox.findMany({
    where: {
      provisioning: { not: 'DELETING' },
      domain: { OR: [{ spamAction: 'QUARANTINE' }, { spamSettingsUpdatedAt: { gt: new Date(now.getTime() - 24 * 3600 * 1000) } }] },
    },
    select: { id: true, address: true, localPart: true, domainId: true, domain: { select: { name: true } } },
  });
  let n = 0;
  for (const m of mailboxes) {
    try {
      n += await ingestMailbox(cfg, m);
    } catch (err) {
      log.warn('quarantine: ingest failed', { mailbox: m.address, err });
    }
  }
  return n;
}

/** The INBOX file name a released message gets (stable per row, so a retry finds it). */
export function releasedFileName(itemId: string, receivedAt: Date): string {
  return `${Math.floor(receivedAt.getTime() / 1000)}.Q${itemId.replace(/-/g, '')}.panel`;
}

/** Delivers a stored message into INBOX. Returns false when the stored file is gone. */
export async function deliverToInbox(cfg: Config, item: { id: string; receivedAt: Date; storagePath: string }, home: string): Promise<boolean> {
  const maildir = maildirPath(home);
  const base = releasedFileName(item.id, item.receivedAt);
  const delivered = [...(await listDir(path.join(maildir, 'new'))), ...(await listDir(path.join(maildir, 'cur')))].some(
    (f) => f === base || f.startsWith(`${base}:`),
  );
  if (delivered) return true;
  const owner = ownerOf(cfg);
  for (const sub of ['tmp', 'new', 'cur']) {
    await mkdir(path.join(maildir, sub), { recursive: true, mode: 0o700 });
    await own(path.join(maildir, sub), owner);
  }
  const tmp = path.join(maildir, 'tmp', base);
  try {
    await copyFile(item.storagePath, tmp);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  await own(tmp, owner);
  await rename(tmp, path.join(maildir, 'new', base));
  return true;
}

/** Removes a stored message (idempotent). Only files inside the mail root are touched. */
export async function removeStored(cfg: Config, storagePath: string): Promise<void> {
  const root = path.resolve(cfg.mailRoot) + path.sep;
  if (!path.resolve(storagePath).startsWith(root)) throw new Error('Refusing to remove a quarantine file outside the mail root');
  await rm(storagePath, { force: true });
}
