// 50 concurrent clients mixing queries and mutations for LOAD_SECONDS (60 by default): no 5xx and no
// untyped error, no lost or duplicated rows (every client's own ledger matches the database at the end),
// and the number of open database connections stays within the pools, not growing with the load.
import http from 'node:http';
import { expect, it } from 'vitest';
import pg from 'pg';
import { createMailbox, createTenant, startTestApp, type Tenant } from './harness.js';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const CLIENTS = 50;

it(`${CLIENTS} clients × ${SECONDS} s of mixed traffic: no 5xx, no lost or duplicated rows, bounded connections`, { timeout: (SECONDS + 90) * 1000 }, async () => {
  const t = await startTestApp({ worker: true, listen: true });
  const tenants: Tenant[] = [];
  for (let i = 0; i < 5; i++) tenants.push(await createTenant(t, { maxForwards: 0, maxMailboxes: 0 }));
  const mailboxes = await Promise.all(tenants.map((tn) => createMailbox(t, tn.token, 'load', tn.domain)));

  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const url = new URL(t.app.url);
  const post = (query: string, variables: object, token: string) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request({ agent, host: url.hostname, port: url.port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ query, variables }));
    });

  const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  const connections: number[] = [];
  const sampler = setInterval(async () => {
    const r = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
    connections.push(r.rows[0].n);
  }, 500);

  const failures: string[] = [];
  const ledger = new Map<string, string>(); // source → tenant domain, for forwards that must exist at the end
  let operations = 0;
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const tenant = tenants[c % tenants.length]!;
      const mailbox = mailboxes[c % tenants.length]!;
      const mine: { id: string; source: string }[] = [];
      let seq = 0;
      while (Date.now() < end) {
        const roll = (operations++ + c) % 10;
        let r: { status: number; body: any };
        if (roll < 4) {
          r = await post(`query($s:String){ mailboxes(first:20, filter:{search:$s}){ totalCount edges { node { address quota { usedMb } domain { name } } } } }`, { s: roll % 2 ? 'load' : null }, tenant.token);
        } else if (roll < 7) {
          const source = `c${c}-${seq++}@${tenant.domain}`;
          r = await post(`mutation($s:String!,$d:[String!]!){ createForward(source:$s, destinations:$d){ __typename ... on MutationCreateForwardSuccess { forward { id } } } }`, { s: source, d: [`x${c}@y.example`, mailbox.address] }, tenant.token);
          if (r.body.data?.createForward?.forward) {
            mine.push({ id: r.body.data.createForward.forward.id, source });
            ledger.set(source, tenant.domain);
          }
        } else if (roll < 9 && mine.length) {
          const f = mine.shift()!;
          r = await post(`mutation($id:ID!){ deleteForward(id:$id){ __typename } }`, { id: f.id }, tenant.token);
          if (r.body.data?.deleteForward?.__typename === 'MutationDeleteForwardSuccess') ledger.delete(f.source);
        } else {
          r = await post(`mutation($id:ID!,$q:Int){ updateMailbox(id:$id, quotaMb:$q){ __typename } }`, { id: mailbox.id, q: 100 + (seq % 50) }, tenant.token);
        }
        if (r.status >= 500) failures.push(`HTTP ${r.status}`);
        if (r.body.errors) failures.push(JSON.stringify(r.body.errors).slice(0, 200));
        const typename = r.body.data && (Object.values(r.body.data)[0] as { __typename?: string } | null)?.__typename;
        if (typename && !typename.endsWith('Success') && !typename.endsWith('Connection')) failures.push(`typed failure ${typename}`);
      }
    }),
  );
  clearInterval(sampler);
  agent.destroy();

  expect(failures.slice(0, 5)).toEqual([]);
  expect(operations).toBeGreaterThan(CLIENTS * 10);
  const rows = (await db.query(`SELECT source FROM forwards`)).rows.map((r) => r.source as string).sort();
  expect(rows).toEqual([...ledger.keys()].sort()); // nothing lost, nothing duplicated, nothing left over
  const half = Math.floor(connections.length / 2);
  const firstHalf = Math.max(...connections.slice(0, half));
  const secondHalf = Math.max(...connections.slice(half));
  // Prisma (DB_POOL_SIZE=5) + two pg-boss pools (4 each) + their LISTEN connections + the pub/sub pair.
  expect(Math.max(...connections)).toBeLessThanOrEqual(22);
  expect(secondHalf).toBeLessThanOrEqual(firstHalf + 2);
  await db.end();
});
