// Maildir++ as Dovecot reads it, for the embedded default where the worker writes the target
// Maildir itself. Pure (names, flags, keyword files); the file I/O lives in target-maildir.ts.
//
// Invariants (all checked against a real Dovecot in the mail-stack suite):
// - Folder "A/B" lives in "<Maildir>/.A.B"; every segment is modified UTF-7 on disk, with "." and
//   "\\" escaped as \2e and \5c the way Dovecot's listescape plugin (on in the panel's Dovecot) does.
// - A file name is "<unique>,S=<bytes on disk>,W=<RFC822 size with CRLF>:2,<flags>": Dovecot trusts
//   S= and W= (so quota and RFC822.SIZE need no re-read); flags are the letters D F R S T in ASCII
//   order, then the keyword letters a–z (also sorted).
// - Keywords are numbered in the folder's dovecot-keywords file ("<n> <keyword>", letter = 'a'+n);
//   at most 26 per folder, as in Dovecot.
import { decodeMutf7, encodeMutf7 } from './mutf7.js';

const SYSTEM_LETTERS: Record<string, string> = { '\\draft': 'D', '\\flagged': 'F', '\\answered': 'R', '\\seen': 'S', '\\deleted': 'T' };
const LETTER_SYSTEM: Record<string, string> = { D: '\\Draft', F: '\\Flagged', R: '\\Answered', S: '\\Seen', T: '\\Deleted' };
export const MAX_KEYWORDS = 26;

/** A segment as Dovecot's listescape plugin stores it: "\\" and "." as \5c and \2e (Maildir++ uses "."). */
function escapeSegment(segment: string): string {
  return segment.replace(/[\\.]/g, (c) => `\\${c.charCodeAt(0).toString(16)}`);
}

function unescapeSegment(segment: string): string {
  return segment.replace(/\\([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export function folderDirName(name: string): string {
  if (name.toUpperCase() === 'INBOX') return '';
  return '.' + name.split('/').map((s) => escapeSegment(encodeMutf7(s))).join('.');
}

/** The folder name of a Maildir++ directory entry (".A.B" → "A/B"), or null if it is not one. */
export function folderNameOfDir(entry: string): string | null {
  if (!entry.startsWith('.') || entry === '.' || entry === '..') return null;
  return entry
    .slice(1)
    .split('.')
    .map((s) => decodeMutf7(unescapeSegment(s)))
    .join('/');
}

/** IMAP keyword names Dovecot can store (atoms without specials). */
export function isValidKeyword(k: string): boolean {
  return /^[^\\()\]{%*"\s\x00-\x1f\x7f]+$/.test(k) && k.length <= 128;
}

export function parseKeywordsFile(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (.+)$/.exec(line.trim());
    if (m && Number(m[1]) < MAX_KEYWORDS) out[Number(m[1])] = m[2]!;
  }
  return out;
}

export function formatKeywordsFile(keywords: string[]): string {
  return keywords.map((k, i) => (k ? `${i} ${k}\n` : '')).join('');
}

/**
 * The info suffix for these IMAP flags. Unknown keywords are added to `keywords` (mutated) while
 * there is room; the caller persists the list when it grew. \Recent is never stored.
 */
export function flagsToInfo(flags: Iterable<string>, keywords: string[]): string {
  const system = new Set<string>();
  const kw = new Set<string>();
  for (const f of flags) {
    const letter = SYSTEM_LETTERS[f.toLowerCase()];
    if (letter) system.add(letter);
    else if (!f.startsWith('\\') && isValidKeyword(f)) {
      let i = keywords.indexOf(f);
      if (i < 0 && keywords.length < MAX_KEYWORDS) {
        keywords.push(f);
        i = keywords.length - 1;
      }
      if (i >= 0) kw.add(String.fromCharCode(97 + i));
    }
  }
  return ':2,' + [...system].sort().join('') + [...kw].sort().join('');
}

export function infoToFlags(info: string, keywords: string[]): string[] {
  const m = /:2,([A-Za-z]*)$/.exec(info);
  if (!m) return [];
  const out: string[] = [];
  for (const ch of m[1]!) {
    if (LETTER_SYSTEM[ch]) out.push(LETTER_SYSTEM[ch]);
    else if (ch >= 'a' && ch <= 'z' && keywords[ch.charCodeAt(0) - 97]) out.push(keywords[ch.charCodeAt(0) - 97]!);
  }
  return out;
}

export interface MaildirFileName {
  size: number | null;
  vsize: number | null;
  info: string;
}

export function parseFileName(name: string): MaildirFileName {
  const colon = name.indexOf(':');
  const base = colon >= 0 ? name.slice(0, colon) : name;
  const info = colon >= 0 ? name.slice(colon) : '';
  const s = /,S=(\d+)/.exec(base);
  const w = /,W=(\d+)/.exec(base);
  return { size: s ? Number(s[1]) : null, vsize: w ? Number(w[1]) : null, info };
}

export function uniqueFileName(opts: { now: Date; seq: number; pid: number; host: string; size: number; vsize: number; info: string }): string {
  const ms = opts.now.getTime();
  const host = opts.host.replace(/\//g, '\\057').replace(/:/g, '\\072').replace(/,/g, '\\054') || 'localhost';
  return `${Math.floor(ms / 1000)}.M${(ms % 1000) * 1000}P${opts.pid}Q${opts.seq}.${host},S=${opts.size},W=${opts.vsize}${opts.info}`;
}

/** Line endings normalised to LF (how Dovecot stores mail), and the RFC822 size counted with CRLF. */
export function toStoredForm(message: Buffer): { data: Buffer; vsize: number } {
  const data = Buffer.from(message.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  let lf = 0;
  for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) lf++;
  return { data, vsize: data.length + lf };
}

/** The Dovecot 2.x subscriptions file ("V\t2\n\n" then one name a line, hierarchy as TAB). */
export function parseSubscriptions(text: string): string[] {
  const lines = text.split('\n');
  const v2 = lines[0]?.startsWith('V\t');
  return (v2 ? lines.slice(2) : lines).filter(Boolean).map((l) => (v2 ? l.split('\t').map(decodeMutf7).join('/') : decodeMutf7(l)));
}

export function formatSubscriptions(names: string[]): string {
  return 'V\t2\n\n' + names.map((n) => n.split('/').map(encodeMutf7).join('\t') + '\n').join('');
}
