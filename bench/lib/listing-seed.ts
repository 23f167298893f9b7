// The listing benchmark's data set: 100,000 mailboxes over 2,000 domains and 500 customers, 10 % of
// them disabled, one in ten with an autoresponder. Seeded in SQL (the API would take hours to create it).
import type pg from 'pg';

export async function seedListing(c: pg.Client, adminHash: string): Promise<{ customer: string; counts: { m: number; d: number; c: number } }> {
  await c.query(`
    INSERT INTO hosting_packages (name) VALUES ('bench');
    INSERT INTO customers (name, package_id) SELECT 'customer' || lpad(i::text, 3, '0'), (SELECT id FROM hosting_packages) FROM generate_series(1, 500) i;
    CREATE TEMP TABLE cn AS SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM customers;
    INSERT INTO domains (name, customer_id) SELECT 'd' || i || '.example', cn.id FROM generate_series(1, 2000) i JOIN cn ON cn.n = (i - 1) % 500;
    CREATE TEMP TABLE dn AS SELECT id, name, row_number() OVER (ORDER BY name) - 1 AS n FROM domains;
    INSERT INTO mailboxes (local_part, domain_id, address, password_hash, quota_mb, quota_used_bytes, status, provisioning)
      SELECT 'user' || i, dn.id, 'user' || i || '@' || dn.name, 'x', 1024, (i % 997) * 1048576,
             CASE WHEN i % 10 = 0 THEN 'DISABLED'::"MailboxStatus" ELSE 'ACTIVE'::"MailboxStatus" END, 'READY'
        FROM generate_series(1, 100000) i JOIN dn ON dn.n = (i - 1) % 2000;
    INSERT INTO autoresponders (mailbox_id, enabled, subject, message) SELECT id, true, 'away', 'back soon' FROM mailboxes WHERE address LIKE 'user%7@%';
    ANALYZE;`);
  await c.query(`INSERT INTO users (email, password_hash, role) VALUES ('admin@bench.test', $1, 'ADMIN')`, [adminHash]);
  const customer = (await c.query(`SELECT c.id FROM customers c WHERE name = 'customer042'`)).rows[0].id as string;
  await c.query(`INSERT INTO users (email, password_hash, role, customer_id) VALUES ('owner@bench.test', $1, 'CUSTOMER', $2)`, [adminHash, customer]);
  const counts = (await c.query(`SELECT (SELECT count(*) FROM mailboxes)::int m, (SELECT count(*) FROM domains)::int d, (SELECT count(*) FROM customers)::int c`)).rows[0];
  return { customer, counts };
}
