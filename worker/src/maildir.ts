// Creating and removing a mailbox's files. Both are idempotent: a retried job after a crash finds
// part of the work done and finishes it.
import { chown, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_FOLDERS, maildirFolderDir } from '@mailpanel/core/mail-paths';

export interface Owner {
  uid?: number;
  gid?: number;
}

async function mkdirOwned(dir: string, owner: Owner) {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (owner.uid !== undefined) await chown(dir, owner.uid, owner.gid ?? owner.uid);
}

export async function createMaildir(home: string, owner: Owner): Promise<void> {
  await mkdirOwned(path.dirname(home), owner);
  await mkdirOwned(home, owner);
  for (const folder of ['INBOX', ...DEFAULT_FOLDERS]) {
    const dir = maildirFolderDir(home, folder);
    await mkdirOwned(dir, owner);
    for (const sub of ['cur', 'new', 'tmp']) await mkdirOwned(path.join(dir, sub), owner);
  }
}

export async function removeMailboxFiles(home: string): Promise<void> {
  await rm(home, { recursive: true, force: true });
}
