// The policy service's database side: who a SASL login is (mailbox, domain, customer, limits) and the
// hourly counters in rate_limit_counters, shared by every mail node through PostgreSQL.
//
// Invariants:
// - consume() decides a batch atomically. Usual path, one statement in one round trip (autocommit): it
//   row-locks the batch's counters in sorted key order, and only if every counter exists and has room
//   for everything the batch would add (all messages accepted) does it add those amounts; otherwise it
//   changes nothing. When everything fits, accepting every message in arrival order is exactly what
//   one-at-a-time processing would do. Counters this store has not seen in the current hour are first
//   created with count 0 (one more statement; nothing to decide, so no lock is held across it).
// - Exact path, when a limit is within reach of the batch: one transaction in two round trips. It adds
//   the tentative amounts (INSERT … ON CONFLICT DO UPDATE, in the same sorted key order), which
//   row-locks them and returns their counts; decideBatch() (pure) decides in arrival order against the
//   counts before the batch; the amounts of refused messages are taken back and it commits. Nobody else
//   sees tentative amounts: the rows stay locked until COMMIT.
// - Every statement takes its locks in the same (sorted key) order, so batches never deadlock; two
//   policy services (or nodes) on the same counter serialise on its row lock: a limit is never
//   overshot. The set of counters known to exist only saves round trips; when it is wrong the
//   statement finds out and the exact path runs.
// - The connection runs with synchronous_commit off: a commit does not wait for the WAL flush. A
//   PostgreSQL crash can forget the last fraction of a second of increments (a few e-mails more may
//   pass after a crash), never corrupt them; in exchange a decision costs no disk flush.
// - Lookups are parameterised; the login is compared lower-cased with the stored (lower-case) address.
import pg from 'pg';
import { LIMIT_KINDS, decideBatch, effectiveLimit, hourWindow, senderCounters, type BatchItem, type Decision, type Sender } from '@mailpanel/core/rate-limit';

// The fast path is one prepared statement (planned once per connection). `locked` takes the row locks
// one counter after another in the batch's order (a LATERAL subquery with a locking clause is never
// flattened: a nested loop over the array, each counter found by its primary key whatever the table's
// statistics say) and sees each counter's latest committed count. The write can only get a row after
// `fits` has read all of `locked`, so nothing is written before every lock is held and the check passed.
// It is an INSERT … ON CONFLICT DO UPDATE only so that each counter is found by its primary key (the
// arbiter) and updated in its latest version: every counter exists, so nothing is inserted. A counter
// that does not exist yet (or was created after the statement's snapshot) is missing from `locked`:
// then `fits` is false and nothing changes.
const ADD_IF_ALL_FIT = {
  name: 'rate-limit-add-if-all-fit',
  text: `WITH locked AS (
           SELECT b.kind, b.key, b.n, b.lim, c.count
             FROM unnest($2::"RateLimitKind"[], $3::uuid[], $4::int[], $5::int[]) WITH ORDINALITY AS b(kind, key, n, lim, ord)
            CROSS JOIN LATERAL (
                  SELECT count FROM rate_limit_counters c
                   WHERE c.kind = b.kind AND c.key = b.key AND c.window_start = $1
                     FOR NO KEY UPDATE) c),
         fits AS (
           SELECT count(*) = cardinality($3::uuid[]) AND coalesce(bool_and(lim IS NULL OR count + n <= lim), false) AS ok FROM locked)
         INSERT INTO rate_limit_counters AS c (kind, key, window_start, count)
         SELECT l.kind, l.key, $1, l.n FROM locked l, fits WHERE fits.ok
         ON CONFLICT (kind, key, window_start) DO UPDATE SET count = c.count + excluded.count, updated_at = now()`,
};

const CREATE_COUNTERS = {
  name: 'rate-limit-create-counters',
  text: `INSERT INTO rate_limit_counters (kind, key, window_start, count)
         SELECT b.kind, b.key, $1, 0 FROM unnest($2::"RateLimitKind"[], $3::uuid[]) WITH ORDINALITY AS b(kind, key, ord)
          ORDER BY b.ord
         ON CONFLICT (kind, key, window_start) DO NOTHING`,
};

// The exact path's statements are sent as one simple-protocol query each (two statements in one round trip),
// which cannot carry parameters: their only values are built here from validated parts — counter
// kinds from a fixed list, UUIDs that match the UUID pattern, safe integers and a Date — never from
// text a client sent.
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidArray(ids: readonly string[]): string {
  for (const id of ids) if (!UUID_RE.test(id)) throw new Error('rate limit counters: not a UUID');
  return `'{${ids.join(',')}}'::uuid[]`;
}

function kindArray(kinds: readonly string[]): string {
  for (const k of kinds) if (!(LIMIT_KINDS as readonly string[]).includes(k)) throw new Error('rate limit counters: unknown kind');
  return `'{${kinds.join(',')}}'::text[]`;
}

function intArray(ns: readonly number[]): string {
  for (const n of ns) if (!Number.isSafeInteger(n)) throw new Error('rate limit counters: not an integer');
  return `'{${ns.join(',')}}'::int[]`;
}

function tsLiteral(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new Error('rate limit counters: invalid date');
  return `'${d.toISOString()}'::timestamptz`;
}

/** Per counter, the lowest limit any item of the batch carries for it (null: unlimited for all). */
function strictestLimits(items: readonly BatchItem[]): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const item of items) {
    for (const c of senderCounters(item.sender)) {
      const prev = out.get(c.key);
      out.set(c.key, prev == null ? c.limit : c.limit === null ? prev : Math.min(prev, c.limit));
    }
  }
  return out;
}

export class CounterStore {
  readonly pool: pg.Pool;
  /** Batches decided in one statement (everything fitted) or on the exact path; batches that created counters first. */
  readonly paths = { allFit: 0, createdCounters: 0, exact: 0 };
  /** Counters known to exist in `existingWindow` (see the header: an optimisation only). */
  private existing = new Set<string>();
  private existingWindow = 0;

  constructor(connectionString: string, opts: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString, max: opts.max ?? 4, options: '-c synchronous_commit=off' });
    this.pool.on('error', () => {});
  }

  /** The package's message size limit (MB) of the customer owning each domain; a domain without
   *  one (the server's limit applies) or unknown to the panel is absent from the map. */
  async lookupMessageSizeLimitsMb(domains: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (domains.length === 0) return out;
    const r = await this.pool.query<{ name: string; mb: number }>(
      `SELECT d.name, p.max_message_size_mb AS mb
         FROM domains d JOIN customers c ON c.id = d.customer_id JOIN hosting_packages p ON p.id = c.package_id
        WHERE d.name = ANY($1::text[]) AND p.max_message_size_mb IS NOT NULL`,
      [domains],
    );
    for (const row of r.rows) out.set(row.name, row.mb);
    return out;
  }

  /** The senders for these logins; a login that is not an active mailbox is absent from the map. */
  async lookupSenders(addresses: readonly string[]): Promise<Map<string, Sender>> {
    const out = new Map<string, Sender>();
    if (addresses.length === 0) return out;
    const r = await this.pool.query<{
      address: string;
      mailbox_id: string;
      domain_id: string;
      customer_id: string;
      mailbox_limit: number;
      mailbox_override: number | null;
      domain_limit: number;
      domain_override: number | null;
      customer_limit: number;
    }>(
      `SELECT m.address, m.id AS mailbox_id, d.id AS domain_id, c.id AS customer_id,
              p.max_emails_per_hour_mailbox AS mailbox_limit, m.max_emails_per_hour_override AS mailbox_override,
              p.max_emails_per_hour_domain AS domain_limit, d.max_emails_per_hour_override AS domain_override,
              p.max_emails_per_hour AS customer_limit
         FROM mailboxes m
         JOIN domains d ON d.id = m.domain_id
         JOIN customers c ON c.id = d.customer_id
         JOIN hosting_packages p ON p.id = c.package_id
        WHERE m.address = ANY($1::text[])`,
      [addresses],
    );
    for (const row of r.rows) {
      out.set(row.address, {
        address: row.address,
        mailboxId: row.mailbox_id,
        domainId: row.domain_id,
        customerId: row.customer_id,
        limits: {
          MAILBOX: effectiveLimit(row.mailbox_limit, row.mailbox_override),
          DOMAIN: effectiveLimit(row.domain_limit, row.domain_override),
          CUSTOMER: effectiveLimit(row.customer_limit, null),
        },
      });
    }
    return out;
  }

  /** Decides and counts a batch atomically (see the header). */
  async consume(items: readonly BatchItem[], now = new Date()): Promise<{ decisions: Decision[]; windowStart: Date }> {
    const windowStart = hourWindow(now);
    // What the batch would add to each counter if every message were accepted.
    const tentative = new Map<string, { kind: string; id: string; n: number }>();
    for (const item of items) {
      const cost = Math.max(1, Math.floor(item.cost));
      for (const c of senderCounters(item.sender)) {
        const t = tentative.get(c.key);
        if (t) t.n += cost;
        else tentative.set(c.key, { kind: c.kind, id: c.id, n: cost });
      }
    }
    const sorted = [...tentative.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (windowStart.getTime() !== this.existingWindow) {
      this.existing.clear();
      this.existingWindow = windowStart.getTime();
    }
    const client = await this.pool.connect();
    try {
      const unseen = sorted.filter(([key]) => !this.existing.has(key));
      if (unseen.length > 0) {
        await client.query({ ...CREATE_COUNTERS, values: [windowStart, unseen.map(([, v]) => v.kind), unseen.map(([, v]) => v.id)] });
        this.paths.createdCounters++;
      }
      const limits = strictestLimits(items);
      const added = await client.query({
        ...ADD_IF_ALL_FIT,
        values: [windowStart, sorted.map(([, v]) => v.kind), sorted.map(([, v]) => v.id), sorted.map(([, v]) => v.n), sorted.map(([key]) => limits.get(key) ?? null)],
      });
      for (const [key] of unseen) this.existing.add(key);
      if (added.rowCount === sorted.length) {
        this.paths.allFit++;
        return { decisions: items.map(() => ({ allowed: true })), windowStart };
      }
      if (added.rowCount !== 0) throw new Error(`rate limit counters: ${added.rowCount} of ${sorted.length} counters added`);
      this.paths.exact++;
      return await this.consumeExactly(client, items, tentative, sorted, windowStart);
    } finally {
      client.release();
    }
  }

  /** The exact path (see the header): a limit may be reached (or a counter was missing after all). */
  private async consumeExactly(
    client: pg.PoolClient,
    items: readonly BatchItem[],
    tentative: ReadonlyMap<string, { kind: string; id: string; n: number }>,
    sorted: readonly [string, { kind: string; id: string; n: number }][],
    windowStart: Date,
  ): Promise<{ decisions: Decision[]; windowStart: Date }> {
    try {
      // Round trip 1: add the tentative amounts (creating missing rows), which row-locks every counter
      // of the batch until COMMIT, and read back the new counts: the count before the batch is the new
      // one minus the tentative amount.
      const [, added] = (await client.query(
        `BEGIN;
         INSERT INTO rate_limit_counters AS c (kind, key, window_start, count)
         SELECT k.kind::"RateLimitKind", k.key, ${tsLiteral(windowStart)}, k.n
           FROM unnest(${kindArray(sorted.map(([, v]) => v.kind))}, ${uuidArray(sorted.map(([, v]) => v.id))}, ${intArray(sorted.map(([, v]) => v.n))})
                WITH ORDINALITY AS k(kind, key, n, ord)
          ORDER BY k.ord
         ON CONFLICT (kind, key, window_start) DO UPDATE SET count = c.count + excluded.count, updated_at = now()
         RETURNING c.kind::text AS kind, c.key::text AS key, c.count`,
      )) as unknown as [unknown, pg.QueryResult<{ kind: string; key: string; count: number }>];
      const before = new Map(added.rows.map((r) => {
        const key = `${r.kind}:${r.key}`;
        return [key, r.count - (tentative.get(key)?.n ?? 0)] as const;
      }));
      const { decisions, increments } = decideBatch(items, before);
      // Round trip 2: take back what refused messages would have added (only when some were refused).
      const corrections = sorted.filter(([key, v]) => (increments.get(key) ?? 0) !== v.n);
      await client.query(
        corrections.length === 0
          ? 'COMMIT'
          : `UPDATE rate_limit_counters AS c SET count = c.count + i.n
               FROM unnest(${kindArray(corrections.map(([, v]) => v.kind))}, ${uuidArray(corrections.map(([, v]) => v.id))}, ${intArray(corrections.map(([key, v]) => (increments.get(key) ?? 0) - v.n))}) AS i(kind, key, n)
              WHERE c.kind = i.kind::"RateLimitKind" AND c.key = i.key AND c.window_start = ${tsLiteral(windowStart)};
             COMMIT`,
      );
      return { decisions, windowStart };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  /** Deletes counters of windows that ended more than `keepHours` ago. */
  async prune(now = new Date(), keepHours = 48): Promise<number> {
    const r = await this.pool.query(`DELETE FROM rate_limit_counters WHERE window_start < $1`, [new Date(hourWindow(now).getTime() - keepHours * 3600 * 1000)]);
    return r.rowCount ?? 0;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}


