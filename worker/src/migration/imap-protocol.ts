// The small part of IMAP (RFC 3501) the target session needs, without I/O: a response reader that is
// fed bytes and yields complete responses (literals included), a tokenizer for their contents, and
// the encoders for what the client sends (quoted strings, LITERAL+ literals, dates).
//
// Invariants: a response is only emitted once every literal in it has fully arrived; literal bytes
// are never decoded as text (a message body may hold any byte); tokens keep bracketed section specs
// like BODY[HEADER.FIELDS (A B)] as one atom, as servers send them.

export type Token = string | Buffer | null | Token[];

export interface Response {
  /** '*' for untagged, '+' for a continuation request, else the command's tag. */
  tag: string;
  tokens: Token[];
}

export class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Appends bytes; returns every response completed by them. */
  feed(chunk: Buffer): Response[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Response[] = [];
    for (;;) {
      const r = this.next();
      if (!r) break;
      out.push(r);
    }
    return out;
  }

  private next(): Response | null {
    const parts: (string | Buffer)[] = [];
    let pos = 0;
    for (;;) {
      const eol = this.buf.indexOf('\r\n', pos);
      if (eol < 0) return null;
      const line = this.buf.toString('latin1', pos, eol);
      const lit = /\{(\d+)\+?\}$/.exec(line);
      if (!lit) {
        parts.push(line);
        const consumed = eol + 2;
        const response = buildResponse(parts);
        this.buf = this.buf.subarray(consumed);
        return response;
      }
      const n = Number(lit[1]);
      const start = eol + 2;
      if (this.buf.length < start + n) return null;
      parts.push(line.slice(0, lit.index));
      parts.push(Buffer.from(this.buf.subarray(start, start + n)));
      pos = start + n;
    }
  }
}

function buildResponse(parts: (string | Buffer)[]): Response {
  const first = parts[0] as string;
  const sp = first.indexOf(' ');
  const tag = sp < 0 ? first : first.slice(0, sp);
  const rest: (string | Buffer)[] = [sp < 0 ? '' : first.slice(sp + 1), ...parts.slice(1)];
  return { tag, tokens: tokenize(rest) };
}

/** Tokens of a response body; Buffers in `parts` are literals standing where they were sent. */
export function tokenize(parts: (string | Buffer)[]): Token[] {
  const root: Token[] = [];
  const stack: Token[][] = [root];
  const push = (t: Token) => stack[stack.length - 1]!.push(t);
  for (const part of parts) {
    if (Buffer.isBuffer(part)) {
      push(part);
      continue;
    }
    let i = 0;
    const s = part;
    while (i < s.length) {
      const c = s[i]!;
      if (c === ' ') {
        i++;
      } else if (c === '(') {
        const list: Token[] = [];
        push(list);
        stack.push(list);
        i++;
      } else if (c === ')') {
        if (stack.length > 1) stack.pop();
        i++;
      } else if (c === '"') {
        let j = i + 1;
        let v = '';
        while (j < s.length && s[j] !== '"') {
          if (s[j] === '\\' && j + 1 < s.length) j++;
          v += s[j];
          j++;
        }
        push(v);
        i = j + 1;
      } else {
        let j = i;
        let depth = 0;
        while (j < s.length) {
          const d = s[j]!;
          if (d === '[') depth++;
          else if (d === ']') depth--;
          else if (depth <= 0 && (d === ' ' || d === ')' || d === '(')) break;
          j++;
        }
        const atom = s.slice(i, j);
        push(atom.toUpperCase() === 'NIL' ? null : atom);
        i = j;
      }
    }
  }
  return root;
}

export function tokenText(t: Token | undefined): string {
  if (t === undefined || t === null) return '';
  if (Buffer.isBuffer(t)) return t.toString('utf8');
  if (Array.isArray(t)) return t.map(tokenText).join(' ');
  return t;
}

/** The [CODE ...] of a status response's text ("OK [APPENDUID 1 2] done" → "APPENDUID"). */
export function responseCode(tokens: Token[]): string | null {
  const t = tokens[1];
  if (typeof t === 'string' && t.startsWith('[')) return t.slice(1).replace(/[\] ].*$/, '').toUpperCase();
  return null;
}

export function statusText(tokens: Token[]): string {
  return tokens.slice(1).map(tokenText).join(' ');
}

/** A FETCH response's item list as a map of upper-case item name → value. */
export function fetchItems(tokens: Token[]): Map<string, Token> {
  // tokens: [seq, 'FETCH', [name, value, name, value ...]]
  const list = tokens[2];
  const out = new Map<string, Token>();
  if (!Array.isArray(list)) return out;
  for (let i = 0; i + 1 < list.length; i += 2) out.set(String(list[i]).toUpperCase(), list[i + 1]!);
  return out;
}

export function quoteString(s: string): string {
  if (/[\r\n\0]/.test(s)) throw new Error('IMAP strings cannot hold CR, LF or NUL');
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** INTERNALDATE as APPEND takes it: "dd-Mon-yyyy hh:mm:ss +0000" (UTC). */
export function formatInternalDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `"${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}

export function parseInternalDate(s: string): Date | null {
  const m = /^\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return null;
  const month = MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase());
  if (month < 0) return null;
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60_000 * (m[7] === '-' ? -1 : 1);
  return new Date(utc - offset);
}

/** System flags and keywords fit for APPEND (\Recent cannot be set; junk keywords are dropped). */
export function appendableFlags(flags: Iterable<string>): string[] {
  const system = new Set(['\\seen', '\\answered', '\\flagged', '\\deleted', '\\draft']);
  const out: string[] = [];
  for (const f of flags) {
    if (f.startsWith('\\')) {
      if (system.has(f.toLowerCase())) out.push(f);
    } else if (/^[^\\()\]{%*"\s\x00-\x1f\x7f]+$/.test(f) && f.length <= 128) out.push(f);
  }
  return out;
}
