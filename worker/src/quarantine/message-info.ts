// What the quarantine list shows of a message — sender, subject, spam score, date — read from its
// header block. Pure: no I/O. Header values are untrusted: decoded (RFC 2047 encoded-words, folded
// lines), stripped of control characters and bounded in length before they are stored.

export interface MessageInfo {
  sender: string;
  subject: string;
  /** rspamd's score from X-Spamd-Result / X-Spam-Status; null when absent. */
  score: number | null;
  /** The Date: header when it parses; null otherwise. */
  date: Date | null;
}

export const MAX_SUBJECT = 500;
export const MAX_SENDER = 320;

/** The header block (everything before the first empty line), unfolded, as name → values. */
export function parseHeaders(raw: string): Map<string, string[]> {
  const end = raw.search(/\r?\n\r?\n/);
  const head = (end < 0 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const out = new Map<string, string[]>();
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const list = out.get(name) ?? [];
    list.push(line.slice(i + 1).trim());
    out.set(name, list);
  }
  return out;
}

function decodeQ(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '_') bytes.push(0x20);
    else if (c === '=' && /^[0-9a-f]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c.charCodeAt(0) & 0xff);
  }
  return Uint8Array.from(bytes);
}

/** Decodes RFC 2047 encoded-words (B and Q, any charset TextDecoder knows; unknown → as is). */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[bq]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bq]\?[^?\s]*\?=)/gi, '$1')
    .replace(/=\?([^?\s]+)\?([bq])\?([^?\s]*)\?=/gi, (whole, charset: string, enc: string, text: string) => {
      try {
        const bytes = enc.toLowerCase() === 'b' ? Buffer.from(text, 'base64') : decodeQ(text);
        return new TextDecoder(charset.replace(/\*.*$/, '').toLowerCase(), { fatal: false }).decode(bytes);
      } catch {
        return whole;
      }
    });
}

/** Removes control characters and bounds the length. */
export function cleanText(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, ' ').replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The address in a From:/Return-Path: value (`Name <a@b>` or `a@b`), lower-cased; else the text. */
export function addressOf(value: string): string {
  const angle = /<([^<>]*)>/.exec(value);
  const bare = angle ? angle[1]! : value.replace(/\(.*?\)/g, '');
  const m = /[^\s<>"]+@[^\s<>"]+/.exec(bare);
  return (m ? m[0] : bare).trim().toLowerCase();
}

/** rspamd's score: `X-Spamd-Result: default: False [11.18 / 15.00]; …` or `X-Spam-Status: Yes, score=11.18`. */
export function spamScoreOf(headers: Map<string, string[]>): number | null {
  const result = headers.get('x-spamd-result')?.[0];
  const m = result && /\[\s*(-?\d+(?:\.\d+)?)\s*\//.exec(result);
  if (m) return Number(m[1]);
  const status = headers.get('x-spam-status')?.[0];
  const s = status && /score=(-?\d+(?:\.\d+)?)/.exec(status);
  return s ? Number(s[1]) : null;
}

export function messageInfo(raw: string): MessageInfo {
  const h = parseHeaders(raw);
  const from = h.get('from')?.[0] ?? h.get('return-path')?.[0] ?? '';
  const date = h.get('date')?.[0];
  const parsed = date ? new Date(date) : null;
  return {
    sender: cleanText(decodeEncodedWords(addressOf(from)), MAX_SENDER),
    subject: cleanText(decodeEncodedWords(h.get('subject')?.[0] ?? ''), MAX_SUBJECT),
    score: spamScoreOf(h),
    date: parsed && !Number.isNaN(parsed.getTime()) ? parsed : null,
  };
}
