// Writing the target Maildir directly: the embedded default, where no Dovecot runs beside the panel.
// The files are exactly what Dovecot itself would write (see maildir-format.ts), so a Dovecot pointed
// at this Maildir later shows the same folders, flags and dates.
//
// Invariants:
// - A message is written to tmp/, flushed to disk, given its internal date as mtime, then renamed
//   into cur/: a crash leaves at most a stray file in tmp/, never a half message in the folder.
// - The mailbox quota (quotaMb of its row; 0 = unlimited) is enforced here, counted the way Dovecot's
//   quota_vsizes counts it (RFC822 sizes): the message that would go over is not written.
// - Files and folders belong to MAIL_UID/MAIL_GID when set (as provisioning creates them).
import { randomBytes } from 'node:crypto';
import { chown, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KeyCounter, dedupeKey, headerBlock, parseHeaders } from '@mailpanel/core/migration/dedupe';
import { TargetOverQuotaError } from '@mailpanel/core/migration/errors';
import {
  flagsToInfo,
  folderDirName,
  folderNameOfDir,
  formatKeywordsFile,
  formatSubscriptions,
  parseFileName,
  parseKeywordsFile,
  parseSubscriptions,
  toStoredForm,
  uniqueFileName,
} from './maildir-format.js';
import { PartialAppendError, type OutgoingMessage, type Target, type TargetFolderInfo } from './target.js';

const DEFAULT_SPECIAL: Record<string, string> = { Sent: '\\Sent', Drafts: '\\Drafts', Trash: '\\Trash', Junk: '\\Junk' };

export interface MaildirTargetOptions {
  /** The mailbox's home; the Maildir is <home>/Maildir. */
  home: string;
  uid?: number;
  gid?: number;
  /** Bytes the mailbox may hold; null = unlimited. */
  quotaBytes: number | null;
}

export class MaildirTarget implements Target {
  readonly engine = 'MAILDIR' as const;
  private readonly root: string;
  private used: number | null = null;
  private seq = 0;
  private readonly host = os.hostname().split('.')[0] || 'localhost';
  private readonly tag = randomBytes(3).toString('hex');

  constructor(private readonly opts: MaildirTargetOptions) {
    this.root = path.join(opts.home, 'Maildir');
  }

  private async own(p: string) {
    if (this.opts.uid !== undefined) await chown(p, this.opts.uid, this.opts.gid ?? this.opts.uid);
  }

  private dir(name: string) {
    return path.join(this.root, folderDirName(name));
  }

  async listFolders(): Promise<TargetFolderInfo[]> {
    const out: TargetFolderInfo[] = [{ name: 'INBOX', specialUse: null }];
    let entries: string[] = [];
    try {
      entries = await readdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const e of entries) {
      const name = folderNameOfDir(e);
      if (name) out.push({ name, specialUse: DEFAULT_SPECIAL[name] ?? null });
    }
    return out;
  }

  async ensureFolder(name: string): Promise<void> {
    for (const d of [path.dirname(this.opts.home), this.opts.home, this.root]) {
      try {
        await mkdir(d, { mode: 0o700 });
        await this.own(d);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    const dir = this.dir(name);
    for (const d of [dir, path.join(dir, 'cur'), path.join(dir, 'new'), path.join(dir, 'tmp')]) {
      try {
        await mkdir(d, { mode: 0o700 });
        await this.own(d);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    if (name === 'INBOX') return;
    const marker = path.join(dir, 'maildirfolder');
    await writeFile(marker, '', { flag: 'a', mode: 0o600 });
    await this.own(marker);
    const subsFile = path.join(this.root, 'subscriptions');
    const current = await readFile(subsFile, 'utf8').then(parseSubscriptions, () => [] as string[]);
    if (!current.includes(name)) await this.writeAtomic(subsFile, formatSubscriptions([...current, name]));
  }

  private async writeAtomic(file: string, content: string) {
    const tmp = `${file}.${this.tag}.tmp`;
    await writeFile(tmp, content, { mode: 0o600 });
    await this.own(tmp);
    await rename(tmp, file);
  }

  private async files(name: string): Promise<{ sub: string; file: string }[]> {
    const out: { sub: string; file: string }[] = [];
    for (const sub of ['cur', 'new']) {
      try {
        for (const f of await readdir(path.join(this.dir(name), sub))) if (!f.startsWith('.')) out.push({ sub, file: f });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return out;
  }

  async messageCount(name: string): Promise<number> {
    return (await this.files(name)).length;
  }

  async keys(name: string): Promise<KeyCounter> {
    const keys = new KeyCounter();
    const files = await this.files(name);
    const read = async ({ sub, file }: { sub: string; file: string }) => {
      const p = path.join(this.dir(name), sub, file);
      const meta = parseFileName(file);
      const fh = await open(p, 'r');
      try {
        const st = await fh.stat();
        let data: Buffer;
        if (meta.vsize !== null) {
          const chunk = Buffer.alloc(Math.min(st.size, 64 * 1024));
          await fh.read(chunk, 0, chunk.length, 0);
          data = chunk;
          if (headerBlock(data).length === data.length && st.size > data.length) data = await fh.readFile();
        } else data = await fh.readFile();
        const size = meta.vsize ?? toStoredForm(data).vsize;
        keys.add(dedupeKey({ headers: parseHeaders(headerBlock(data)), size, internalDate: st.mtime }));
      } finally {
        await fh.close();
      }
    };
    for (let i = 0; i < files.length; i += 64) await Promise.all(files.slice(i, i + 64).map(read));
    return keys;
  }

  /** Bytes in the whole Maildir, counted as Dovecot's quota does (RFC822 sizes). */
  private async usage(): Promise<number> {
    let total = 0;
    const folders = await this.listFolders();
    for (const f of folders) {
      for (const { sub, file } of await this.files(f.name)) {
        const meta = parseFileName(file);
        if (meta.vsize !== null) total += meta.vsize;
        else total += toStoredForm(await readFile(path.join(this.dir(f.name), sub, file))).vsize;
      }
    }
    return total;
  }

  async append(name: string, messages: OutgoingMessage[]): Promise<{ refused: number[] }> {
    if (!messages.length) return { refused: [] };
    const dir = this.dir(name);
    if (this.opts.quotaBytes !== null && this.used === null) this.used = await this.usage();
    const kwFile = path.join(dir, 'dovecot-keywords');
    const keywords = await readFile(kwFile, 'utf8').then(parseKeywordsFile, () => [] as string[]);
    const kwBefore = keywords.length;
    const written: { tmp: string; final: string }[] = [];
    let overQuotaAt: number | null = null;
    try {
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i]!;
        const { data, vsize } = toStoredForm(m.raw);
        if (this.opts.quotaBytes !== null && this.used! + vsize > this.opts.quotaBytes) {
          overQuotaAt = i;
          break;
        }
        const info = flagsToInfo(m.flags, keywords);
        const base = uniqueFileName({ now: new Date(), seq: ++this.seq, pid: process.pid, host: `${this.host}${this.tag}`, size: data.length, vsize, info: '' });
        const tmp = path.join(dir, 'tmp', base);
        const fh = await open(tmp, 'wx', 0o600);
        try {
          await fh.writeFile(data);
          await fh.datasync();
          if (this.opts.uid !== undefined) await fh.chown(this.opts.uid, this.opts.gid ?? this.opts.uid);
          await fh.utimes(m.internalDate, m.internalDate);
        } finally {
          await fh.close();
        }
        written.push({ tmp, final: path.join(dir, 'cur', base + info) });
        if (this.used !== null) this.used += vsize;
      }
      if (keywords.length > kwBefore) await this.writeAtomic(kwFile, formatKeywordsFile(keywords));
      for (const w of written) await rename(w.tmp, w.final);
      const cur = await open(path.join(dir, 'cur'), 'r');
      await cur.sync().finally(() => cur.close());
    } catch (e) {
      for (const w of written) await rm(w.tmp, { force: true });
      throw e;
    }
    if (overQuotaAt !== null) throw new PartialAppendError(overQuotaAt, new TargetOverQuotaError());
    return { refused: [] };
  }

  async close(): Promise<void> {}
}
