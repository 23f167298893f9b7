// The API's own CPU cost of one listing page, measured in-process (no HTTP client, no other process in
// the sample): seeds the listing benchmark's 100,000 mailboxes, builds the app, and sends the
// benchmark's four pages through yoga.fetch, 16 at a time. Prints CPU milliseconds per request (this
// process: GraphQL, resolvers, Prisma, pg client, JSON; PostgreSQL's own work is not in it), which on
// a shared machine is steadier than throughput. Run it with --cpu-prof to profile exactly this work:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/listing-cpu.ts
import pg from 'pg';
import { hashPassword } from '../core/src/crypto/password.js';
import { seedListing } from './lib/listing-seed.js';
import { benchDatabase } from './lib/processes.js';
import { LISTING_PAGE, listingScenarios } from './lib/listing-scenarios.js';

const REQUESTS = Number(process.env.REQUESTS ?? 2000);
const db = await benchDatabase();
try {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const { customer } = await seedListing(c, await hashPassword('bench-admin-pass'));
  await c.end();
  Object.assign(process.env, { DATABASE_URL: db.url, DATA_DIR: `${db.dir}-data`, LOG_LEVEL: 'warn', NODE_ENV: 'production', GRAPHIQL: 'false' });
  const { closeDb } = await import('../core/src/db.js');
  const { buildApp } = await import('../api/src/app.js');
  const app = await buildApp();
  const post = (body: string, token?: string) =>
    app.yoga.fetch('http://x/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
  const login = async (email: string) =>
    ((await (await post(JSON.stringify({ query: `mutation{ login(email:"${email}", password:"bench-admin-pass"){ ... on MutationLoginSuccess { session { accessToken } } } }` }))).json()) as any).data.login.session.accessToken as string;
  const scenarios = listingScenarios({ admin: await login('admin@bench.test'), customer: await login('owner@bench.test') }, customer);
  const { onQuery } = await import('../core/src/db.js');
  for (const s of scenarios) {
    const body = JSON.stringify({ query: LISTING_PAGE, variables: { f: s.filter } });
    if (process.env.SHOW_SQL) {
      const off = onQuery((sql) => console.log(`  SQL: ${sql.slice(0, Number(process.env.SHOW_SQL) || 400)}`));
      await post(body, s.token);
      off();
    }
    const one = async () => {
      const r = (await (await post(body, s.token)).json()) as any;
      if (r.errors) throw new Error(JSON.stringify(r.errors));
    };
    const run = async (n: number) => {
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => { while (next++ < n) await one(); }));
    };
    await run(200); // warm-up: JIT, caches, pool
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(REQUESTS);
    const cpu = process.cpuUsage(cpu0);
    const ms = performance.now() - t0;
    console.log(`${s.name.padEnd(22)} ${((cpu.user + cpu.system) / 1000 / REQUESTS).toFixed(2)} ms CPU/request  (${((REQUESTS / ms) * 1000).toFixed(0)} req/s in-process)`);
  }
  await app.stop(0);
  await closeDb();
} finally {
  await db.cleanup();
}
