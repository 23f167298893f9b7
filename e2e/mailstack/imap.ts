// IMAP checks with a client library nobody here wrote (imapflow): what a mail user would see.
import { ImapFlow } from 'imapflow';

export interface ImapAccount {
  port: number;
  user: string;
  pass: string;
}

function client(a: ImapAccount): ImapFlow {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: a.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: a.user, pass: a.pass },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
  });
  c.on('error', () => {}); // surfaced by the awaited calls
  return c;
}

/** Runs `fn` in a logged-in session; null when the server refuses the login. */
export async function withImap<T>(a: ImapAccount, fn: (c: ImapFlow) => Promise<T>): Promise<T | null> {
  const c = client(a);
  try {
    await c.connect();
  } catch (e) {
    c.close();
    if ((e as { authenticationFailed?: boolean }).authenticationFailed) return null;
    throw e;
  }
  try {
    return await fn(c);
  } finally {
    await c.logout().catch(() => c.close());
  }
}

export async function imapCanLogin(a: ImapAccount): Promise<boolean> {
  return (await withImap(a, async () => true)) === true;
}

/** Subjects of the messages in a folder (INBOX by default), oldest first. Throws if login fails. */
export async function imapSubjects(a: ImapAccount, folder = 'INBOX'): Promise<string[]> {
  const r = await withImap(a, async (c) => {
    const box = await c.mailboxOpen(folder, { readOnly: true });
    if (box.exists === 0) return [];
    const out: string[] = [];
    for await (const m of c.fetch('1:*', { envelope: true })) out.push(m.envelope?.subject ?? '');
    return out;
  });
  if (r === null) throw new Error(`IMAP login refused for ${a.user}`);
  return r;
}

/** GETQUOTAROOT INBOX as imapflow reports it (bytes), or null without a quota. */
export async function imapQuota(a: ImapAccount): Promise<{ usedBytes: number; limitBytes: number | null; messages: number | null } | null> {
  const r = await withImap(a, async (c) => {
    const q = await c.getQuota('INBOX');
    if (!q || !q.storage) return null;
    return { usedBytes: q.storage.usage ?? 0, limitBytes: q.storage.limit ?? null, messages: q.message?.usage ?? null };
  });
  if (r === undefined) throw new Error('unreachable');
  return r;
}
