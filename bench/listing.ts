// Benchmark 1 — listing at scale. 100,000 mailboxes over 2,000 domains and 500 customers; the mailboxes
// page (50 rows with domain, customer, quota, autoresponder + totalCount) through the panel's GraphQL
// API, as admin and as a customer, with a filter and a text search, under 16 concurrent clients.
// Baseline in the same run: a bare pg + node:http server returning the same rows as JSON.
// Goals (issues 7, 15): ≥ 0.5 × the baseline's throughput (0.8 × the moonshot), the API's p99 within 2 × the
// baseline's p99, ≤ 3 SQL statements per request. bench/listing-cpu.ts and bench/listing-profile.ts say where the time goes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { hashPassword } from '../core/src/crypto/password.js';
import { fmt, runLoad, type LoadResult } from './lib/load.js';
import { seedListing } from './lib/listing-seed.js';
import { benchDatabase, machine, startChild, stopAllChildren } from './lib/processes.js';
import { LISTING_PAGE, listingScenarios } from './lib/listing-scenarios.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Rounds per scenario; API and baseline take turns going first, so neither always runs on the warmer machine. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = 16;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
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
  const PAGE = LISTING_PAGE;
  const scenarios = listingScenarios(tokens, customer);

  // SQL statements per request, counted in-process on the same database.
  process.env.DATABASE_URL = db.url;
  process.env.DATA_DIR = `${db.dir}-data`;
  process.env.LOG_LEVEL = 'warn';
  const { onQuery, closeDb } = await import('../core/src/db.js');
  const { buildApp } = await import('../api/src/app.js');
  const inproc = await buildApp();
  const statements: Record<string, number> = {};
  for (const s of scenarios) {
    const page = () =>
      inproc.yoga.fetch('http://x/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` }, body: JSON.stringify({ query: PAGE, variables: { f: s.filter } }) });
    // Counted on a warm request, as the load sees it: a token's first request also reads its login's
    // revocation verdict (auth/revocation.ts), cached briefly after.
    await page();
    let n = 0;
    const off = onQuery(() => n++);
    const body = (await (await page()).json()) as any;
    off();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    statements[s.name] = n;
  }
  await inproc.stop(0);
  await closeDb();

  const rows: string[] = [];
  for (const s of scenarios) {
    const runBase = () => runLoad({ url: baseline.url, clients: CLIENTS, seconds: SECONDS, body: () => ({ method: 'GET', path: `/mailboxes?${s.query}` }) });
    const runOurs = () =>
      runLoad({
        url: api.url,
        clients: CLIENTS,
        seconds: SECONDS,
        body: () => ({ method: 'POST', path: '/graphql', headers: { authorization: `Bearer ${s.token}` }, payload: JSON.stringify({ query: PAGE, variables: { f: s.filter } }) }),
      });
    const ours: LoadResult[] = [];
    const base: LoadResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2) {
        ours.push(await runOurs());
        base.push(await runBase());
      } else {
        base.push(await runBase());
        ours.push(await runOurs());
      }
    }
    // Medians over the rounds; the ratio's spread is that of the rounds' own ratios (same round, same machine state).
    const m = (rs: LoadResult[], k: 'rps' | 'p50' | 'p99') => median(rs.map((r) => r[k]));
    const ratios = ours.map((o, i) => o.rps / base[i]!.rps);
    const spread = ROUNDS > 1 ? ` (${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)})` : '';
    const errors = ours.reduce((n, r) => n + r.errors + r.non2xx, 0);
    const line = `| ${s.name} | ${fmt(m(ours, 'rps'), 0)} | ${fmt(m(ours, 'p50'))} | ${fmt(m(ours, 'p99'))} | ${statements[s.name]} | ${fmt(m(base, 'rps'), 0)} | ${fmt(m(base, 'p50'))} | ${fmt(m(base, 'p99'))} | **${fmt(median(ratios), 2)}×**${spread} | ${fmt(m(ours, 'p99') / m(base, 'p99'), 1)}× | ${errors} |`;
    console.log(line);
    rows.push(line);
  }
  const table = [
    `Listing at scale (${counts.m.toLocaleString('en')} mailboxes, ${counts.d} domains, ${counts.c} customers; ${CLIENTS} clients × ${SECONDS} s, ${ROUNDS} rounds each, API and baseline alternating; medians; ${machine()})`,
    '',
    '| scenario | API req/s | p50 ms | p99 ms | SQL/req | baseline req/s | p50 ms | p99 ms | API ÷ baseline (rounds\' spread) | API p99 ÷ baseline p99 | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  console.log('\n' + table);
  mkdirSync('bench/results', { recursive: true });
  writeTable('bench/results/listing.md', table);
} finally {
  await stopAllChildren();
  await db.cleanup();
}

/** Replaces the table between the markers, keeping the notes around it (the profiles); else writes the table alone. */
function writeTable(file: string, table: string) {
  const [open, close] = ['<!-- bench:listing table -->', '<!-- /bench:listing table -->'];
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(open);
  const end = old.indexOf(close);
  writeFileSync(file, at >= 0 && end > at ? `${old.slice(0, at + open.length)}\n${table}\n${old.slice(end)}` : `${open}\n${table}\n${close}\n`);
}
