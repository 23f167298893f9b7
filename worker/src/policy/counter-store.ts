// The policy service's database side: who a SASL login is (mailbox, domain, customer, limits) and the
// hourly counters in rate_limit_counters, shared by every mail node through PostgreSQL.
//
// Invariants:
// - consume() is one transaction per batch, in two round trips. First it adds to every counter of the
//   batch what the batch would add if all its messages were accepted (INSERT … ON CONFLICT DO UPDATE,
//   in sorted key order so two batches never deadlock), which row-locks them and returns their counts;
//   decideBatch() (pure) decides in arrival order against the counts before the batch; then the
//   amounts of refused messages are taken back (usually nothing to take back) and it commits. Nobody
//   else sees the tentative amounts: the rows stay locked until COMMIT. Two policy services (or
//   nodes) on the same counter serialise on its row lock: a limit is never overshot.
// - The connection runs with synchronous_commit off: a commit does not wait for the WAL flush. A
//   PostgreSQL crash can forget the last fraction of a second of increments (a few e-mails more may
//   pass after a crash), never corrupt them; in exchange a decision costs no disk flush.
// - Lookups are parameterised; the login is compared lower-cased with the stored (lower-case) address.
import pg from 'pg';
import { LIMIT_KINDS, decideBatch, effectiveLimit, hourWindow, senderCounters, type BatchItem, type Decision, type Sender } from '@mailpanel/core/rate-limit';

// The batch statements are sent as one simple-protocol query each (two statements in one round trip),
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

export class CounterStore {
  readonly pool: pg.Pool;

  constructor(connectionString: string, opts: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString, max: opts.max ?? 4, options: '-c synchronous_commit=off' });
    this.pool.on('error', () => {});
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
    const client = await this.pool.connect();
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
    } finally {
      client.release();
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


