// `npm run bench:policy`: the Postfix policy service (outbound rate limits) under load over loopback,
// next to a baseline measured the same way in the same run: a bare TCP server answering the same
// protocol with DUNNO (bench/policy-echo.ts). Checks that the counters in PostgreSQL equal the
// messages the service accepted, and writes the table to bench/results/policy.md.
//
// The goal (≥ 5,000 decisions/s with p99 < 5 ms) is a latency at a rate, so it is measured in two
// phases, each against the baseline and the service:
// - open loop: requests are scheduled on a fixed timetable (--rate per second) and sent, one at a time
//   per connection as Postfix does, over --connections connections (Postfix's default process limit);
//   a request whose connections are all busy waits for one. Latency runs from the SCHEDULED send time,
//   so a stalled server or load generator cannot hide the requests it delayed (coordinated omission);
//   a request still unanswered at the end counts as infinitely late.
// - closed loop (saturation): --clients clients each send their next request when the answer came:
//   the most decisions/s the service gives. Its p99 is mostly queueing (Little's law: clients ÷
//   throughput), printed for completeness.
// The open-loop goal is also a ratio: at --rate, the service's p99 within 3× the echo baseline's p99
// measured in the same run (the baseline absorbs what the machine and the load generator add). The
// open loop runs --runs times, the two servers in alternating order (echo first, then the service
// first, ...) so neither always gets the warmer or quieter slot; the ratio's median and spread over
// the runs are printed, and the open-loop rows are those of the median run.
// Senders are spread over many mailboxes, domains and customers with limits high enough that every
// message is accepted (so every decision writes its three counters).
//
//   npm run bench:policy [-- --rate 5000 --connections 100 --clients 32 --seconds 10 --mailboxes 5000 --runs 5]
// Uses DATABASE_URL when set (a scratch database: it seeds and deletes rows), else an embedded
// PostgreSQL of its own in a temporary folder.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../core/src/migrate.js';
import { endOfMessage, PolicyClient, renderRequest } from '../test/policy-client.js';
import { fmt, percentile } from './lib/load.js';
import { benchDatabase, machine, startChild, stopAllChildren, stopChild } from './lib/processes.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RATE = arg('rate', 5000);
const CONNECTIONS = arg('connections', 100);
const CLIENTS = arg('clients', 32);
const SECONDS = arg('seconds', 10);
const WARMUP = arg('warmup', 2);
const MAILBOXES = arg('mailboxes', 5000);
const RUNS = Math.max(1, arg('runs', 5));
const GOAL = { perSecond: 5000, p99: 5, p99Ratio: 3 };

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

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** What one phase measured against one server. */
interface Run {
  /** Answers received in the measured window ÷ its length. */
  perSecond: number;
  /** Latencies of the measured requests (ms); Infinity = never answered. */
  latencies: number[];
  /** Every accepted (DUNNO) answer of the phase, warm-up included: what the counters must hold. */
  accepted: number;
  /** Answers other than DUNNO (there should be none). */
  other: Map<string, number>;
  /** CPU µs per decision in the measured window. */
  cpu: { server: number; postgres: number; client: number };
  /** Open loop: how late the load generator sent (ms after the scheduled time), p99. */
  sendLagP99?: number;
  /** Open loop: requests sent whose answer had not come when the connections were closed: the
   *  service may or may not have counted them. */
  inFlightAtClose?: number;
}

/** Counts answers and CPU over a measured window that starts and ends at the times the caller says. */
class Recorder {
  latencies: number[] = [];
  accepted = 0;
  other = new Map<string, number>();
  answeredInWindow = 0;
  measuring = false;
  private cpu0 = { server: 0, postgres: 0, client: process.cpuUsage() };
  private began = 0;
  private cpu = { server: 0, postgres: 0, client: 0 };
  private elapsed = 0;

  constructor(private readonly serverPid: number | undefined) {}

  answer(a: string) {
    if (a === 'DUNNO') this.accepted++;
    else this.other.set(a.slice(0, 40), (this.other.get(a.slice(0, 40)) ?? 0) + 1);
    if (this.measuring) this.answeredInWindow++;
  }

  start() {
    this.cpu0 = { server: cpuSeconds(this.serverPid), postgres: cpuSeconds(postmasterPid), client: process.cpuUsage() };
    this.began = performance.now();
    this.measuring = true;
  }

  stop() {
    this.measuring = false;
    this.elapsed = (performance.now() - this.began) / 1000;
    const used = process.cpuUsage(this.cpu0.client);
    this.cpu = { server: cpuSeconds(this.serverPid) - this.cpu0.server, postgres: cpuSeconds(postmasterPid) - this.cpu0.postgres, client: (used.user + used.system) / 1e6 };
  }

  result(): Run {
    const perDecision = (s: number) => (s / Math.max(1, this.answeredInWindow)) * 1e6;
    return {
      perSecond: this.answeredInWindow / this.elapsed,
      latencies: this.latencies.sort((a, b) => a - b),
      accepted: this.accepted,
      other: this.other,
      cpu: { server: perDecision(this.cpu.server), postgres: perDecision(this.cpu.postgres), client: perDecision(this.cpu.client) },
    };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One open-loop run of each server, back to back. */
interface OpenPair {
  baseline: Run & { log: string };
  policy: Run & { log: string };
  echoFirst: boolean;
  ratio: number;
}

/** The service's p99 as a multiple of the echo baseline's p99 measured next to it; Infinity when the
 *  service left requests unanswered (p99 infinite), whatever the baseline did. */
const p99Ratio = (x: { baseline: Run; policy: Run }) => {
  const r = percentile(x.policy.latencies, 99) / percentile(x.baseline.latencies, 99);
  return Number.isNaN(r) ? Infinity : r;
};
/** A ratio for the tables: "∞" when the service left requests unanswered. */
const times = (r: number) => (Number.isFinite(r) ? `${fmt(r, 2)}×` : '∞ (unanswered requests)');

/** Median (the lower middle one for an even count: a run that happened) and spread of the runs' ratios. */
function ratioSummary(pairs: OpenPair[]) {
  const order = pairs.map((x, i) => ({ ratio: x.ratio, i })).sort((a, b) => a.ratio - b.ratio);
  const mid = order[Math.floor((order.length - 1) / 2)]!;
  return { median: mid.ratio, medianIndex: mid.i, min: order[0]!.ratio, max: order[order.length - 1]!.ratio };
}

/** Open loop: RATE requests per second on a timetable over CONNECTIONS connections (see the header). */
async function openLoop(port: number, requests: string[], serverPid: number | undefined): Promise<Run> {
  const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => PolicyClient.connect(port)));
  const rec = new Recorder(serverPid);
  const idle = [...conns];
  const waiting: number[] = []; // scheduled times of requests whose connections were all busy
  const lags: number[] = [];
  const interval = 1000 / RATE;
  const start = performance.now() + 5;
  const from = start + WARMUP * 1000;
  const to = from + SECONDS * 1000;
  let outstanding = 0;
  let k = 0;
  const send = (c: PolicyClient, scheduled: number) => {
    outstanding++;
    const measured = scheduled >= from && scheduled < to;
    if (measured) lags.push(performance.now() - scheduled);
    c.ask(requests[k++ % requests.length]!).then(
      (a) => {
        outstanding--;
        rec.answer(a);
        if (measured) rec.latencies.push(performance.now() - scheduled);
        const next = waiting.shift();
        if (next !== undefined) send(c, next);
        else idle.push(c);
      },
      () => {
        outstanding--;
        if (measured) rec.latencies.push(Infinity);
      },
    );
  };
  setTimeout(() => rec.start(), Math.max(0, from - performance.now()));
  const stopped = new Promise<void>((resolve) => setTimeout(() => resolve(rec.stop()), Math.max(0, to - performance.now())));
  // Timers fire at best every millisecond: each tick sends everything that is due by now.
  let n = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      for (let due = start + n * interval; due <= now && due < to; due = start + ++n * interval) {
        const c = idle.shift();
        if (c) send(c, due);
        else waiting.push(due);
      }
      const next = start + n * interval;
      if (next >= to) resolve();
      else setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  });
  // Let the last answers come (bounded), then count what never came as infinitely late.
  await stopped;
  for (const until = performance.now() + 10_000; (outstanding > 0 || waiting.length > 0) && performance.now() < until; ) await sleep(5);
  const unanswered = waiting.filter((s) => s >= from && s < to).length;
  const inFlightAtClose = outstanding;
  conns.forEach((c) => c.close());
  await sleep(20);
  for (let i = 0; i < unanswered; i++) rec.latencies.push(Infinity);
  lags.sort((a, b) => a - b);
  return { ...rec.result(), sendLagP99: percentile(lags, 99), inFlightAtClose };
}

/** Closed loop: CLIENTS clients, each sending its next request when the answer came. */
async function closedLoop(port: number, requests: string[], serverPid: number | undefined): Promise<Run> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => PolicyClient.connect(port)));
  const rec = new Recorder(serverPid);
  let done = false;
  let k = 0;
  const loops = clients.map(async (c) => {
    while (!done) {
      const t0 = performance.now();
      const a = await c.ask(requests[k++ % requests.length]!);
      rec.answer(a);
      if (rec.measuring) rec.latencies.push(performance.now() - t0);
    }
  });
  await sleep(WARMUP * 1000);
  rec.start();
  await sleep(SECONDS * 1000);
  rec.stop();
  done = true;
  await Promise.all(loops);
  clients.forEach((c) => c.close());
  return rec.result();
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

/** Starts a server (entry prints `listening on host:port`), runs one phase against it, stops it. */
async function measure(entry: string, env: Record<string, string>, phase: typeof openLoop, requests: string[]): Promise<Run & { log: string }> {
  const { url: port, child } = await startChild(entry, env, /listening on [\d.]+:(\d+)/);
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  // The service logs its batch counts when it stops: read stderr to its end.
  const closed = new Promise((r) => child.once('close', r));
  let run: Run;
  try {
    run = await phase(Number(port), requests, child.pid);
  } finally {
    await stopChild(child as ChildProcess);
  }
  await closed;
  return { ...run, log };
}

async function main() {
  let db: Awaited<ReturnType<typeof benchDatabase>> | undefined;
  let url = process.env.DATABASE_URL;
  try {
    if (url) await migrate(url);
    else {
      db = await benchDatabase();
      url = db.url;
      postmasterPid = Number(readFileSync(path.join(db.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    }
    const addresses = await seed(url);
    // Rendered once, so that the load generator spends its CPU on sending (it shares the machine).
    const requests = addresses.map((a) => renderRequest(endOfMessage(a)));
    const loadBefore = loadAverage();
    const customers = Math.max(1, Math.round(MAILBOXES / 100));
    const setup =
      `Policy service over loopback (${addresses.length} mailboxes on ${customers * 4} domains of ${customers} customers, every message accepted; ` +
      `${SECONDS} s measured after ${WARMUP} s warm-up per phase; ${machine()})`;
    console.log(`policy benchmark: ${addresses.length} mailboxes; machine load average at the start: ${loadBefore}`);

    const before = await countersTotal(url);
    const service = (phase: typeof openLoop) =>
      measure('scripts/policy.ts', { DATABASE_URL: url!, POLICY_PORT: '0', POLICY_HOST: '127.0.0.1', LOG_LEVEL: 'info' }, phase, requests);
    const echo = (phase: typeof openLoop) => measure('bench/policy-echo.ts', {}, phase, requests);
    // Open loop: RUNS pairs, each baseline next to its service run so both see the same machine,
    // the order alternating from pair to pair.
    const pairs: OpenPair[] = [];
    for (let i = 0; i < RUNS; i++) {
      const echoFirst = i % 2 === 0;
      const first = await (echoFirst ? echo : service)(openLoop);
      const second = await (echoFirst ? service : echo)(openLoop);
      const pair = echoFirst ? { baseline: first, policy: second, echoFirst } : { baseline: second, policy: first, echoFirst };
      pairs.push({ ...pair, ratio: p99Ratio(pair) });
      console.log(`open loop run ${i + 1}/${RUNS} (${echoFirst ? 'echo first' : 'service first'}): p99 echo ${fmt(percentile(pair.baseline.latencies, 99), 2)} ms, service ${fmt(percentile(pair.policy.latencies, 99), 2)} ms, ratio ${times(p99Ratio(pair))}`);
    }
    const ratios = ratioSummary(pairs);
    const open = pairs[ratios.medianIndex]!;
    const closed = { baseline: await echo(closedLoop), policy: await service(closedLoop) };
    const counted = (await countersTotal(url)) - before;
    const loadAfter = loadAverage();

    const p = (r: Run, q: number) => percentile(r.latencies, q);
    const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
    const openPhase = `open loop: ${RATE.toLocaleString('en-US')}/s offered over ${CONNECTIONS} connections`;
    const closedPhase = `closed loop: ${CLIENTS} clients (saturation)`;
    const p99Goal = (r: Run) => (p(r, 99) < GOAL.p99 ? `p99 < ${GOAL.p99} ms: met` : `p99 < ${GOAL.p99} ms: **MISSED** (${fmt(p(r, 99), 2)} ms)`);
    const openGoal = (r: Run) => {
      // Kept up: answered (nearly) as many per second as were offered, and answered every request.
      const unanswered = r.latencies.filter((l) => l === Infinity).length;
      const rate =
        RATE < GOAL.perSecond ? `${GOAL.perSecond.toLocaleString('en-US')}/s: not tested (offered less)`
        : unanswered > 0 ? `sustained ${RATE.toLocaleString('en-US')}/s: **MISSED** (${unanswered} unanswered)`
        : r.perSecond < 0.99 * RATE ? `sustained ${RATE.toLocaleString('en-US')}/s: **MISSED** (answered ${n0(r.perSecond)}/s)`
        : `sustained ${RATE.toLocaleString('en-US')}/s: met`;
      return `${rate}; ${p99Goal(r)}`;
    };
    const closedGoal = (r: Run) =>
      `≥ ${GOAL.perSecond.toLocaleString('en-US')}/s: ${r.perSecond >= GOAL.perSecond ? 'met' : `**MISSED** (${n0(r.perSecond)}/s)`}; ` +
      `${p99Goal(r)} — queueing at saturation (Little's law: ${CLIENTS} ÷ ${n0(r.perSecond)}/s = ${fmt((CLIENTS / r.perSecond) * 1000, 2)} ms mean)`;
    const row = (phase: string, server: string, r: Run, ratio: string, goal: string) =>
      `| ${phase} | ${server} | ${n0(r.perSecond)} | ${fmt(p(r, 50), 2)} | ${fmt(p(r, 99), 2)} | ${fmt(r.latencies[r.latencies.length - 1] ?? NaN, 1)} | ${ratio} | ${goal} |`;
    const cpu = (r: Run, server: string) =>
      `${server} ${r.cpu.server.toFixed(0)}, ${postmasterPid && server.startsWith('policy') ? `PostgreSQL ${r.cpu.postgres.toFixed(0)}, ` : ''}load generator ${r.cpu.client.toFixed(0)}`;
    const batches = (r: { log: string }) => {
      const m = /"perBatch":([\d.]+),"allFit":(\d+),"createdCounters":(\d+),"exact":(\d+)/.exec(r.log);
      return m ? `${m[1]} (${m[2]} batches in one statement, ${m[4]} on the exact path; ${m[3]} created counters first)` : '?';
    };
    const policyRuns = [...pairs.map((x) => x.policy), closed.policy];
    const accepted = policyRuns.reduce((sum, r) => sum + r.accepted, 0);
    // A request in flight when a run closed its connections may have been counted without its answer
    // arriving (only under overload): the counters then hold up to that many more than were accepted.
    const inFlight = pairs.reduce((sum, x) => sum + (x.policy.inFlightAtClose ?? 0), 0);
    const consistent = counted >= accepted && counted <= accepted + inFlight && policyRuns.every((r) => r.other.size === 0);
    const ratioGoal =
      RATE !== GOAL.perSecond ? `not tested (offered ${RATE.toLocaleString('en-US')}/s, the goal is at ${GOAL.perSecond.toLocaleString('en-US')}/s)`
      : ratios.median <= GOAL.p99Ratio ? 'met'
      : `**MISSED** (${times(ratios.median)})`;

    const table = [
      setup,
      '',
      `| phase | server | decisions/s | p50 ms | p99 ms | max ms | p99 ÷ echo p99 (goal ≤ ${GOAL.p99Ratio}×) | goal: ≥ ${GOAL.perSecond.toLocaleString('en-US')} decisions/s with p99 < ${GOAL.p99} ms |`,
      '|---|---|---|---|---|---|---|---|',
      row(`${openPhase}, median run of ${RUNS}`, 'baseline: TCP echo, same protocol', open.baseline, '1×', '—'),
      row(
        `${openPhase}, median run of ${RUNS}`,
        'policy service (PostgreSQL counters)',
        open.policy,
        `**${times(ratios.median)}** median of ${RUNS} runs (spread ${times(ratios.min)} – ${times(ratios.max)}): ${ratioGoal}`,
        openGoal(open.policy),
      ),
      row(closedPhase, 'baseline: TCP echo, same protocol', closed.baseline, '1×', '—'),
      row(closedPhase, 'policy service (PostgreSQL counters)', closed.policy, `${times(p99Ratio(closed))} (saturation: not the goal's)`, closedGoal(closed.policy)),
      '',
      `p99 ratio at ${RATE.toLocaleString('en-US')}/s offered, run by run (each pair back to back, order alternating):`,
      '',
      '| run | order | echo p99 ms | service p99 ms | service p99 ÷ echo p99 |',
      '|---|---|---|---|---|',
      ...pairs.map(
        (x, i) =>
          `| ${i + 1}${i === ratios.medianIndex ? ' (median)' : ''} | ${x.echoFirst ? 'echo, then service' : 'service, then echo'} | ${fmt(p(x.baseline, 99), 2)} | ${fmt(p(x.policy, 99), 2)} | ${times(x.ratio)} |`,
      ),
      '',
      `- p99 ratio, policy service ÷ echo baseline at ${RATE.toLocaleString('en-US')}/s: median ${times(ratios.median)}, spread ${times(ratios.min)} – ${times(ratios.max)} over ${RUNS} runs; goal ≤ ${GOAL.p99Ratio}×: ${ratioGoal}.`,
      `- Open loop: latency runs from each request's scheduled send time. Requests went out p99 ${fmt(open.baseline.sendLagP99 ?? NaN, 2)} ms (baseline run) / ` +
        `${fmt(open.policy.sendLagP99 ?? NaN, 2)} ms (service run) after their scheduled time (the load generator's timers, and waits for a free connection ` +
        `when all ${CONNECTIONS} were busy); that delay is part of the latencies above.`,
      `- CPU per decision (µs), open loop: ${cpu(open.baseline, 'baseline server')}; ${cpu(open.policy, 'policy service')}. ` +
        `Closed loop: ${cpu(closed.baseline, 'baseline server')}; ${cpu(closed.policy, 'policy service')}.`,
      `- Decisions per batch: open loop ${batches(open.policy)}; closed loop ${batches(closed.policy)}.`,
      `- Counters: ${counted} e-mails counted in PostgreSQL for ${accepted} accepted decisions` +
        `${inFlight ? ` and ${inFlight} requests still in flight when their run closed its connections (counted or not)` : ''} (${consistent ? 'consistent' : '**INCONSISTENT**'}).`,
      `- Machine load average (1, 5, 15 min) at the start: ${loadBefore}; at the end: ${loadAfter} (other processes share the ${os.cpus().length} CPUs).`,
    ].join('\n');
    console.log('');
    console.log(table);
    for (const r of [open.policy, closed.policy]) if (r.other.size) console.log('other answers:', Object.fromEntries(r.other));
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/policy.md', table + '\n');
    if (!consistent) process.exitCode = 1;
  } finally {
    await stopAllChildren();
    await db?.cleanup();
  }
}

main().catch(async (err) => {
  console.error(err);
  await stopAllChildren();
  process.exit(1);
});
