// Shared pieces of the migration suites: the seeded source mailbox (real messages appended with
// imapflow, an independent IMAP client), a snapshot of any mailbox as a real Dovecot shows it, the
// panel's worker as a separate process (so a test can SIGKILL it), and GraphQL documents.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImapFlow } from 'imapflow';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const SOURCE_USER = 'old@legacy.test';
export const SOURCE_PASSWORD = 'OldPass1-src';

export function imap(port: number, user: string, pass: string): ImapFlow {
  const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user, pass }, logger: false, disableAutoIdle: true } as never);
  c.on('error', () => {});
  return c;
}

let n = 0;
export function message(opts: { subject: string; messageId?: string | null; body?: string | Buffer; date?: string; headers?: string }): Buffer {
  const id = opts.messageId === undefined ? `<seed-${++n}-${Date.now()}@legacy.test>` : opts.messageId;
  const head =
    `From: Old Sender <sender@legacy.test>\r\nTo: old@legacy.test\r\nSubject: ${opts.subject}\r\nDate: ${opts.date ?? 'Mon, 01 Jan 2024 10:00:00 +0000'}\r\n` +
    (id ? `Message-ID: ${id}\r\n` : '') +
    (opts.headers ?? '') +
    'MIME-Version: 1.0\r\n';
  const body = opts.body ?? `Hello, this is ${opts.subject}.\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]);
}

/** A message with an 8-bit UTF-8 body (no transfer encoding), as many real mailboxes hold. */
export function eightBit(subject: string): Buffer {
  return message({
    subject,
    headers: 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n',
    body: Buffer.from('\r\nGrüße aus Köln — Ünïcödé, 日本語, and raw bytes ok.\r\n', 'utf8'),
  });
}

/** A ~3 MB message (base64 attachment). */
export function large(subject: string, bytes = 3 * 1024 * 1024): Buffer {
  const payload = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) payload[i] = (i * 7919) & 0xff;
  const b64 = payload.toString('base64').replace(/.{76}/g, '$&\r\n');
  return message({
    subject,
    headers: 'Content-Type: multipart/mixed; boundary="b1"\r\n',
    body: `\r\n--b1\r\nContent-Type: text/plain\r\n\r\nSee attachment.\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b1--\r\n`,
  });
}

export interface SeedSpec {
  folder: string;
  raw: Buffer;
  flags?: string[];
  date?: Date;
}

export async function seed(c: ImapFlow, items: SeedSpec[]): Promise<void> {
  const folders = [...new Set(items.map((i) => i.folder))];
  const existing = new Set((await c.list()).map((m) => m.path));
  for (const f of folders) if (!existing.has(f)) await c.mailboxCreate(f);
  for (const i of items) await c.append(i.folder, i.raw, i.flags ?? [], i.date);
}

export interface MessageSnapshot {
  key: string;
  flags: string[];
  date: string;
  sha: string;
  size: number;
}
export type MailboxSnapshot = Record<string, MessageSnapshot[]>;

/**
 * Every selectable folder with every message: Message-ID (or subject) as key, flags without
 * \Recent, INTERNALDATE, SHA-256 of the bytes, size. `rename` maps folder names (source → target
 * naming) so two snapshots can be compared with toEqual.
 */
export async function snapshot(port: number, user: string, pass: string, rename: (f: string) => string = (f) => f): Promise<MailboxSnapshot> {
  const c = imap(port, user, pass);
  await c.connect();
  try {
    const out: MailboxSnapshot = {};
    for (const box of await c.list()) {
      if (box.flags.has('\\Noselect') || box.flags.has('\\NonExistent')) continue;
      const msgs: MessageSnapshot[] = [];
      const opened = await c.mailboxOpen(box.path, { readOnly: true });
      if (opened.exists) {
        for await (const m of c.fetch('1:*', { uid: true, flags: true, internalDate: true, source: true, envelope: true })) {
          const src = m.source!;
          msgs.push({
            key: m.envelope?.messageId ?? `subject:${m.envelope?.subject}`,
            flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort(),
            date: new Date(m.internalDate as Date).toISOString(),
            // Dovecot may store LF or CRLF; compare the content, not the line ending.
            sha: createHash('sha256').update(src.toString('latin1').replace(/\r\n/g, '\n')).digest('hex'),
            size: src.length,
          });
        }
      }
      const name = rename(box.path);
      out[name] = [...(out[name] ?? []), ...msgs].sort((a, b) => a.key.localeCompare(b.key) || a.sha.localeCompare(b.sha));
    }
    return out;
  } finally {
    await c.logout().catch(() => {});
  }
}

export function counts(s: MailboxSnapshot): Record<string, number> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.length]));
}

/** The panel worker in its own process (node --import tsx), with the given environment. */
/** The environment the migration suites give the panel and its worker processes: their database and
 *  data folder, the mail stack's settings, fixed secrets, a short lease, no quota schedule; `extra`
 *  adds or overrides what a suite needs. */
export function migrationEnv(db: { url: string }, dataDir: string, panelEnv: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    ...panelEnv,
    JWT_SECRET: createHash('sha256').update('jwt').digest('hex'),
    ENCRYPTION_KEY: createHash('sha256').update('key').digest('hex'),
    MIGRATION_LEASE_SECONDS: '6',
    QUOTA_REFRESH_CRON: 'off',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    ...extra,
  };
}

export function startWorkerProcess(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string; stop(): Promise<void>; kill(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'e2e/mailstack/migration-worker.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (out = (out + d.toString()).slice(-20000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15000))]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`worker did not start:\n${out}`)), 30000);
    const check = () => {
      if (out.includes('migration worker ready')) {
        clearTimeout(t);
        resolve({ child, output: () => out, stop: () => stopWith('SIGTERM'), kill: () => stopWith('SIGKILL') });
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`worker exited ${code}:\n${out}`));
    });
  });
}

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } }`;
export const MIGRATION_FIELDS = `id status phase engine runs foldersDone foldersTotal messagesCopied messagesSkipped messagesFailed messagesTotal bytesCopied rate etaSeconds
  error { code message } attempt { attempt maxAttempts nextRetryAt } startedAt finishedAt
  folders { sourceName targetName specialUse status engine lastUid messagesTotal messagesCopied messagesSkipped messagesFailed note }`;
export const START = `mutation($m:ID!,$s:ImapSourceInput!){ r: startMigration(mailboxId:$m, source:$s){ __typename ... on MutationStartMigrationSuccess { migration { ${MIGRATION_FIELDS} } } ${ERR} } }`;
export const RETRY = `mutation($id:ID!,$p:String!){ r: retryMigration(id:$id, password:$p){ __typename ... on MutationRetryMigrationSuccess { migration { id status runs } } ${ERR} } }`;
export const CANCEL = `mutation($id:ID!){ r: cancelMigration(id:$id){ __typename ... on MutationCancelMigrationSuccess { migration { id status cancelRequested } } ${ERR} } }`;
export const NODE = `query($id:ID!){ node(id:$id){ ... on Migration { ${MIGRATION_FIELDS} } } }`;
export const TEST_CONNECTION = `mutation($s:ImapSourceInput!,$m:ID){ r: testImapConnection(source:$s, mailboxId:$m){ __typename
  ... on MutationTestImapConnectionSuccess { result { totalMessages totalBytes tls fitsQuota quotaFreeBytes folders { name targetName specialUse messages sizeBytes copied } } }
  ... on SourceAuthenticationError { code } ... on SourceTlsError { code } ... on SourceUnreachableError { code } ... on SourceTimeoutError { code } ... on SourceServerError { code } ${ERR} } }`;
