// The source server, read with imapflow. Thin: connection settings per security mode, folder listing
// with counts and sizes, and two fetches — header fields only (for deduplication) and whole messages
// — each ONE pipelined UID FETCH over a range, streamed message by message, never a round trip per
// message. Every folder is opened read-only (EXAMINE): a migration never changes the source.
import net from 'node:net';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { KEY_HEADERS } from './dedupe.js';
import { classifyError, type ErrorContext } from './errors.js';
import type { SourceFolder } from './folder-mapping.js';

export type Security = 'SSL' | 'STARTTLS' | 'NONE';

export interface SourceSettings {
  host: string;
  port: number;
  security: Security;
  username: string;
  password: string;
}

export interface ListedFolder extends SourceFolder {
  messages: number | null;
  sizeBytes: number | null;
}

export interface SourceMessage {
  uid: number;
  size: number;
  flags: string[];
  internalDate: Date;
  raw: Buffer;
}

export interface SourceHeaderInfo {
  uid: number;
  size: number;
  internalDate: Date | null;
  headers: Buffer;
}

export class SourceConnection {
  private lastError: unknown = null;

  private constructor(
    readonly client: ImapFlow,
    private readonly ctx: ErrorContext,
  ) {
    client.on('error', (err: unknown) => {
      this.lastError = err;
    });
  }

  static async connect(s: SourceSettings, opts: { timeoutMs?: number } = {}): Promise<SourceConnection> {
    const timeout = opts.timeoutMs ?? 20_000;
    const options: ImapFlowOptions & { doSTARTTLS?: boolean } = {
      host: s.host,
      port: s.port,
      secure: s.security === 'SSL',
      doSTARTTLS: s.security === 'STARTTLS',
      servername: /^[\d.]+$|:/.test(s.host) ? undefined : s.host,
      auth: { user: s.username, pass: s.password },
      logger: false,
      emitLogs: false,
      disableAutoIdle: true,
      disableCompression: true,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: 5 * 60_000,
      tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2' },
      clientInfo: { name: 'mailpanel-migration' },
    };
    const client = new ImapFlow(options);
    const conn = new SourceConnection(client, { host: s.host, port: s.port, security: s.security, secrets: [s.password] });
    try {
      await client.connect();
    } catch (err) {
      client.close();
      // imapflow says CONNECT_TIMEOUT also when TCP connected but the TLS handshake never finished
      // (SSL to a server that stays silent): that server did accept — it never greeted.
      if ((err as { code?: string }).code === 'CONNECT_TIMEOUT' && (await tcpAccepts(s.host, s.port, Math.min(timeout, 5000))))
        throw classifyError(Object.assign(new Error('no greeting'), { code: 'GREETING_TIMEOUT' }), conn.ctx);
      throw classifyError(err, conn.ctx);
    }
    return conn;
  }

  /** Runs an operation, turning whatever it throws into a classified MigrationError. */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyError(this.lastError && !(err as { responseStatus?: string }).responseStatus ? this.lastError : err, this.ctx);
    }
  }

  get personalPrefix(): string {
    const ns = (this.client as unknown as { namespaces?: { personal?: { prefix?: string }[] } }).namespaces;
    return ns?.personal?.[0]?.prefix ?? '';
  }

  get hasStatusSize(): boolean {
    return this.client.capabilities.has('STATUS=SIZE');
  }

  async listFolders(withStatus: boolean): Promise<ListedFolder[]> {
    return this.guard(async () => {
      const statusQuery = withStatus ? { messages: true, ...(this.hasStatusSize ? { size: true } : {}) } : undefined;
      const list = await this.client.list(statusQuery ? ({ statusQuery } as never) : undefined);
      return list.map((m) => {
        const status = (m as unknown as { status?: { messages?: number; size?: number } }).status;
        return {
          path: m.path,
          delimiter: m.delimiter ?? null,
          flags: [...m.flags],
          specialUse: m.specialUse ?? null,
          messages: status?.messages ?? null,
          sizeBytes: status?.size ?? null,
        };
      });
    });
  }

  async open(path: string): Promise<{ uidValidity: bigint; uidNext: number | null; exists: number }> {
    return this.guard(async () => {
      const box = await this.client.mailboxOpen(path, { readOnly: true });
      return { uidValidity: BigInt(box.uidValidity), uidNext: box.uidNext ?? null, exists: box.exists };
    });
  }

  /** Sum of RFC822.SIZE when the server has no STATUS=SIZE (one FETCH for the folder). */
  async folderSize(path: string): Promise<number> {
    return this.guard(async () => {
      const box = await this.client.mailboxOpen(path, { readOnly: true });
      if (!box.exists) return 0;
      let total = 0;
      for await (const m of this.client.fetch('1:*', { size: true })) total += m.size ?? 0;
      return total;
    });
  }

  async *headers(fromUid: number, toUid: number | '*'): AsyncGenerator<SourceHeaderInfo> {
    const it = this.client.fetch(`${fromUid}:${toUid}`, { uid: true, size: true, internalDate: true, headers: [...KEY_HEADERS] }, { uid: true });
    try {
      for await (const m of it) {
        if (m.uid < fromUid) continue;
        yield { uid: m.uid, size: m.size ?? 0, internalDate: toDate(m.internalDate), headers: m.headers ?? Buffer.alloc(0) };
      }
    } catch (err) {
      throw classifyError(this.lastError ?? err, this.ctx);
    }
  }

  async *messages(range: string): AsyncGenerator<SourceMessage> {
    const it = this.client.fetch(range, { uid: true, size: true, flags: true, internalDate: true, source: true }, { uid: true });
    try {
      for await (const m of it) {
        yield {
          uid: m.uid,
          size: m.size ?? m.source?.length ?? 0,
          flags: [...(m.flags ?? [])],
          internalDate: toDate(m.internalDate) ?? new Date(),
          raw: m.source ?? Buffer.alloc(0),
        };
      }
    } catch (err) {
      throw classifyError(this.lastError ?? err, this.ctx);
    }
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.client.logout(), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      /* closing anyway */
    }
    this.client.close();
  }
}

/** Whether a plain TCP connection to host:port is accepted within timeoutMs. */
function tcpAccepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function toDate(v: unknown): Date | null {
  if (v instanceof Date) return v;
  if (typeof v === 'string') {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

/** A UID set string for a sorted list of UIDs ("1:3,7,9:10"). */
export function uidSet(uids: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < uids.length; ) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j++;
    parts.push(i === j ? String(uids[i]) : `${uids[i]}:${uids[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
