// The denormalised mailbox facts the listings read instead of joining or counting — mailboxes.customer_id
// and mailbox_counts — must equal what they summarise after any mix of writes, including concurrent
// ones from several connections and a domain handed to another customer. Driven in plain SQL on a
// real PostgreSQL, because the invariant is the triggers' (migrations 20261127030000/040000), not the API's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';

const url = process.env.DATABASE_URL!;
let c: pg.Client;

/** Every mismatch between the live counts and a real count, and every mailbox whose customer_id is not its domain's. */
async function drift(client: pg.Client) {
  const counts = await client.query(`
    SELECT coalesce(r.customer_id, k.customer_id) AS customer_id, coalesce(r.status, k.status) AS status, r.n AS real, k.n AS kept
      FROM (SELECT customer_id, status, count(*) AS n FROM mailboxes WHERE provisioning <> 'DELETING' GROUP BY 1, 2) r
      FULL JOIN (SELECT customer_id, status, n FROM mailbox_counts WHERE n <> 0) k USING (customer_id, status)
     WHERE r.n IS DISTINCT FROM k.n`);
  const owners = await client.query(`SELECT m.address FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE m.customer_id <> d.customer_id`);
  return { counts: counts.rows, owners: owners.rows };
}

async function seed(client: pg.Client, customers: number, domainsEach: number) {
  const pkg = (await client.query(`INSERT INTO hosting_packages (name) VALUES ('cnt-' || gen_random_uuid()) RETURNING id`)).rows[0].id;
  const ids = (await client.query(`INSERT INTO customers (name, package_id) SELECT 'cnt-' || i || '-' || gen_random_uuid(), $2 FROM generate_series(1, $1) i RETURNING id`, [customers, pkg])).rows.map((r) => r.id as string);
  const domains: string[] = [];
  for (const id of ids)
    for (let i = 0; i < domainsEach; i++)
      domains.push((await client.query(`INSERT INTO domains (name, customer_id) VALUES ($1, $2) RETURNING id`, [`d${i}-${id}.test`, id])).rows[0].id);
  return { customers: ids, domains };
}

beforeAll(async () => {
  c = new pg.Client({ connectionString: url });
  await c.connect();
});
afterAll(async () => {
  await c.end();
});

describe('mailbox_counts and mailboxes.customer_id', () => {
  it('follow inserts, status changes, deletion marks, deletes and a domain moving to another customer', async () => {
    const { customers, domains } = await seed(c, 3, 2);
    const insert = (domain: string, n: number, status = 'ACTIVE') =>
      c.query(`INSERT INTO mailboxes (local_part, domain_id, address, password_hash, status)
               SELECT 'u' || i, $1::uuid, 'u' || i || '@' || $1::text || '.x', 'x', $3::"MailboxStatus" FROM generate_series(1, $2) i`, [domain, n, status]);
    await insert(domains[0]!, 40);
    await insert(domains[1]!, 7, 'DISABLED');
    await insert(domains[2]!, 12);
    await insert(domains[4]!, 5);
    // Whatever a writer puts in customer_id, the domain's customer wins.
    await c.query(`INSERT INTO mailboxes (local_part, domain_id, customer_id, address, password_hash) VALUES ('liar', $1, $2, $3, 'x')`, [domains[0], customers[2], `liar@${domains[0]}.x`]);
    expect(await drift(c)).toEqual({ counts: [], owners: [] });
    const kept = async (customer: string, status: string) =>
      Number((await c.query(`SELECT coalesce(sum(n), 0) AS n FROM mailbox_counts WHERE customer_id = $1 AND status = $2`, [customer, status])).rows[0].n);
    expect(await kept(customers[0]!, 'ACTIVE')).toBe(41);
    expect(await kept(customers[0]!, 'DISABLED')).toBe(7);

    await c.query(`UPDATE mailboxes SET status = 'DISABLED' WHERE domain_id = $1 AND local_part IN ('u1', 'u2', 'u3')`, [domains[0]]);
    await c.query(`UPDATE mailboxes SET provisioning = 'DELETING' WHERE domain_id = $1 AND local_part IN ('u4', 'u5')`, [domains[0]]);
    await c.query(`UPDATE mailboxes SET quota_used_bytes = quota_used_bytes + 1`); // changes no count
    await c.query(`DELETE FROM mailboxes WHERE domain_id = $1 AND provisioning = 'DELETING'`, [domains[0]]); // already uncounted
    await c.query(`DELETE FROM mailboxes WHERE domain_id = $1 AND local_part = 'u6'`, [domains[0]]);
    expect(await kept(customers[0]!, 'ACTIVE')).toBe(41 - 3 - 2 - 1);
    expect(await kept(customers[0]!, 'DISABLED')).toBe(7 + 3);

    // A domain handed to another customer takes its mailboxes and their counts along.
    await c.query(`UPDATE domains SET customer_id = $1 WHERE id = $2`, [customers[2], domains[2]]);
    expect(await kept(customers[1]!, 'ACTIVE')).toBe(0);
    expect(await kept(customers[2]!, 'ACTIVE')).toBe(12 + 5);
    expect(await drift(c)).toEqual({ counts: [], owners: [] });
  });

  it('stay exact under concurrent writers on the same customers, without deadlocks', async () => {
    const { customers, domains } = await seed(c, 2, 3);
    const writers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const w = new pg.Client({ connectionString: url });
        await w.connect();
        return w;
      }),
    );
    let seq = 0;
    // What the API and the worker do, interleaved from six connections on the same customers: each
    // transaction changes counts in one statement (as every writer of mailboxes here does) next to
    // statements that change none; some roll back.
    const oneOf = (w: pg.Client, sql: string, params: unknown[]) => w.query(sql, params);
    const run = async (w: pg.Client, k: number) => {
      for (let round = 0; round < 30; round++) {
        const domain = domains[(k + round) % domains.length]!;
        const n = ++seq;
        await w.query('BEGIN');
        switch (Math.max(0, (round % 6) - 2)) {
          case 0: // create (ACTIVE or DISABLED), then touch the new row
            await oneOf(w, `INSERT INTO mailboxes (local_part, domain_id, address, password_hash, status) VALUES ($1, $2, $3, 'x', $4::"MailboxStatus")`, [`w${n}`, domain, `w${n}@${domain}.x`, n % 3 ? 'ACTIVE' : 'DISABLED']);
            await oneOf(w, `UPDATE mailboxes SET provisioning = 'READY', quota_used_bytes = 1 WHERE address = $1`, [`w${n}@${domain}.x`]);
            break;
          case 1: // flip one mailbox's status (two keys in one statement)
            await oneOf(w, `UPDATE mailboxes SET status = CASE status WHEN 'ACTIVE' THEN 'DISABLED'::"MailboxStatus" ELSE 'ACTIVE'::"MailboxStatus" END
                             WHERE id = (SELECT id FROM mailboxes WHERE domain_id = $1 ORDER BY random() LIMIT 1)`, [domain]);
            break;
          case 2: // mark one for deletion
            await oneOf(w, `UPDATE mailboxes SET provisioning = 'DELETING' WHERE id = (SELECT id FROM mailboxes WHERE domain_id = $1 AND provisioning <> 'DELETING' ORDER BY random() LIMIT 1)`, [domain]);
            break;
          default: // the worker removes a marked one, or an admin deletes outright
            await oneOf(w, `DELETE FROM mailboxes WHERE id = (SELECT id FROM mailboxes WHERE domain_id = $1 ORDER BY provisioning = 'DELETING' DESC, random() LIMIT 1)`, [domain]);
        }
        await w.query(round % 7 === 6 ? 'ROLLBACK' : 'COMMIT');
      }
    };
    try {
      await Promise.all(writers.map(run));
    } finally {
      await Promise.all(writers.map((w) => w.end()));
    }
    const total = Number((await c.query(`SELECT count(*) AS n FROM mailboxes WHERE customer_id = ANY($1) AND provisioning <> 'DELETING'`, [customers])).rows[0].n);
    expect(total).toBeGreaterThan(30); // the writers did write
    expect(await drift(c)).toEqual({ counts: [], owners: [] });
  });

  it('are emptied with a TRUNCATE of mailboxes', async () => {
    const scratch = new pg.Client({ connectionString: url });
    await scratch.connect();
    try {
      await scratch.query('BEGIN');
      await scratch.query('TRUNCATE mailboxes CASCADE');
      expect((await scratch.query(`SELECT count(*)::int AS n FROM mailbox_counts`)).rows[0].n).toBe(0);
      expect(await drift(scratch)).toEqual({ counts: [], owners: [] });
    } finally {
      await scratch.query('ROLLBACK');
      await scratch.end();
    }
  });
});
