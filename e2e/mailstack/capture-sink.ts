// A minimal SMTP server (RFC 5321 subset, pure node:net) standing in for "the Internet": Postfix's
// relayhost points here, so forwards, bounces and Sieve replies end up in `messages` instead of
// leaving the machine. No AUTH, no TLS, no PIPELINING/CHUNKING advertised; 8BITMIME and SMTPUTF8
// are, so Postfix passes messages through unchanged. Like a real RFC 6531 server it refuses a
// non-ASCII address in a transaction that did not ask for SMTPUTF8 with MAIL FROM, and it records
// whether the transaction did: a relay that drops the SMTPUTF8 request shows up as a refusal.
import net from 'node:net';
import { appendFile } from 'node:fs/promises';

export interface CapturedMessage {
  /** Envelope sender ('' for the null sender <>). */
  mailFrom: string;
  rcptTo: string[];
  /** MAIL FROM carried the SMTPUTF8 parameter (RFC 6531). */
  smtputf8: boolean;
  /** The message as received, dot-unstuffed, CRLF line ends. */
  data: string;
  receivedAt: Date;
}

export interface CaptureSink {
  port: number;
  readonly messages: CapturedMessage[];
  /** Resolves with the first message (already received or arriving later) matching `pred`. */
  waitFor(pred: (m: CapturedMessage) => boolean, timeoutMs?: number): Promise<CapturedMessage>;
  clear(): void;
  close(): Promise<void>;
}

/** Value of a header (first occurrence, unfolded), or undefined. */
export function headerOf(data: string, name: string): string | undefined {
  const head = data.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp(`^${name.replace(/[-]/g, '\\-')}:[ \\t]*(.*)$`, 'im');
  return re.exec(unfolded)?.[1]?.trim();
}

/** Decodes RFC 2047 encoded-words (B and Q, UTF-8) in a header value. */
export function decodeMimeWords(v: string): string {
  return v
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
      enc.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
    );
}

/** Body of a captured message, decoding quoted-printable / base64 when declared. */
export function bodyOf(data: string): string {
  const i = data.search(/\r?\n\r?\n/);
  const body = data.slice(i).replace(/^\r?\n\r?\n/, '');
  const cte = (headerOf(data, 'Content-Transfer-Encoding') ?? '').toLowerCase();
  if (cte === 'quoted-printable') {
    return Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
  if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

function addrOf(arg: string): string | null {
  const m = /^<([^<>]*)>/.exec(arg.trim());
  return m ? m[1]! : null;
}

/** ESMTP parameters after the address (`<a@b> SIZE=12 SMTPUTF8` → ['SIZE=12', 'SMTPUTF8']). */
function paramsOf(arg: string): string[] {
  return arg.trim().replace(/^<[^<>]*>/, '').trim().split(/\s+/).filter(Boolean).map((p) => p.toUpperCase());
}

const NON_ASCII = /[^\x00-\x7f]/;

export async function startCaptureSink(opts: { port?: number; host?: string; logFile?: string } = {}): Promise<CaptureSink> {
  const messages: CapturedMessage[] = [];
  const waiters = new Set<{ pred: (m: CapturedMessage) => boolean; resolve: (m: CapturedMessage) => void }>();
  const sockets = new Set<net.Socket>();
  const log = (line: string) => {
    if (opts.logFile) void appendFile(opts.logFile, `${new Date().toISOString()} ${line}\n`).catch(() => {});
  };

  const deliver = (m: CapturedMessage) => {
    messages.push(m);
    log(`captured from=<${m.mailFrom}> to=${m.rcptTo.map((r) => `<${r}>`).join(',')} smtputf8=${m.smtputf8} bytes=${m.data.length}`);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.delete(w);
        w.resolve(m);
      }
    }
  };

  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let inData = false;
    let dataLines: Buffer[] = [];
    let from: string | null = null;
    let utf8 = false;
    let rcpts: string[] = [];
    const reply = (s: string) => sock.write(`${s}\r\n`);
    const reset = () => {
      from = null;
      utf8 = false;
      rcpts = [];
    };

    const onLine = (lineBuf: Buffer) => {
      if (inData) {
        const line = lineBuf.toString('latin1');
        if (line === '.') {
          inData = false;
          const data = Buffer.concat(dataLines.flatMap((l) => [l, Buffer.from('\r\n')])).toString('utf8');
          dataLines = [];
          deliver({ mailFrom: from ?? '', rcptTo: rcpts, smtputf8: utf8, data, receivedAt: new Date() });
          reset();
          reply('250 2.0.0 Ok: captured');
          return;
        }
        dataLines.push(line.startsWith('.') ? lineBuf.subarray(1) : lineBuf);
        return;
      }
      const line = lineBuf.toString('utf8');
      const verb = line.slice(0, 4).toUpperCase();
      const arg = line.slice(4);
      switch (verb) {
        case 'EHLO':
          reply('250-capture-sink.invalid');
          reply('250-8BITMIME');
          reply('250-SMTPUTF8');
          reply('250 SIZE 52428800');
          reset();
          return;
        case 'HELO':
          reply('250 capture-sink.invalid');
          reset();
          return;
        case 'MAIL': {
          const a = /^ FROM:(.*)$/i.exec(arg);
          const addr = a ? addrOf(a[1]!) : null;
          if (addr === null) return void reply('501 5.5.4 Syntax: MAIL FROM:<address>');
          const wantsUtf8 = paramsOf(a![1]!).includes('SMTPUTF8');
          if (NON_ASCII.test(addr) && !wantsUtf8) return void reply('553 5.6.7 Non-ASCII address without SMTPUTF8');
          from = addr;
          utf8 = wantsUtf8;
          rcpts = [];
          return void reply('250 2.1.0 Ok');
        }
        case 'RCPT': {
          if (from === null) return void reply('503 5.5.1 Need MAIL first');
          const a = /^ TO:(.*)$/i.exec(arg);
          const addr = a ? addrOf(a[1]!) : null;
          if (!addr) return void reply('501 5.5.4 Syntax: RCPT TO:<address>');
          if (NON_ASCII.test(addr) && !utf8) return void reply('553 5.6.7 Non-ASCII address without SMTPUTF8');
          rcpts.push(addr);
          return void reply('250 2.1.5 Ok');
        }
        case 'DATA':
          if (from === null || rcpts.length === 0) return void reply('503 5.5.1 Need RCPT first');
          inData = true;
          return void reply('354 End data with <CR><LF>.<CR><LF>');
        case 'RSET':
          reset();
          return void reply('250 2.0.0 Ok');
        case 'NOOP':
          return void reply('250 2.0.0 Ok');
        case 'QUIT':
          reply('221 2.0.0 Bye');
          sock.end();
          return;
        default:
          return void reply('502 5.5.2 Command not implemented');
      }
    };

    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const i = buf.indexOf('\n');
        if (i < 0) break;
        const end = i > 0 && buf[i - 1] === 0x0d ? i - 1 : i;
        const line = buf.subarray(0, end);
        buf = buf.subarray(i + 1);
        onLine(line);
      }
    });
    reply('220 capture-sink.invalid ESMTP test sink');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  log(`listening on ${opts.host ?? '127.0.0.1'}:${port}`);

  return {
    port,
    messages,
    waitFor(pred, timeoutMs = 20000) {
      const hit = messages.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (m: CapturedMessage) => {
            clearTimeout(t);
            resolve(m);
          },
        };
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`capture sink: no matching message within ${timeoutMs} ms (${messages.length} captured)`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    clear() {
      messages.length = 0;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
