// CPU time per request of the API's own work, for comparing Node versions on a shared machine (where
// throughput and latency follow the neighbours' load, CPU time much less): the listing benchmark's data
// set and four pages, served in-process (yoga.fetch, no HTTP), 8 at a time, REQUESTS per page after a
// warm-up; process.cpuUsage() of this process only (PostgreSQL is a process of its own).
//
//   node_modules/.bin/node --import tsx bench/node-cpu.ts     # the pinned Node
//   /usr/bin/node --import tsx bench/node-cpu.ts              # the machine's
// Prints one table row per page (bench/results/node-versions.md collects them).
import os from 'node:os';
import pg from 'pg';
import { hashPassword } from '../core/src/crypto/password.js';
import { seedListing } from './lib/listing-seed.js';
import { benchDatabase } from './lib/processes.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const CONCURRENCY = 8;
const db = await benchDatabase();
try {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await seedListing(c, await hashPassword('bench-admin-pass'));
  await c.end();
  process.env.DATABASE_URL = db.url;
  process.env.DATA_DIR = `${db.dir}-data`;
  process.env.LOG_LEVEL = 'warn';
  process.env.NODE_ENV = 'production';
  process.env.GRAPHIQL = 'false';
  const { closeDb } = await import('../core/src/db.js');
  const { buildApp } = await import('../api/src/app.js');
  const app = await buildApp();
  const gql = async (query: string, variables: object = {}, token?: string) => {
    const res = await app.yoga.fetch('http://x/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as any;
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const login = async (email: string) => (await gql(`mutation{ login(email:"${email}", password:"bench-admin-pass"){ ... on MutationLoginSuccess { session { accessToken } } } }`)).login.session.accessToken as string;
  const tokens = { admin: await login('admin@bench.test'), customer: await login('owner@bench.test') };
  const PAGE = `query($f:MailboxFilter){ mailboxes(first:50, filter:$f){ totalCount pageInfo { hasNextPage endCursor }
    edges { node { address status quotaMb quota { usedMb limitMb } autoresponderActive createdAt domain { name } customer { name } } } } }`;
  const pages = [
    { name: 'admin, first page', token: tokens.admin, filter: {} },
    { name: 'customer, first page', token: tokens.customer, filter: {} },
    { name: 'admin, text search', token: tokens.admin, filter: { search: 'user4217' } },
    { name: 'admin, status filter', token: tokens.admin, filter: { status: 'DISABLED' } },
  ];
  const run = async (n: number, p: (typeof pages)[number]) => {
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) await gql(PAGE, { f: p.filter }, p.token);
    }));
  };
  console.log(`Node ${process.version}, ${REQUESTS} requests per page, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the start`);
  for (const p of pages) {
    await run(Math.ceil(REQUESTS / 4), p); // warm-up: JIT, caches
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(REQUESTS, p);
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    console.log(`| ${process.version} | ${p.name} | ${((cpu.user + cpu.system) / 1000 / REQUESTS).toFixed(2)} | ${(wall / REQUESTS).toFixed(2)} |`);
  }
  console.log(`load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await app.stop(0);
  await closeDb();
} finally {
  await db.cleanup();
}
