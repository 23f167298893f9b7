// Benchmark — bulk import (issue 16). In the same run, with the same API + worker process:
//   - importing N mailboxes from one CSV (importMailboxes, then the bulk-import job), timed from the
//     request until the import has SUCCEEDED and every mailbox is READY (its Maildir exists);
//   - N single createMailbox calls from 8 concurrent clients, timed the same way;
//   - N argon2id hashes alone, 8 at a time, in a process of its own (bench/lib/hash-only.ts).
// RUNS rounds, the order of the three rotating each round (so neither warms the machine for the
// other), each import into a fresh domain. Medians with min–max. Goal: bulk import ≤ 1.2 × argon2-only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import pg from 'pg';
import { fmt } from './lib/load.js';
import { benchDatabase, machine, startChild, stopAllChildren } from './lib/processes.js';

const N = Number(process.env.BENCH_MAILBOXES ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CLIENTS = 8;
const db = await benchDatabase();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${fmt(Math.min(...xs), 2)}–${fmt(Math.max(...xs), 2)}`;

try {
  const env = {
    DATABASE_URL: db.url, PORT: '0', GRAPHIQL: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production',
    DATA_DIR: `${db.dir}-data`, ADMIN_EMAIL: 'admin@bench.test', ADMIN_PASSWORD: 'bench-admin-pass',
    // A 1,000-row CSV is about 50 KB.
    MAX_REQUEST_BYTES: String(Math.max(1_000_000, N * 200)),
  };
  const api = await startChild('scripts/start.ts', env, /GraphQL API: (http:\/\/\S+)\/graphql/);
  let apiOutput = '';
  api.child.stderr!.on('data', (d) => (apiOutput = (apiOutput + d).slice(-3000)));
  api.child.on('exit', (code) => console.error(`API + worker exited (${code}):\n${apiOutput}`));
  // A connection per request (no keep-alive): a pooled socket the API closed while a measure ran
  // elsewhere would fail the next request ("other side closed").
  const gql = (query: string, variables: object = {}, token?: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ query, variables });
      const req = http.request(`${api.url}/graphql`, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(text);
            if (parsed.errors) reject(new Error(JSON.stringify(parsed.errors)));
            else resolve(parsed.data);
          } catch {
            reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          }
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  // Access tokens are short-lived and a round takes minutes: each measure logs in afresh.
  const login = async () =>
    (await gql(`mutation{ login(email:"admin@bench.test", password:"bench-admin-pass"){ ... on MutationLoginSuccess { session { accessToken } } } }`)).login.session.accessToken as string;
  let token = await login();
  const pkg = (await gql(`mutation{ createHostingPackage(input:{name:"unlimited"}){ ... on MutationCreateHostingPackageSuccess { hostingPackage { id } } } }`, {}, token)).createHostingPackage.hostingPackage.id;
  const cust = (await gql(`mutation($p:ID!){ createCustomer(name:"bench", packageId:$p){ ... on MutationCreateCustomerSuccess { customer { id } } } }`, { p: pkg }, token)).createCustomer.customer.id;
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => {}); // the database stops under it at the end
  await client.connect();
  let domains = 0;
  const freshDomain = async () => {
    const name = `bulk${++domains}.example`;
    await gql(`mutation($n:String!,$c:ID!){ createDomain(name:$n, customerId:$c){ __typename } }`, { n: name, c: cust }, token);
    return name;
  };
  const allReady = async (domain: string, expected: number) => {
    for (;;) {
      const { n } = (await client.query(`SELECT count(*)::int AS n FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE d.name = $1 AND m.provisioning = 'READY'`, [domain])).rows[0];
      if (n >= expected) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const measures: Record<'hash' | 'bulk' | 'single', () => Promise<number>> = {
    hash: async () => {
      const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/lib/hash-only.ts', String(N), String(CLIENTS)], { encoding: 'utf8' });
      return Number(/in ([\d.]+) s/.exec(out)![1]);
    },
    bulk: async () => {
      const domain = await freshDomain();
      const csv = ['address,password,quota', ...Array.from({ length: N }, (_, i) => `box${i}@${domain},password-${i}-long-enough,100`)].join('\n');
      const t0 = Date.now();
      const r = await gql(
        `mutation($i:ImportMailboxesInput!){ importMailboxes(input:$i){ ... on MutationImportMailboxesSuccess { result { valid bulkImport { id } } } ... on Error { message } } }`,
        { i: { csv } },
        token,
      );
      const res = r.importMailboxes.result;
      if (!res?.valid) throw new Error(`import refused: ${JSON.stringify(r.importMailboxes).slice(0, 500)}`);
      for (;;) {
        const s = await gql(`query($id:ID!){ node(id:$id){ ... on BulkImport { status created } } }`, { id: res.bulkImport.id }, token);
        if (s.node.status === 'FAILED') throw new Error('import failed');
        if (s.node.status === 'SUCCEEDED') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await allReady(domain, N);
      return (Date.now() - t0) / 1000;
    },
    single: async () => {
      const domain = await freshDomain();
      const t0 = Date.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (next < N) {
            const i = next++;
            const r = await gql(`mutation($u:String!,$d:String!,$p:String!){ createMailbox(username:$u, domain:$d, password:$p, quotaMb:100){ __typename } }`, { u: `box${i}`, d: domain, p: `password-${i}-long-enough` }, token);
            if (r.createMailbox.__typename !== 'MutationCreateMailboxSuccess') throw new Error(`createMailbox: ${r.createMailbox.__typename}`);
          }
        }),
      );
      await allReady(domain, N);
      return (Date.now() - t0) / 1000;
    },
  };
  const order = ['hash', 'bulk', 'single'] as const;
  const times: Record<(typeof order)[number], number[]> = { hash: [], bulk: [], single: [] };
  for (let run = 0; run < RUNS; run++) {
    for (let k = 0; k < order.length; k++) {
      const name = order[(run + k) % order.length]!;
      token = await login();
      times[name].push(await measures[name]());
      console.log(`run ${run + 1}: ${name} ${fmt(times[name].at(-1)!, 2)} s`);
    }
  }
  await client.end();
  const ratios = times.bulk.map((b, i) => b / times.hash[i]!);
  const ratio = median(times.bulk) / median(times.hash);
  const table = [
    `Bulk import (${N} mailboxes; API + worker in one process; ${RUNS} runs, order rotating; median, min–max; ${machine()})`,
    '',
    '| measure | median | min–max |',
    '|---|---|---|',
    `| bulk import of one ${N}-row CSV until every mailbox is READY | ${fmt(median(times.bulk), 2)} s | ${spread(times.bulk)} s |`,
    `| ${N} single createMailbox calls (${CLIENTS} clients) until READY | ${fmt(median(times.single), 2)} s | ${spread(times.single)} s |`,
    `| baseline: ${N} argon2id hashes alone, ${CLIENTS} at a time | ${fmt(median(times.hash), 2)} s | ${spread(times.hash)} s |`,
    `| **bulk import ÷ argon2-only** (goal ≤ 1.2) | **${fmt(ratio, 2)}×** | ${spread(ratios)}× per run |`,
    `| single calls ÷ argon2-only | ${fmt(median(times.single) / median(times.hash), 2)}× | |`,
  ].join('\n');
  console.log('\n' + table);
  console.log(`\nbulk import: ${fmt(ratio, 2)}× argon2-only`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/bulk.md', table + '\n');
} catch (err) {
  console.error('bench:bulk failed:', (err as Error).message, (err as { cause?: unknown }).cause);
  process.exitCode = 1;
} finally {
  await stopAllChildren();
  await db.cleanup();
}
