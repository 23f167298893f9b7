// Profiles the API process under one of the listing benchmark's scenarios (SCENARIO=0…3, the admin
// page by default): seeds the same 100,000 mailboxes,
// starts the API with --cpu-prof, sends BENCH_SECONDS of 16-client load, stops it (the profile is
// written on exit) and prints the top frames by self time and the busiest packages.
// `node --import tsx bench/listing-profile.ts [outDir]`
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { hashPassword } from '../core/src/crypto/password.js';
import { runLoad, fmt } from './lib/load.js';
import { seedListing } from './lib/listing-seed.js';
import { benchDatabase, startChild, stopChild } from './lib/processes.js';
import { LISTING_PAGE, listingScenarios } from './lib/listing-scenarios.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const outDir = path.resolve(process.argv[2] ?? 'bench/results/profile');
mkdirSync(outDir, { recursive: true });
// Only summarize (SUMMARIZE=1): the profiles already in outDir.
const db = process.env.SUMMARIZE ? null : await benchDatabase();
if (db) try {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const { customer } = await seedListing(c, await hashPassword('bench-admin-pass'));
  await c.end();
  const env = { DATABASE_URL: db.url, PORT: '0', RUN_WORKER: 'false', GRAPHIQL: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production', DATA_DIR: `${db.dir}-data`, ADMIN_EMAIL: 'admin@bench.test', LOGIN_MAX_FAILURES_PER_IP: '1000' };
  const api = await startChild('scripts/start.ts', env, /GraphQL API: (http:\/\/\S+)\/graphql/, ['--cpu-prof', `--cpu-prof-dir=${outDir}`]);
  const login = async (email: string) => {
    const r = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `mutation{ login(email:"${email}", password:"bench-admin-pass"){ ... on MutationLoginSuccess { session { accessToken } } } }` }),
    });
    return ((await r.json()) as any).data.login.session.accessToken as string;
  };
  const scenario = listingScenarios({ admin: await login('admin@bench.test'), customer: await login('owner@bench.test') }, customer)[Number(process.env.SCENARIO ?? 0)];
  console.log(`scenario: ${scenario.name}`);
  const payload = JSON.stringify({ query: LISTING_PAGE, variables: { f: scenario.filter } });
  const body = () => ({ method: 'POST' as const, path: '/graphql', headers: { authorization: `Bearer ${scenario.token}` }, payload });
  await runLoad({ url: api.url, clients: 16, seconds: 2, body }); // warm-up
  const res = await runLoad({ url: api.url, clients: 16, seconds: SECONDS, body });
  console.log(`API: ${fmt(res.rps, 0)} req/s, p50 ${fmt(res.p50)} ms, p99 ${fmt(res.p99)} ms, errors ${res.errors + res.non2xx}`);
  await stopChild(api.child);
} finally {
  await db.cleanup();
}

const profiles = readdirSync(outDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(outDir, f));
for (const file of profiles.sort()) summarize(file);

/** Self time per function and per package; the loader thread's profile (tsx) is skipped. */
function summarize(file: string) {
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }[] };
const total = prof.nodes.reduce((s, n) => s + n.hitCount, 0);
const byFn = new Map<string, number>();
const byPkg = new Map<string, number>();
for (const n of prof.nodes) {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  const short = url.replace(/.*node_modules\//, '').replace(process.cwd() + '/', '');
  const pkg = url.includes('node_modules/') ? short.split('/').slice(0, short.startsWith('@') ? 2 : 1).join('/') : url ? (url.startsWith('node:') ? 'node' : short.split('/').slice(0, 2).join('/')) : n.callFrame.functionName;
  const fn = `${n.callFrame.functionName || '(anon)'} ${short}:${n.callFrame.lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + n.hitCount);
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + n.hitCount);
}
const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, h]) => `${((h / total) * 100).toFixed(1).padStart(5)} %  ${name}`).join('\n');
if ((byPkg.get('(idle)') ?? 0) > 0.8 * total) return;
console.log(`\n${file} (${total} samples)\nself time by package:\n${top(byPkg, 15)}\n\ntop frames (self time):\n${top(byFn, 30)}`);
}
