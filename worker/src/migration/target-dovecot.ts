// Writing into the panel's Dovecot: one pre-authenticated IMAP session per migration, started with
// `doveadm -c <DOVECOT_CONFIG> exec imap -u <address>` and spoken to over its stdin/stdout. No master
// password and no change to Dovecot's configuration are needed, and everything Dovecot enforces on
// a normal login applies: quota (APPEND answers [OVERQUOTA]), indexes, special-use folders.
//
// Invariants:
// - Messages go in with MULTIAPPEND (RFC 3502) and LITERAL+: one command and one mailbox
//   transaction per batch, no round trip per message. A batch is all-or-nothing; on [OVERQUOTA] the
//   batch is retried one message at a time so exactly the messages that fit are stored.
// - The session dies with the worker: the imap process exits when its stdin closes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { KeyCounter, dedupeKey, parseHeaders } from '@mailpanel/core/migration/dedupe';
import { TargetError, TargetOverQuotaError } from '@mailpanel/core/migration/errors';
import {
  ResponseReader,
  appendableFlags,
  fetchItems,
  formatInternalDate,
  parseInternalDate,
  quoteString,
  responseCode,
  statusText,
  tokenText,
  type Response,
  type Token,
} from './imap-protocol.js';
import { decodeMutf7, encodeMutf7 } from './mutf7.js';
import { PartialAppendError, type OutgoingMessage, type Target, type TargetFolderInfo } from './target.js';

interface Pending {
  tag: string;
  untagged: Response[];
  resolve: (r: { done: Response; untagged: Response[] }) => void;
  reject: (e: Error) => void;
}

const KEY_FETCH = 'BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM TO CC SUBJECT)]';

/**
 * Runs "$@" (doveadm exec imap) between pipes. The imap binary refuses sockets on stdin/stdout
 * ("must not be started from inetd"), and Node's child stdio are socketpairs: a `cat` on each side
 * turns them into pipes (a FIFO on the input side; fd 3, because a background command's stdin is
 * /dev/null). Both ends are watched: when the worker dies its
 * end of stdin closes, the input `cat` ends and so does the session; when the session ends (e.g.
 * Dovecot is down and the userdb lookup failed) the input `cat` is stopped and the wrapper exits,
 * so the worker sees the end at once. (`cat | "$@" | cat` waited for the input `cat`, i.e. for ever.)
 */
const SESSION_WRAPPER =
  'exec 3<&0; d=$(mktemp -d) || exit 70; mkfifo "$d/in" || exit 70; cat <&3 > "$d/in" & c=$!; "$@" < "$d/in" 3<&- | cat; r=$?; kill "$c" 2>/dev/null; rm -rf "$d"; exit $r';

export class DovecotTarget implements Target {
  readonly engine = 'IMAP_APPEND' as const;
  private reader = new ResponseReader();
  private pending: Pending[] = [];
  private seq = 0;
  private stderr = '';
  private exited: Error | null = null;
  private greeting: Promise<void>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    let greeted: (() => void) | null = null;
    let failed: ((e: Error) => void) | null = null;
    this.greeting = new Promise<void>((res, rej) => {
      greeted = res;
      failed = rej;
    });
    child.stdout.on('data', (chunk: Buffer) => {
      for (const r of this.reader.feed(chunk)) {
        if (greeted && r.tag === '*') {
          const kind = String(r.tokens[0] ?? '').toUpperCase();
          if (kind === 'PREAUTH' || kind === 'OK') greeted();
          else failed!(new TargetError(`Dovecot refused the session: ${statusText(r.tokens)}`));
          greeted = null;
          continue;
        }
        this.dispatch(r);
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      if (this.stderr.length < 4000) this.stderr += c.toString('utf8');
    });
    child.on('error', (e) => this.fail(new TargetError(`doveadm could not be started: ${e.message}`)));
    child.on('close', (code, signal) => {
      const text = this.stderr.replace(/\s+/g, ' ').trim().slice(0, 300);
      this.fail(new TargetError(`Dovecot's IMAP session ended (${code ?? signal})${text ? `: ${text}` : ''}`));
      failed?.(this.exited!);
    });
    child.stdin.on('error', () => {});
  }

  /** Starts the session; one that does not greet within greetingTimeoutMs (a Dovecot that hangs instead
   *  of failing) is ended and reported as a target error, so the job retries instead of waiting for ever. */
  static async open(opts: { doveadm: string; config: string; user: string; greetingTimeoutMs?: number }): Promise<DovecotTarget> {
    // Its own process group, so a session that hangs can be ended with everything it started.
    const child = spawn('/bin/sh', ['-c', SESSION_WRAPPER, 'sh', opts.doveadm, '-c', opts.config, 'exec', 'imap', '-u', opts.user], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const t = new DovecotTarget(child);
    const ms = opts.greetingTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
        reject(new TargetError(`Dovecot's IMAP session did not greet within ${ms / 1000} s`));
      }, ms);
    });
    try {
      await Promise.race([t.greeting, silent]);
    } finally {
      clearTimeout(timer);
    }
    return t;
  }

  private fail(e: Error) {
    if (this.exited) return;
    this.exited = e;
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  private dispatch(r: Response) {
    if (r.tag === '*' || r.tag === '+') {
      this.pending[0]?.untagged.push(r);
      return;
    }
    const i = this.pending.findIndex((p) => p.tag === r.tag);
    if (i < 0) return;
    const [p] = this.pending.splice(i, 1);
    p!.resolve({ done: r, untagged: p!.untagged });
  }

  /** Sends one command (parts are joined as given; Buffers go out verbatim) and waits for its end. */
  private command(build: (tag: string) => (string | Buffer)[]): Promise<{ done: Response; untagged: Response[] }> {
    if (this.exited) return Promise.reject(this.exited);
    const tag = `m${++this.seq}`;
    return new Promise((resolve, reject) => {
      this.pending.push({ tag, untagged: [], resolve, reject });
      const parts = build(tag);
      for (const p of parts) this.child.stdin.write(p);
    });
  }

  private async ok(build: (tag: string) => (string | Buffer)[], what: string): Promise<Response[]> {
    const { done, untagged } = await this.command(build);
    const status = String(done.tokens[0] ?? '').toUpperCase();
    if (status !== 'OK') throw new TargetError(`${what}: ${statusText(done.tokens)}`, responseCode(done.tokens));
    return untagged;
  }

  async listFolders(): Promise<TargetFolderInfo[]> {
    const lines = await this.ok((t) => [`${t} LIST "" "*" RETURN (SPECIAL-USE)\r\n`], 'LIST');
    const out: TargetFolderInfo[] = [];
    for (const r of lines) {
      if (String(r.tokens[0]).toUpperCase() !== 'LIST') continue;
      const flags = (Array.isArray(r.tokens[1]) ? r.tokens[1] : []).map((f) => tokenText(f));
      if (flags.some((f) => /^\\(noselect|nonexistent)$/i.test(f))) continue;
      const name = decodeMutf7(tokenText(r.tokens[3]));
      out.push({ name: name.toUpperCase() === 'INBOX' ? 'INBOX' : name, specialUse: flags.find((f) => /^\\(sent|drafts|trash|junk|archive)$/i.test(f)) ?? null });
    }
    return out;
  }

  async ensureFolder(name: string): Promise<void> {
    if (name === 'INBOX') return;
    const mbox = quoteString(encodeMutf7(name));
    const { done } = await this.command((t) => [`${t} CREATE ${mbox}\r\n`]);
    const status = String(done.tokens[0] ?? '').toUpperCase();
    if (status !== 'OK' && responseCode(done.tokens) !== 'ALREADYEXISTS') throw new TargetError(`CREATE ${name}: ${statusText(done.tokens)}`, responseCode(done.tokens));
    await this.ok((t) => [`${t} SUBSCRIBE ${mbox}\r\n`], `SUBSCRIBE ${name}`);
  }

  async messageCount(name: string): Promise<number> {
    const lines = await this.ok((t) => [`${t} STATUS ${quoteString(encodeMutf7(name))} (MESSAGES)\r\n`], `STATUS ${name}`);
    for (const r of lines) {
      if (String(r.tokens[0]).toUpperCase() !== 'STATUS') continue;
      const items = r.tokens[2];
      if (Array.isArray(items)) for (let i = 0; i + 1 < items.length; i += 2) if (String(items[i]).toUpperCase() === 'MESSAGES') return Number(items[i + 1]);
    }
    throw new TargetError(`STATUS ${name}: no MESSAGES in the answer`);
  }

  async keys(name: string): Promise<KeyCounter> {
    const keys = new KeyCounter();
    if ((await this.messageCount(name)) === 0) return keys;
    await this.ok((t) => [`${t} EXAMINE ${quoteString(encodeMutf7(name))}\r\n`], `EXAMINE ${name}`);
    const lines = await this.ok((t) => [`${t} UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE ${KEY_FETCH})\r\n`], `FETCH ${name}`);
    for (const r of lines) {
      if (String(r.tokens[1]).toUpperCase() !== 'FETCH') continue;
      const items = fetchItems(r.tokens);
      let header: Token = null;
      for (const [k, v] of items) if (k.startsWith('BODY[')) header = v;
      const date = parseInternalDate(tokenText(items.get('INTERNALDATE')));
      keys.add(dedupeKey({ headers: parseHeaders(Buffer.isBuffer(header) ? header : Buffer.from(tokenText(header))), size: Number(tokenText(items.get('RFC822.SIZE'))), internalDate: date }));
    }
    await this.ok((t) => [`${t} CLOSE\r\n`], 'CLOSE');
    return keys;
  }

  private appendParts(name: string, messages: OutgoingMessage[]): (tag: string) => (string | Buffer)[] {
    const mbox = quoteString(encodeMutf7(name));
    return (tag) => {
      const parts: (string | Buffer)[] = [`${tag} APPEND ${mbox}`];
      for (const m of messages) {
        parts.push(` (${appendableFlags(m.flags).join(' ')}) ${formatInternalDate(m.internalDate)} {${m.raw.length}+}\r\n`);
        parts.push(m.raw);
      }
      parts.push('\r\n');
      return parts;
    };
  }

  async append(name: string, messages: OutgoingMessage[]): Promise<{ refused: number[] }> {
    if (!messages.length) return { refused: [] };
    try {
      await this.ok(this.appendParts(name, messages), `APPEND ${name}`);
      return { refused: [] };
    } catch (e) {
      if (!(e instanceof TargetError) || this.exited) throw new PartialAppendError(0, e);
    }
    // The batch was refused as a whole: store one at a time, to keep every message that fits and
    // find the one that does not.
    const refused: number[] = [];
    for (let i = 0; i < messages.length; i++) {
      try {
        await this.ok(this.appendParts(name, [messages[i]!]), `APPEND ${name}`);
      } catch (e) {
        if (e instanceof TargetError && !this.exited) {
          if (e.responseCode === 'OVERQUOTA' || /quota/i.test(e.message)) throw new PartialAppendError(i, new TargetOverQuotaError());
          refused.push(messages[i]!.uid);
          continue;
        }
        throw new PartialAppendError(i, e);
      }
    }
    return { refused };
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const bye = this.command((t) => [`${t} LOGOUT\r\n`]).catch(() => {});
      await Promise.race([bye, new Promise((r) => setTimeout(r, 2000))]);
    }
    this.child.stdin.end();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await Promise.race([new Promise((r) => this.child.once('exit', r)), new Promise((r) => setTimeout(r, 2000))]);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
  }
}
