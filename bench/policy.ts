// `npm run bench:policy`: the Postfix policy service (outbound rate limits) under load over loopback,
// next to a baseline measured in the same run: a bare TCP server answering the same protocol with
// DUNNO (bench/policy-echo.ts). Prints decisions/second and latency percentiles of both, and checks
// that the counters in PostgreSQL equal the messages the service accepted.
//
// Postfix-like clients: each keeps one connection and sends its next request when the previous
// answer arrived (closed loop). Senders are spread over many mailboxes, domains and customers with
// limits high enough that every message is accepted (so every decision writes its three counters).
//
//   npm run bench:policy [-- --clients 32 --seconds 10 --mailboxes 5000]
// Uses DATABASE_URL when set (a scratch database: it seeds and deletes rows), else an embedded
// PostgreSQL of its own in a temporary folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../core/src/embedded-postgres.js';
import { migrate } from '../core/src/migrate.js';
import { endOfMessage, PolicyClient } from '../test/policy-client.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const CLIENTS = arg('clients', 32);
const SECONDS = arg('seconds', 10);
const WARMUP = arg('warmup', 2);
const MAILBOXES = arg('mailboxes', 5000);

const children = new Set<ChildProcess>();
function stopChildren() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}
process.on('exit', stopChildren);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startChild(entry: string, env: Record<string, string>): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited ${code}: ${out}`)));
  });
  return { port, child };
}

async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

/** CPU seconds (user + system) used so far by process `root` and its children (Linux /proc). */
function cpuSeconds(root: number | undefined): number {
  if (!root) return 0;
  const tick = 100; // USER_HZ
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(pid) === root || Number(f[1]) === root) total += (Number(f[11]) + Number(f[12])) / tick;
    } catch {
      /* gone */
    }
  }
  return total;
}

/** The postmaster of the benchmark's own database (embedded), to count only its CPU. */
let postmasterPid: number | undefined;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Run {
  decisions: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  accepted: number;
  other: Map<string, number>;
}

async function load(port: number, addresses: string[], serverPid?: number): Promise<Run & { cpu: { server: number; postgres: number; client: number } }> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => PolicyClient.connect(port)));
  const latencies: number[] = [];
  let accepted = 0;
  const other = new Map<string, number>();
  let measuring = false;
  let done = false;
  let k = 0;
  const loops = clients.map(async (c) => {
    while (!done) {
      const address = addresses[k++ % addresses.length]!;
      const t0 = process.hrtime.bigint();
      const a = await c.ask(endOfMessage(address));
      if (a === 'DUNNO') accepted++;
      else other.set(a.slice(0, 40), (other.get(a.slice(0, 40)) ?? 0) + 1);
      if (measuring) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  });
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  const cpu0 = { server: cpuSeconds(serverPid), postgres: cpuSeconds(postmasterPid), client: process.cpuUsage() };
  measuring = true;
  const began = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  const used = process.cpuUsage(cpu0.client);
  const cpu = { server: cpuSeconds(serverPid) - cpu0.server, postgres: cpuSeconds(postmasterPid) - cpu0.postgres, client: (used.user + used.system) / 1e6 };
  const elapsed = Number(process.hrtime.bigint() - began) / 1e9;
  done = true;
  await Promise.all(loops);
  clients.forEach((c) => c.close());
  const sorted = Float64Array.from(latencies).sort();
  return { decisions: sorted.length, perSecond: sorted.length / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN, accepted, other, cpu };
}

async function seed(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`DELETE FROM rate_limit_counters`);
    const pkg = await c.query<{ id: string }>(
      `INSERT INTO hosting_packages (name, max_emails_per_hour, max_emails_per_hour_mailbox, max_emails_per_hour_domain)
       VALUES ('bench-policy-' || gen_random_uuid(), 1000000000, 1000000000, 1000000000) RETURNING id`,
    );
    const customers = Math.max(1, Math.round(MAILBOXES / 100));
    const r = await c.query<{ address: string }>(
      `WITH cust AS (
         INSERT INTO customers (name, package_id) SELECT 'bench-policy-' || gen_random_uuid(), $1 FROM generate_series(1, $2) RETURNING id),
       dom AS (
         INSERT INTO domains (name, customer_id) SELECT 'd' || n || '-' || substr(md5(random()::text), 1, 8) || '.bench.test', cust.id
           FROM cust, generate_series(1, 4) AS n RETURNING id, name)
       INSERT INTO mailboxes (local_part, domain_id, address, password_hash, provisioning)
       SELECT 'm' || n, dom.id, 'm' || n || '@' || dom.name, 'x', 'READY' FROM dom, generate_series(1, $3) AS n
       RETURNING address`,
      [pkg.rows[0]!.id, customers, Math.ceil(MAILBOXES / (customers * 4))],
    );
    return r.rows.map((x) => x.address).sort(() => Math.random() - 0.5);
  } finally {
    await c.end();
  }
}

async function countersTotal(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query(`SELECT coalesce(sum(count), 0) AS n FROM rate_limit_counters WHERE kind = 'MAILBOX'`)).rows[0].n);
  } finally {
    await c.end();
  }
}

async function main() {
  let embedded: EmbeddedDatabase | undefined;
  let dir: string | undefined;
  let url = process.env.DATABASE_URL;
  try {
    if (!url) {
      dir = mkdtempSync(path.join(os.tmpdir(), 'bench-policy-'));
      chmodSync(dir, 0o755);
      embedded = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: await freePort(), database: 'bench', persistent: false });
      url = embedded.url;
      postmasterPid = Number(readFileSync(path.join(embedded.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    }
    await migrate(url);
    const addresses = await seed(url);
    console.log(`policy benchmark: ${addresses.length} mailboxes, ${CLIENTS} clients, ${SECONDS} s after ${WARMUP} s warm-up, ${os.cpus().length} CPUs (${os.cpus()[0]?.model})`);

    const echo = await startChild('bench/policy-echo.ts', {});
    const baseline = await load(echo.port, addresses, echo.child.pid);
    await stopChild(echo.child);

    const before = await countersTotal(url);
    const service = await startChild('scripts/policy.ts', { DATABASE_URL: url, POLICY_PORT: '0', POLICY_HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    let serviceLog = '';
    service.child.stderr!.on('data', (d) => (serviceLog += d));
    const policy = await load(service.port, addresses, service.child.pid);
    await stopChild(service.child);
    const batchLine = /"perBatch":([\d.]+)/.exec(serviceLog);
    const counted = (await countersTotal(url)) - before;

    const row = (name: string, r: Run) =>
      `| ${name.padEnd(34)} | ${r.perSecond.toFixed(0).padStart(11)} | ${r.p50.toFixed(2).padStart(8)} | ${r.p99.toFixed(2).padStart(8)} | ${r.max.toFixed(1).padStart(8)} |`;
    console.log('');
    console.log(`| ${'server'.padEnd(34)} | decisions/s | p50 (ms) | p99 (ms) | max (ms) |`);
    console.log(`|${'-'.repeat(36)}|${'-'.repeat(13)}|${'-'.repeat(10)}|${'-'.repeat(10)}|${'-'.repeat(10)}|`);
    console.log(row('baseline: TCP echo, same protocol', baseline));
    console.log(row('policy service (PostgreSQL counters)', policy));
    console.log('');
    console.log(`ratio: ${(policy.perSecond / baseline.perSecond).toFixed(2)} × the baseline's throughput, p99 ${(policy.p99 / baseline.p99).toFixed(1)} × the baseline's`);
    console.log(`goal: ≥ 5000 decisions/s → ${policy.perSecond >= 5000 ? 'met' : 'MISSED'}; p99 < 5 ms → ${policy.p99 < 5 ? 'met' : 'MISSED'}`);
    const consistent = counted === policy.accepted && policy.other.size === 0;
    const perK = (r: typeof policy, k: keyof typeof policy.cpu) => ((r.cpu[k] / r.decisions) * 1e6).toFixed(0);
    console.log(
      `CPU per decision (µs): baseline server ${perK(baseline, 'server')}, client ${perK(baseline, 'client')}; policy service ${perK(policy, 'server')}, ` +
        `PostgreSQL ${postmasterPid ? perK(policy, 'postgres') : '(not measured: DATABASE_URL)'}, client ${perK(policy, 'client')}`,
    );
    if (batchLine) console.log(`policy service: ${batchLine[1]} decisions per database transaction on average`);
    console.log(`machine load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (other processes share the ${os.cpus().length} CPUs)`);
    console.log(`counters: ${counted} e-mails counted in PostgreSQL for ${policy.accepted} accepted decisions (${consistent ? 'consistent' : 'INCONSISTENT'})`);
    if (policy.other.size) console.log('other answers:', Object.fromEntries(policy.other));
    if (!consistent) process.exitCode = 1;
  } finally {
    stopChildren();
    await embedded?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  stopChildren();
  process.exit(1);
});
