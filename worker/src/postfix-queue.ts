// Deletion is final for queued mail: before a deleted mailbox's files and row go, nothing Postfix
// still holds for its address may survive — otherwise a mailbox re-created with the same address (the
// API refuses that only while the old row exists) would receive it.
//
// Called while the mailbox is DELETING: it has left the views, so Postfix refuses new mail for it
// at RCPT (or a catch-all takes it, rewritten at once) and Dovecot's LMTP answers "user doesn't
// exist" for it. For every queued message with a recipient of that address (also +tag forms):
// - on hold with no other recipient: removed (postsuper -d) — it was not going anywhere;
// - on hold with other recipients: released, then as below;
// - anywhere else (deferred, active, incoming): delivered now (postqueue -i), so that recipient
//   bounces back to the sender (5.1.1) while the others are delivered as usual.
// It waits until the listing shows no such recipient AND every queue file that was being received
// when it started (incoming/) has been committed and handled: a message whose RCPT was accepted just
// before the mailbox left the views is still in the queue's incoming folder. Idempotent; a timeout
// (Dovecot down, so the bounce itself is deferred) throws, and the job is retried.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

export interface Postfix {
  /** postfix's config directory (-c). */
  configDir: string;
  /** Folder of postqueue, postsuper, postconf. */
  commandDir: string;
}

export interface QueuedMessage {
  queueName: string;
  queueId: string;
  recipients: string[];
}

/** Parses `postqueue -j` (one JSON object per line). */
export function parsePostqueueJson(stdout: string): QueuedMessage[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const j = JSON.parse(l) as { queue_name: string; queue_id: string; recipients?: { address: string }[] };
      return { queueName: j.queue_name, queueId: j.queue_id, recipients: (j.recipients ?? []).map((r) => r.address) };
    });
}

/** Whether `recipient` is `address` or one of its +extension forms (case-insensitive). */
export function isRecipientOf(recipient: string, address: string): boolean {
  const r = recipient.toLowerCase();
  const a = address.toLowerCase();
  if (r === a) return true;
  const at = a.lastIndexOf('@');
  const rAt = r.lastIndexOf('@');
  if (at < 1 || rAt < 1 || r.slice(rAt) !== a.slice(at)) return false;
  return r.slice(0, rAt).split('+')[0] === a.slice(0, at);
}

export type QueueAction = { queueId: string; action: 'remove' | 'release-and-deliver' | 'deliver' };

/** What to do with each queued message that still has a recipient of `address`. */
export function planQueueCleanup(queue: QueuedMessage[], address: string): QueueAction[] {
  const out: QueueAction[] = [];
  for (const m of queue) {
    const ours = m.recipients.filter((r) => isRecipientOf(r, address));
    if (ours.length === 0) continue;
    const others = ours.length < m.recipients.length;
    if (m.queueName === 'hold') out.push({ queueId: m.queueId, action: others ? 'release-and-deliver' : 'remove' });
    else out.push({ queueId: m.queueId, action: 'deliver' });
  }
  return out;
}

const QUEUE_ID_RE = /^[0-9A-Za-z]{6,32}$/;

function run(pf: Postfix, cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path.join(pf.commandDir, cmd), ['-c', pf.configDir, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${(stderr || err.message).trim().split('\n').slice(-2).join(' / ').slice(0, 300)}`));
      else resolve(stdout);
    });
  });
}

async function incomingFiles(queueDir: string): Promise<Set<string>> {
  try {
    return new Set((await readdir(path.join(queueDir, 'incoming'), { recursive: true })).map(String));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw e;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function settleQueuedMailFor(pf: Postfix, address: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  const queueDir = (await run(pf, 'postconf', ['-h', 'queue_directory'])).trim();
  const receiving = await incomingFiles(queueDir);
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const acted = new Set<string>();
  for (let round = 0; ; round++) {
    const queue = parsePostqueueJson(await run(pf, 'postqueue', ['-j']));
    const plan = planQueueCleanup(queue, address);
    const stillReceiving = [...(await incomingFiles(queueDir))].filter((f) => receiving.has(f));
    if (plan.length === 0 && stillReceiving.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`Postfix still holds ${plan.length} message(s) for ${address} (${plan.map((a) => a.queueId).join(', ')}); retrying`);
    }
    for (const { queueId, action } of plan) {
      if (!QUEUE_ID_RE.test(queueId)) continue;
      // A message already asked for is asked again only every few rounds (its delivery takes a moment).
      if (acted.has(queueId) && round % 8 !== 0) continue;
      acted.add(queueId);
      if (action === 'remove') await run(pf, 'postsuper', ['-d', queueId]);
      else {
        if (action === 'release-and-deliver') await run(pf, 'postsuper', ['-H', queueId]);
        await run(pf, 'postqueue', ['-i', queueId]).catch(() => {
          /* gone meanwhile (delivered or bounced): the next listing tells */
        });
      }
    }
    await sleep(250);
  }
}
