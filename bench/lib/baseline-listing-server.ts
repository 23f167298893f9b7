// The listing benchmark's baseline: the same mailbox page (50 rows with domain, customer, quota and
// autoresponder, plus the total) straight from `pg` through `node:http` as JSON — no GraphQL, no ORM,
// no authorization. What the panel's API adds on top of this is what the benchmark measures.
import http from 'node:http';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const filters: string[] = [];
  const params: unknown[] = [];
  const customer = url.searchParams.get('customer');
  const search = url.searchParams.get('search');
  const status = url.searchParams.get('status');
  if (customer) filters.push(`m.customer_id = $${params.push(customer)}`);
  if (search) filters.push(`m.address LIKE $${params.push(`%${search}%`)}`);
  if (status) filters.push(`m.status = $${params.push(status)}::"MailboxStatus"`);
  const w = [`m.provisioning <> 'DELETING'`, ...filters].join(' AND ');
  // The total the way the API takes it: the live counts per customer and status, unless a text search
  // needs the rows counted (same SQL strategy, so the ratio measures only what the API adds).
  const total = search
    ? `SELECT count(*)::int AS n FROM mailboxes m WHERE ${w}`
    : `SELECT coalesce(sum(n), 0)::int AS n FROM mailbox_counts m WHERE ${['true', ...filters].join(' AND ')}`; // customer_id, status: same columns
  try {
    const [rows, count] = await Promise.all([
      pool.query(
        `SELECT m.id, m.address, m.status, m.quota_mb, m.quota_used_bytes, m.created_at, d.name AS domain, c.name AS customer,
                a.enabled AS ar_enabled, a.starts_at, a.ends_at
           FROM mailboxes m JOIN domains d ON d.id = m.domain_id JOIN customers c ON c.id = d.customer_id
           LEFT JOIN autoresponders a ON a.mailbox_id = m.id
          WHERE ${w} ORDER BY m.address, m.id LIMIT 51`,
        params,
      ),
      pool.query(total, params),
    ]);
    const now = new Date();
    const body = JSON.stringify({
      totalCount: count.rows[0].n,
      hasNextPage: rows.rows.length > 50,
      rows: rows.rows.slice(0, 50).map((r) => ({
        address: r.address,
        status: r.status,
        quota: { usedMb: Number(r.quota_used_bytes) / 1048576, limitMb: r.quota_mb },
        autoresponderActive: !!r.ar_enabled && (!r.starts_at || r.starts_at <= now) && (!r.ends_at || now <= r.ends_at),
        createdAt: r.created_at,
        domain: r.domain,
        customer: r.customer,
      })),
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  } catch (err) {
    res.writeHead(500).end(String(err));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`baseline listening on http://127.0.0.1:${(server.address() as { port: number }).port}`));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
