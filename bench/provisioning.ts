// Benchmark 2 — provisioning throughput. 1,000 mailboxes created through GraphQL by 8 concurrent
// clients, timed until every one is READY (its Maildir exists). Baseline in the same run: the cost of
// 1,000 argon2 hashes alone (each createMailbox hashes one password), 8 at a time, in its own process.
// Goal (issue 7): total time ≤ 1.3 × the pure hashing time.
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { fmt } from './lib/load.js';
import { benchDatabase, machine, startChild, stopAllChildren } from './lib/processes.js';

const N = Number(process.env.BENCH_MAILBOXES ?? 1000);
const CLIENTS = 8;
const db = await benchDatabase();

try {
  const hashOut = execFileSync(process.execPath, ['--import', 'tsx', 'bench/lib/hash-only.ts', String(N), String(CLIENTS)], { encoding: 'utf8' });
  const hashSeconds = Number(/in ([\d.]+) s/.exec(hashOut)![1]);

  const env = {
    DATABASE_URL: db.url, PORT: '0', GRAPHIQL: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production',
    DATA_DIR: `${db.dir}-data`, ADMIN_EMAIL: 'admin@bench.test', ADMIN_PASSWORD: 'bench-admin-pass',
  };
  const api = await startChild('scripts/start.ts', env, /GraphQL API: (http:\/\/\S+)\/graphql/);
  const gql = async (query: string, token?: string) => {
    const r = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
    const body = (await r.json()) as any;
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const token = (await gql(`mutation{ login(email:"admin@bench.test", password:"bench-admin-pass"){ ... on MutationLoginSuccess { session { accessToken } } } }`)).login.session.accessToken;
  const pkg = (await gql(`mutation{ createHostingPackage(input:{name:"unlimited"}){ ... on MutationCreateHostingPackageSuccess { hostingPackage { id } } } }`, token)).createHostingPackage.hostingPackage.id;
  const cust = (await gql(`mutation{ createCustomer(name:"bench", packageId:"${pkg}"){ ... on MutationCreateCustomerSuccess { customer { id } } } }`, token)).createCustomer.customer.id;
  await gql(`mutation{ createDomain(name:"bench.example", customerId:"${cust}"){ __typename } }`, token);

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const t0 = Date.now();
  let next = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < N) {
        const i = next++;
        const r = await gql(`mutation{ createMailbox(username:"box${i}", domain:"bench.example", password:"password-${i}-long-enough", quotaMb:100){ __typename } }`, token);
        if (r.createMailbox.__typename !== 'MutationCreateMailboxSuccess') failures++;
      }
    }),
  );
  const createdAt = Date.now();
  for (;;) {
    const ready = (await client.query(`SELECT count(*)::int AS n FROM mailboxes WHERE provisioning = 'READY'`)).rows[0].n;
    if (ready >= N - failures) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const total = (Date.now() - t0) / 1000;
  await client.end();

  const table = [
    `Provisioning throughput (${N} mailboxes, ${CLIENTS} concurrent GraphQL clients, API + worker in one process; ${machine()})`,
    '',
    '| measure | value |',
    '|---|---|',
    `| all ${N} created (GraphQL answered) | ${fmt((createdAt - t0) / 1000, 2)} s |`,
    `| all READY (Maildir on disk) | ${fmt(total, 2)} s = ${fmt(N / total, 1)} mailboxes/s |`,
    `| baseline: ${N} argon2id hashes alone, ${CLIENTS} at a time | ${fmt(hashSeconds, 2)} s |`,
    `| **total ÷ hashing** (goal ≤ 1.3) | **${fmt(total / hashSeconds, 2)}×** |`,
    `| failed creations | ${failures} |`,
  ].join('\n');
  console.log('\n' + table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/provisioning.md', table + '\n');
} finally {
  await stopAllChildren();
  await db.cleanup();
}
