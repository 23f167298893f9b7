// Benchmark 1 — listing at scale. 100,000 mailboxes over 2,000 domains and 500 customers; the mailboxes
// page (50 rows with domain, customer, quota, autoresponder + totalCount) through the panel's GraphQL
// API, as admin and as a customer, with a filter and a text search, under 16 concurrent clients.
// Baseline in the same run: a bare pg + node:http server returning the same rows as JSON.
// Goals (issue 7): ≥ 0.5 × the baseline's throughput, p99 < 50 ms, ≤ 3 SQL statements per request.
import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { hashPassword } from '../core/src/crypto/password.js';
import { fmt, runLoad, type LoadResult } from './lib/load.js';
import { seedListing } from './lib/listing-seed.js';
import { benchDatabase, machine, startChild, stopAllChildren } from './lib/processes.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = 16;
const db = await benchDatabase();

try {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const t0 = Date.now();
  const adminHash = await hashPassword('bench-admin-pass');
  const { customer, counts } = await seedListing(c, adminHash);
  await c.end();
  console.log(`seeded ${counts.m} mailboxes, ${counts.d} domains, ${counts.c} customers in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const env = { DATABASE_URL: db.url, PORT: '0', RUN_WORKER: 'false', GRAPHIQL: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production', DATA_DIR: `${db.dir}-data`, ADMIN_EMAIL: 'admin@bench.test', LOGIN_MAX_FAILURES_PER_IP: '1000' };
  const api = await startChild('scripts/start.ts', env, /GraphQL API: (http:\/\/\S+)\/graphql/);
  const baseline = await startChild('bench/lib/baseline-listing-server.ts', { DATABASE_URL: db.url }, /listening on (http:\/\/\S+)/);

  const login = async (email: string) => {
    const r = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `mutation{ login(email:"${email}", password:"bench-admin-pass"){ ... on MutationLoginSuccess { session { accessToken } } } }` }),
    });
    const body = (await r.json()) as any;
    if (!body.data?.login?.session) throw new Error(`login ${email}: ${JSON.stringify(body)}`);
    return body.data.login.session.accessToken as string;
  };
  const tokens = { admin: await login('admin@bench.test'), customer: await login('owner@bench.test') };
  const PAGE = `query($f:MailboxFilter){ mailboxes(first:50, filter:$f){ totalCount pageInfo { hasNextPage endCursor }
    edges { node { address status quotaMb quota { usedMb limitMb } autoresponderActive createdAt domain { name } customer { name } } } } }`;
  const scenarios: { name: string; token: string; filter: object; query: string }[] = [
    { name: 'admin, first page', token: tokens.admin, filter: {}, query: '' },
    { name: 'customer, first page', token: tokens.customer, filter: {}, query: `customer=${customer}` },
    { name: 'admin, text search', token: tokens.admin, filter: { search: 'user4217' }, query: 'search=user4217' },
    { name: 'admin, status filter', token: tokens.admin, filter: { status: 'DISABLED' }, query: 'status=DISABLED' },
  ];

  // SQL statements per request, counted in-process on the same database.
  process.env.DATABASE_URL = db.url;
  process.env.DATA_DIR = `${db.dir}-data`;
  process.env.LOG_LEVEL = 'warn';
  const { onQuery, closeDb } = await import('../core/src/db.js');
  const { buildApp } = await import('../api/src/app.js');
  const inproc = await buildApp();
  const statements: Record<string, number> = {};
  for (const s of scenarios) {
    let n = 0;
    const off = onQuery(() => n++);
    const res = await inproc.yoga.fetch('http://x/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` }, body: JSON.stringify({ query: PAGE, variables: { f: s.filter } }) });
    const body = (await res.json()) as any;
    off();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    statements[s.name] = n;
  }
  await inproc.stop(0);
  await closeDb();

  const rows: string[] = [];
  for (const s of scenarios) {
    const base = await runLoad({ url: baseline.url, clients: CLIENTS, seconds: SECONDS, body: () => ({ method: 'GET', path: `/mailboxes?${s.query}` }) });
    const ours: LoadResult = await runLoad({
      url: api.url,
      clients: CLIENTS,
      seconds: SECONDS,
      body: () => ({ method: 'POST', path: '/graphql', headers: { authorization: `Bearer ${s.token}` }, payload: JSON.stringify({ query: PAGE, variables: { f: s.filter } }) }),
    });
    const line = `| ${s.name} | ${fmt(ours.rps, 0)} | ${fmt(ours.p50)} | ${fmt(ours.p99)} | ${statements[s.name]} | ${fmt(base.rps, 0)} | ${fmt(base.p50)} | ${fmt(base.p99)} | **${fmt(ours.rps / base.rps, 2)}×** | ${ours.errors + ours.non2xx} |`;
    console.log(line);
    rows.push(line);
  }
  const table = [
    `Listing at scale (${counts.m.toLocaleString('en')} mailboxes, ${counts.d} domains, ${counts.c} customers; ${CLIENTS} clients × ${SECONDS} s each; ${machine()})`,
    '',
    '| scenario | API req/s | p50 ms | p99 ms | SQL/req | baseline req/s | p50 ms | p99 ms | API ÷ baseline | errors |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  console.log('\n' + table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/listing.md', table + '\n');
} finally {
  await stopAllChildren();
  await db.cleanup();
}
