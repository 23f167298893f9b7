// Tiny SMTP and IMAP clients over node:net for the mail-stack tests (no npm package: they only
// need to see the servers' reply codes). Not for production use.
import net from 'node:net';

class LineSocket {
  private buf = '';
  private lines: string[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;
  private error: Error | null = null;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i).replace(/\r$/, ''));
        this.buf = this.buf.slice(i + 1);
      }
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', (e) => {
      this.error = e;
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 10000): Promise<LineSocket> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host });
      const t = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect ${host}:${port} timed out`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        resolve(new LineSocket(sock));
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  private wake() {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async readLine(timeoutMs = 30000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.error) throw this.error;
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a line');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.lines.shift()!;
  }

  write(s: string) {
    this.sock.write(s);
  }

  close() {
    this.sock.destroy();
  }
}

// --- SMTP -----------------------------------------------------------------------------------

export interface SmtpReply {
  code: number;
  text: string;
}

export interface SmtpResult {
  /** true when the message was accepted (250 after DATA). */
  ok: boolean;
  /** The step that failed, or 'done'. */
  stage: 'greeting' | 'ehlo' | 'auth' | 'mail' | 'rcpt' | 'data' | 'done';
  code: number;
  text: string;
  transcript: string[];
}

async function readReply(s: LineSocket, transcript: string[]): Promise<SmtpReply> {
  const lines: string[] = [];
  for (;;) {
    const line = await s.readLine();
    transcript.push(`S: ${line}`);
    lines.push(line.slice(4));
    if (line[3] !== '-') return { code: Number(line.slice(0, 3)), text: lines.join('\n') };
  }
}

/** RFC 5321 DATA body: CRLF line ends and dot-stuffing. */
export function smtpDataBody(message: string): string {
  return `${message
    .replace(/\r?\n/g, '\r\n')
    .split('\r\n')
    .map((l) => (l.startsWith('.') ? `.${l}` : l))
    .join('\r\n')
    .replace(/(\r\n)?$/, '\r\n')}.\r\n`;
}

export async function smtpSend(opts: {
  port: number;
  host?: string;
  from: string;
  to: string[];
  /** Full message (headers + body). */
  data: string;
  auth?: { user: string; pass: string };
  helo?: string;
  /** Ask for SMTPUTF8 (RFC 6531) with MAIL FROM: needed for non-ASCII addresses or headers. */
  smtputf8?: boolean;
  /** ESMTP parameters after MAIL FROM:<…>, e.g. "SIZE=2000000". */
  mailParams?: string;
}): Promise<SmtpResult> {
  const transcript: string[] = [];
  const s = await LineSocket.connect(opts.port, opts.host);
  const send = async (cmd: string, shown = cmd) => {
    transcript.push(`C: ${shown}`);
    s.write(`${cmd}\r\n`);
    return readReply(s, transcript);
  };
  const fail = (stage: SmtpResult['stage'], r: SmtpReply): SmtpResult => ({ ok: false, stage, ...r, transcript });
  try {
    let r = await readReply(s, transcript);
    if (r.code !== 220) return fail('greeting', r);
    r = await send(`EHLO ${opts.helo ?? 'client.example.net'}`);
    if (r.code !== 250) return fail('ehlo', r);
    if (opts.auth) {
      const token = Buffer.from(`\0${opts.auth.user}\0${opts.auth.pass}`, 'utf8').toString('base64');
      r = await send(`AUTH PLAIN ${token}`, 'AUTH PLAIN <credentials>');
      if (r.code !== 235) return fail('auth', r);
    }
    const params = [opts.smtputf8 ? 'SMTPUTF8' : '', opts.mailParams ?? ''].filter(Boolean).join(' ');
    r = await send(`MAIL FROM:<${opts.from}>${params ? ` ${params}` : ''}`);
    if (r.code !== 250) return fail('mail', r);
    for (const rcpt of opts.to) {
      r = await send(`RCPT TO:<${rcpt}>`);
      if (r.code !== 250 && r.code !== 251) return fail('rcpt', r);
    }
    r = await send('DATA');
    if (r.code !== 354) return fail('data', r);
    transcript.push('C: <message>');
    s.write(smtpDataBody(opts.data));
    r = await readReply(s, transcript);
    if (r.code !== 250) return fail('data', r);
    try {
      await send('QUIT');
    } catch {
      /* server may close first */
    }
    return { ok: true, stage: 'done', ...r, transcript };
  } finally {
    s.close();
  }
}

/** A simple RFC 5322 message. */
export function makeMessage(h: { from: string; to: string; subject: string; body?: string; headers?: Record<string, string> }): string {
  const extra = Object.entries(h.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const id = `<${Date.now()}.${Math.random().toString(36).slice(2)}@client.example.net>`;
  return (
    `From: ${h.from}\r\nTo: ${h.to}\r\nSubject: ${h.subject}\r\nMessage-ID: ${id}\r\n` +
    `Date: ${new Date().toUTCString()}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}\r\n` +
    `${h.body ?? 'Hello.'}\r\n`
  );
}

// --- IMAP -----------------------------------------------------------------------------------

export interface ImapResponse {
  /** OK, NO or BAD */
  status: string;
  tagged: string;
  untagged: string[];
}

/** IMAP quoted string (RFC 3501): `\` and `"` escaped; CR/LF are not allowed in quoted strings. */
export function imapQuote(s: string): string {
  if (/[\r\n\0]/.test(s)) throw new Error('IMAP quoted strings cannot hold CR, LF or NUL');
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export class ImapSession {
  private n = 0;
  private constructor(
    private readonly s: LineSocket,
    readonly greeting: string,
  ) {}

  static async open(port: number, host = '127.0.0.1'): Promise<ImapSession> {
    const s = await LineSocket.connect(port, host);
    const greeting = await s.readLine();
    if (!greeting.startsWith('* OK')) {
      s.close();
      throw new Error(`unexpected IMAP greeting: ${greeting}`);
    }
    return new ImapSession(s, greeting);
  }

  async command(cmd: string): Promise<ImapResponse> {
    const tag = `a${++this.n}`;
    this.s.write(`${tag} ${cmd}\r\n`);
    const untagged: string[] = [];
    for (;;) {
      const line = await this.s.readLine();
      if (line.startsWith(`${tag} `)) {
        return { status: line.split(' ')[1] ?? '', tagged: line, untagged };
      }
      untagged.push(line);
    }
  }

  login(user: string, pass: string) {
    return this.command(`LOGIN ${imapQuote(user)} ${imapQuote(pass)}`);
  }

  async logout() {
    try {
      await this.command('LOGOUT');
    } catch {
      /* closed */
    }
    this.s.close();
  }

  close() {
    this.s.close();
  }
}

/** Opens a session, tries LOGIN, logs out. Returns the tagged response. */
export async function imapLogin(port: number, user: string, pass: string): Promise<ImapResponse> {
  const s = await ImapSession.open(port);
  try {
    return await s.login(user, pass);
  } finally {
    await s.logout();
  }
}
