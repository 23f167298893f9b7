// The Postfix policy service for outbound rate limits (hooked into the submission port's
// smtpd_end_of_data_restrictions, see deploy/templates/postfix/master.cf). One request per message:
// an authenticated sender's message is counted against its mailbox, domain and customer limits and
// answered `action=DUNNO` (go on) or `action=DEFER_IF_PERMIT 4.7.1 …` (try later).
//
// It also answers the per-recipient message size check at RCPT (smtpd_recipient_restrictions, MX
// and submission): the SIZE= a client announced in MAIL FROM above the recipient's hosting package
// limit is refused with 552 5.3.4 before DATA. A domain without a package limit, an unknown domain
// or a failed lookup is DUNNO: Postfix's own message_size_limit (the server's) still applies, so this
// check fails open to the server's limit (the restriction is configured with default_action=DUNNO).
//
// Throughput without giving up exactness: requests that arrive while the database is busy are
// decided together in the next batch (CounterStore.consume: usually one statement), with up to `lanes`
// batches in flight, so a request that arrives just after a batch started goes into the next one at
// once instead of waiting for the first to finish. At low load a batch is one request, so nothing
// waits for a timer. Answers on a connection go out in the order its requests came in.
//
// A sender's limits are used for at most POLICY_CACHE_SECONDS after they were read; once half that
// time has passed, the next request re-reads them in the background (and is decided with the cached
// ones), so a sender that keeps sending never waits for the lookup. 0 = read for every request.
//
// Failure policy: a request that cannot be decided (database down) is answered with a temporary
// failure — mail waits in the client's queue instead of bypassing the limits. Requests that are not
// ours (no SASL login, another protocol state, a login that is not a mailbox) get DUNNO.
import net from 'node:net';
import { log } from '@mailpanel/core/logger';
import { CounterStore } from './counter-store.js';
import { formatResponse, PolicyProtocolError, PolicyRequestParser, policyQuery, type PolicyRequest } from './protocol.js';
import { messageSizeRefusal } from '@mailpanel/core/message-size';
import { deferMessage, type BatchItem, type Decision, type Sender } from '@mailpanel/core/rate-limit';

export const DUNNO = 'DUNNO';
export const UNAVAILABLE = 'DEFER_IF_PERMIT 4.3.0 Sending limits cannot be checked right now; try again later';
/** How long background re-reads of senders' limits are gathered into one query. */
const REFRESH_BATCH_MS = 50;

export interface PolicyServerOptions {
  store: CounterStore;
  host?: string;
  port?: number;
  /** Seconds a sender's limits are reused before being read again. */
  cacheSeconds?: number;
  /** Largest batch decided in one transaction. */
  maxBatch?: number;
  /** Batches in flight at once. */
  lanes?: number;
}

export interface PolicyServer {
  port: number;
  host: string;
  /** Decides one request (what a connection does for each request; exposed for tests). */
  decide(req: PolicyRequest): Promise<string>;
  /** Batches run and decisions counted so far. */
  stats(): { batches: number; counted: number };
  close(): Promise<void>;
}

interface Pending {
  item: BatchItem;
  resolve: (d: { decision: Decision; windowStart: Date }) => void;
  reject: (e: unknown) => void;
}

export async function startPolicyServer(opts: PolicyServerOptions): Promise<PolicyServer> {
  const store = opts.store;
  const cacheMs = (opts.cacheSeconds ?? 10) * 1000;
  const maxBatch = opts.maxBatch ?? 256;
  const lanes = opts.lanes ?? 2;

  // --- sender lookups, cached and batched ---
  interface Cached {
    sender: Sender | null;
    /** Used until then (read time + cacheMs). */
    expires: number;
    /** From then on, a request re-reads it in the background (read time + cacheMs / 2). */
    refreshAt: number;
    refreshing: boolean;
  }
  const cache = new Map<string, Cached>();
  // Reads are batched: one query for every login queued until `later` runs the batch — the next turn
  // of the event loop for a request that waits for it, REFRESH_BATCH_MS for background re-reads (no
  // request waits for those, so they are gathered into few queries).
  const batchedReads = (later: (run: () => void) => void) => {
    let queued = new Map<string, { resolve: (s: Sender | null) => void; reject: (e: unknown) => void }[]>();
    const run = async () => {
      const batch = queued;
      queued = new Map();
      const readAt = Date.now();
      try {
        const found = await store.lookupSenders([...batch.keys()]);
        for (const [addr, waiters] of batch) {
          const s = found.get(addr) ?? null;
          if (cacheMs > 0) cache.set(addr, { sender: s, expires: readAt + cacheMs, refreshAt: readAt + cacheMs / 2, refreshing: false });
          for (const w of waiters) w.resolve(s);
        }
      } catch (e) {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(e);
      }
    };
    return (address: string): Promise<Sender | null> =>
      new Promise((resolve, reject) => {
        if (queued.size === 0) later(() => void run());
        const list = queued.get(address) ?? [];
        list.push({ resolve, reject });
        queued.set(address, list);
      });
  };
  const read = batchedReads((run) => setImmediate(run));
  const refresh = batchedReads((run) => setTimeout(run, REFRESH_BATCH_MS));
  const lookup = (address: string): Promise<Sender | null> | Sender | null => {
    const hit = cache.get(address);
    const now = Date.now();
    if (!hit || hit.expires <= now) return read(address);
    if (now >= hit.refreshAt && !hit.refreshing) {
      hit.refreshing = true;
      // A failed refresh keeps the entry until it expires; the next request after that reads it again.
      refresh(address).catch(() => (hit.refreshing = false));
    }
    return hit.sender;
  };

  // --- counting, batched ---
  const queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;
  const stats = { batches: 0, counted: 0 };
  // A batch starts after the current I/O phase: every request already read from any connection joins
  // it (bigger batches under load, no timer, so no added wait at low load).
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  };
  const pump = () => {
    while (inFlight < lanes && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      inFlight++;
      stats.batches++;
      stats.counted += batch.length;
      store
        .consume(batch.map((p) => p.item))
        .then(
          ({ decisions, windowStart }) => batch.forEach((p, i) => p.resolve({ decision: decisions[i]!, windowStart })),
          (e) => batch.forEach((p) => p.reject(e)),
        )
        .finally(() => {
          inFlight--;
          schedule();
        });
    }
  };
  const count = (item: BatchItem) =>
    new Promise<{ decision: Decision; windowStart: Date }>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      schedule();
    });

  // --- message size limits per recipient domain (read at most every cacheMs) ---
  const sizeLimits = new Map<string, { mb: number | null; expires: number }>();
  const sizeLimitMb = async (domain: string): Promise<number | null> => {
    const hit = sizeLimits.get(domain);
    if (hit && hit.expires > Date.now()) return hit.mb;
    const mb = (await store.lookupMessageSizeLimitsMb([domain])).get(domain) ?? null;
    if (sizeLimits.size > 10_000) sizeLimits.clear();
    sizeLimits.set(domain, { mb, expires: Date.now() + cacheMs });
    return mb;
  };
  const decideSize = async (req: PolicyRequest): Promise<string> => {
    const size = Number(req.get('size') ?? '0');
    const recipient = (req.get('recipient') ?? '').toLowerCase();
    const domain = recipient.slice(recipient.lastIndexOf('@') + 1);
    if (!(size > 0) || !recipient.includes('@') || domain === '') return DUNNO;
    try {
      const mb = await sizeLimitMb(domain);
      return (mb !== null && messageSizeRefusal(size, mb * 1024 * 1024)) || DUNNO;
    } catch (err) {
      log.warn('policy: cannot read the message size limit; the server limit applies', { err });
      return DUNNO;
    }
  };

  const decide = async (req: PolicyRequest): Promise<string> => {
    const q = policyQuery(req);
    if ((req.get('request') ?? '') !== 'smtpd_access_policy') return DUNNO;
    if (q.state === 'RCPT') return decideSize(req);
    if (q.state !== 'END-OF-MESSAGE' || q.saslUsername === '') return DUNNO;
    try {
      const sender = await lookup(q.saslUsername);
      if (!sender) return DUNNO;
      const { decision, windowStart } = await count({ sender, cost: Math.max(1, q.recipientCount) });
      if (decision.allowed) return DUNNO;
      log.info('policy: sending limit reached', { sender: sender.address, kind: decision.exceeded.kind, limit: decision.exceeded.limit, queueId: q.queueId });
      return `DEFER_IF_PERMIT 4.7.1 ${deferMessage(decision.exceeded, sender, windowStart)}`;
    } catch (err) {
      log.warn('policy: cannot decide', { err });
      return UNAVAILABLE;
    }
  };

  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.setEncoding('utf8');
    const parser = new PolicyRequestParser();
    let chain: Promise<void> = Promise.resolve();
    sock.on('data', (chunk: string) => {
      let reqs: PolicyRequest[];
      try {
        reqs = parser.push(chunk);
      } catch (e) {
        if (e instanceof PolicyProtocolError) log.warn('policy: protocol error; closing the connection', { reason: e.message });
        sock.destroy();
        return;
      }
      for (const req of reqs) {
        const answer = decide(req);
        chain = chain.then(async () => {
          const a = await answer;
          if (!sock.destroyed) sock.write(formatResponse(a));
        });
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    host,
    decide,
    stats: () => ({ ...stats }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.end();
        setTimeout(() => sockets.forEach((s) => s.destroy()), 1000).unref();
      });
    },
  };
}
