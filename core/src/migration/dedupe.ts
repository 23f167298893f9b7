// Deduplication keys: how the copier recognises a message that is already in the target folder, so
// that re-runs, resumed runs and mail that reached both servers are never copied twice.
//
// Invariants:
// - The key is computed from the same few header fields on both sides (the source's full message or
//   its HEADER.FIELDS fetch; the target's header fetch or Maildir file), unfolded and trimmed, so
//   line-ending and folding differences between servers do not change it.
// - Message-ID when there is one; otherwise Date (or the internal date) + RFC822.SIZE + a hash of
//   From/To/Cc/Subject/Date.
// - Keys are counted, not just collected (KeyCounter): a source folder that really holds two copies
//   of one message gets two copies in the target, never more.
import { createHash } from 'node:crypto';

export const KEY_HEADERS = ['message-id', 'date', 'from', 'to', 'cc', 'subject'] as const;

/** The header block of a raw message (up to the first empty line), as bytes. */
export function headerBlock(message: Buffer): Buffer {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  const ends = [crlf >= 0 ? crlf + 2 : -1, lf >= 0 ? lf + 1 : -1].filter((i) => i >= 0);
  return ends.length ? message.subarray(0, Math.min(...ends)) : message;
}

/** Header fields by lower-case name: unfolded, whitespace collapsed, every occurrence in order. */
export function parseHeaders(block: Buffer | string): Map<string, string[]> {
  const text = typeof block === 'string' ? block : block.toString('latin1');
  const out = new Map<string, string[]>();
  const lines = text.split(/\r?\n/);
  let name: string | null = null;
  let value = '';
  const flush = () => {
    if (name === null) return;
    const list = out.get(name) ?? [];
    list.push(value.replace(/\s+/g, ' ').trim());
    out.set(name, list);
  };
  for (const line of lines) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && name !== null) {
      value += ' ' + line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) {
      name = null;
      continue;
    }
    name = line.slice(0, colon).trim().toLowerCase();
    value = line.slice(colon + 1);
  }
  flush();
  return out;
}

export function normalizeMessageId(value: string | undefined | null): string | null {
  if (!value) return null;
  const v = value.trim();
  const angle = /<([^<>\s]+)>/.exec(v);
  const id = (angle ? angle[1] : v.split(/\s+/)[0])!.trim();
  return id.length > 0 && id.length <= 998 ? id : null;
}

export interface KeyInput {
  headers: Map<string, string[]>;
  /** RFC822.SIZE (line endings counted as CRLF). */
  size: number;
  internalDate?: Date | null;
}

export function dedupeKey(input: KeyInput): string {
  const first = (n: string) => input.headers.get(n)?.[0] ?? '';
  const mid = normalizeMessageId(first('message-id'));
  if (mid) return `m:${mid}`;
  const date = first('date') || (input.internalDate ? new Date(Math.floor(input.internalDate.getTime() / 1000) * 1000).toISOString() : '');
  const h = createHash('sha256');
  for (const n of ['from', 'to', 'cc', 'subject', 'date']) h.update(`${n}:${first(n)}\n`);
  return `h:${date}|${input.size}|${h.digest('hex').slice(0, 32)}`;
}

/** A multiset of keys: how many copies of each message a folder holds. */
export class KeyCounter {
  private counts = new Map<string, number>();
  private total = 0;

  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
    this.total += n;
  }

  /** Takes one copy of `key` if there is one; true when it did. */
  take(key: string): boolean {
    const c = this.counts.get(key) ?? 0;
    if (c <= 0) return false;
    if (c === 1) this.counts.delete(key);
    else this.counts.set(key, c - 1);
    this.total--;
    return true;
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  get size(): number {
    return this.total;
  }
}
