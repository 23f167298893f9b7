// Benchmark 3 — subscription fan-out. 1,000 graphql-ws clients subscribed to one migration's progress;
// this process plays the worker: it updates the migration and publishes over NOTIFY 2 times a second
// for 30 s, then the final state. Measured: delivery latency from NOTIFY to each client (p50/p99), the
// API process's memory per subscriber, and how many clients got the final state. Baseline in the same
// run: the same NOTIFY → one plain LISTEN client (no GraphQL).
// Memory is read inside the API process after forced GC (bench/lib/memory-probe.mjs), before the
// first client connects and once all are subscribed: the goal's figure is the RSS delta / subscribers
// (less the resizing of V8's young generation, which is empty after GC and sized by the allocation
// rate); the raw RSS delta and the V8 heap (heapUsed) and off-heap (external) deltas are printed beside it. The API's CPU time per
// event (process.cpuUsage between two probes) and the load average are printed too: on a shared
// machine latency follows the neighbours' load, CPU per event much less.
// Goals (issue 7): p99 < 100 ms, < 50 KB per subscriber, zero lost final events.
// Scale-out (issue 15), in the same run: the same number of subscribers split over TWO API processes
// on the one database (the second started like the first, its own data folder, the same secrets),
// half on each; a change published once reaches both through PostgreSQL's NOTIFY. Reported in a column
// beside the single instance's: latency, finals, memory and CPU per event of each API. The single
// instance is measured first, then the pair (API A again, plus B), each on a migration of its own.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import pg from 'pg';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { fmt } from './lib/load.js';
import { percentile } from './lib/load.js';
import { benchDatabase, machine, startChild, stopAllChildren } from './lib/processes.js';

const CLIENTS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const RATE = 2;
const loadAtStart = loadavg()[0]!;
const db = await benchDatabase();
const PROBE = fileURLToPath(new URL('./lib/memory-probe.mjs', import.meta.url));

interface Memory { rss: number; heapUsed: number; external: number; arrayBuffers: number; rssNoGc: number; cpuAtSignal: number; cpuAfterGc: number; spaces: Record<string, number> }
/** The API's memory after forced GC, as its memory probe reports it; rssNoGc is RSS just before the GC. */
function memoryAfterGc(child: ChildProcess): Promise<Memory> {
  const rssNoGc = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('memory probe did not answer')), 30_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = /MEMORY_PROBE (\{.*\})\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      if (process.env.BENCH_VERBOSE) console.log(m[1]);
      const mem = JSON.parse(m[1]!);
      if (!mem.gc) return reject(new Error('the API runs without --expose-gc: memory would include garbage'));
      resolve({ ...mem, rssNoGc });
    };
    child.stdout!.on('data', onData);
    child.kill('SIGUSR2');
  });
}
const MB = (bytes: number) => Math.round(bytes / 2 ** 20);

type Api = { url: string; child: ChildProcess };

/** What one phase (the subscribers on one or more APIs) measured. */
interface Phase {
  subscribed: number;
  latencies: number[];
  baseLatencies: number[];
  finals: number;
  /** Per API, in the order given: memory after GC before the first client and once all subscribed, and at the end. */
  memory: { before: Memory; after: Memory; end: Memory; subscribers: number }[];
  clientsCpuMs: number;
}

try {
  const secrets = { JWT_SECRET: randomBytes(32).toString('hex'), ENCRYPTION_KEY: randomBytes(32).toString('hex') };
  const apiEnv = (name: string) => ({ DATABASE_URL: db.url, PORT: '0', RUN_WORKER: 'false', GRAPHIQL: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production', DATA_DIR: `${db.dir}-data-${name}`, ADMIN_EMAIL: 'admin@bench.test', ADMIN_PASSWORD: 'bench-admin-pass', ...secrets, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import=${PROBE}`.trim() });
  const startApi = (name: string): Promise<Api> => startChild('scripts/start.ts', apiEnv(name), /GraphQL API: (http:\/\/\S+)\/graphql/);
  const apiA = await startApi('a');
  const gql = async (query: string, token?: string, api: Api = apiA) => {
    const r = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query }) });
    const body = (await r.json()) as any;
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const login = async (api: Api) => (await gql(`mutation{ login(email:"admin@bench.test", password:"bench-admin-pass"){ ... on MutationLoginSuccess { session { accessToken } } } }`, undefined, api)).login.session.accessToken as string;
  const token = await login(apiA);
  const pkg = (await gql(`mutation{ createHostingPackage(input:{name:"p"}){ ... on MutationCreateHostingPackageSuccess { hostingPackage { id } } } }`, token)).createHostingPackage.hostingPackage.id;
  const cust = (await gql(`mutation{ createCustomer(name:"c", packageId:"${pkg}"){ ... on MutationCreateCustomerSuccess { customer { id } } } }`, token)).createCustomer.customer.id;
  await gql(`mutation{ createDomain(name:"fanout.example", customerId:"${cust}"){ __typename } }`, token);
  await gql(`mutation{ createMailbox(username:"target", domain:"fanout.example", password:"target-pass-1"){ ... on MutationCreateMailboxSuccess { mailbox { id } } } }`, token);

  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const mailboxUuid = (await c.query(`SELECT id FROM mailboxes WHERE address = 'target@fanout.example'`)).rows[0].id;
  const newMigration = async () =>
    (await c.query(
      `INSERT INTO migrations (mailbox_id, created_by_type, created_by_label, source_host, source_port, source_security, source_username, status, phase, messages_total)
       VALUES ($1, 'USER', 'bench', 'imap.example', 993, 'SSL', 'u', 'RUNNING', 'COPYING', 100000) RETURNING id`, [mailboxUuid])).rows[0].id as string;

  /** CLIENTS subscribers spread round-robin over `apis`, SECONDS × RATE events published once each. */
  async function phase(apis: Api[]): Promise<Phase> {
    const migrationId = await newMigration();
    const globalId = Buffer.from(`Migration:${migrationId}`).toString('base64');
    const before = await Promise.all(apis.map((a) => memoryAfterGc(a.child)));
    const sentAt = new Map<number, bigint>();
    const latencies: number[] = [];
    const finals = new Set<number>();
    const clients = Array.from({ length: CLIENTS }, (_, i) => createClient({ url: apis[i % apis.length]!.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, lazy: false, retryAttempts: 0 }));
    let subscribed = 0;
    await Promise.all(
      clients.map(
        (client, i) =>
          new Promise<void>((ready) => {
            let first = true;
            client.subscribe<{ migrationProgress: { status: string; messagesCopied: number } }>(
              { query: `subscription($id:ID!){ migrationProgress(id:$id){ status messagesCopied messagesTotal foldersDone foldersTotal } }`, variables: { id: globalId } },
              {
                next: (v) => {
                  const p = v.data!.migrationProgress;
                  if (first) {
                    first = false;
                    subscribed++;
                    ready();
                    return;
                  }
                  const t0 = sentAt.get(p.messagesCopied);
                  if (t0) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
                  if (p.status === 'SUCCEEDED') finals.add(i);
                },
                error: (e) => {
                  console.error('subscription error', e);
                  ready();
                },
                complete: () => {},
              },
            );
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 2000));
    const after = await Promise.all(apis.map((a) => memoryAfterGc(a.child)));

    // Baseline: a plain LISTEN connection on the same channel.
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const baseLatencies: number[] = [];
    listener.on('notification', (n) => {
      const seq = JSON.parse(n.payload!).payload.seq as number | undefined;
      const t0 = seq !== undefined ? sentAt.get(seq) : undefined;
      if (t0) baseLatencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    await listener.query('LISTEN mailpanel_events');

    const clientsCpuBefore = process.cpuUsage();
    for (let seq = 1; seq <= SECONDS * RATE; seq++) {
      const final = seq === SECONDS * RATE;
      sentAt.set(seq, process.hrtime.bigint());
      await c.query(`UPDATE migrations SET messages_copied = $2, status = $3 WHERE id = $1`, [migrationId, seq, final ? 'SUCCEEDED' : 'RUNNING']);
      await c.query(`SELECT pg_notify('mailpanel_events', $1)`, [JSON.stringify({ topic: `migration:${migrationId}`, payload: { id: migrationId, status: final ? 'SUCCEEDED' : 'RUNNING', seq } })]);
      await new Promise((r) => setTimeout(r, 1000 / RATE));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const clientsCpu = process.cpuUsage(clientsCpuBefore);
    // Each API's CPU time from the last probe's end to now: the events, and nothing else happens then.
    const end = await Promise.all(apis.map((a) => memoryAfterGc(a.child)));
    await Promise.all(clients.map((cl) => cl.dispose()));
    await listener.end();
    latencies.sort((a, b) => a - b);
    baseLatencies.sort((a, b) => a - b);
    return {
      subscribed,
      latencies,
      baseLatencies,
      finals: finals.size,
      memory: apis.map((_, i) => ({ before: before[i]!, after: after[i]!, end: end[i]!, subscribers: Math.ceil((CLIENTS - i) / apis.length) })),
      clientsCpuMs: (clientsCpu.user + clientsCpu.system) / 1000,
    };
  }

  const one = await phase([apiA]);
  // B starts after the single instance's run (which it would otherwise listen to), and does what A
  // did before its first probe (a login: argon2's 64 MB in libuv's threads), then idles a moment as A
  // did between the runs, so its memory figures start from a comparable state.
  const apiB = await startApi('b');
  await login(apiB);
  await new Promise((r) => setTimeout(r, 5000));
  const two = await phase([apiA, apiB]);
  await c.end();

  const events = SECONDS * RATE;
  const perSubscriber = (m: Phase['memory'][number], key: Exclude<keyof Memory, 'spaces'>) => (m.after[key] - m.before[key]) / m.subscribers / 1024;
  // V8's young generation is empty after a full GC, but its committed size follows the recent
  // allocation rate (1 → 32 MB, shrunk when idle): ±30 KB per subscriber of noise in the RSS delta
  // that no subscriber holds. The goal's figure leaves it out; the raw delta is printed beside it.
  const youngGrowth = (m: Phase['memory'][number]) => (m.after.spaces.new_space ?? 0) - (m.before.spaces.new_space ?? 0);
  const retained = (m: Phase['memory'][number]) => (m.after.rss - m.before.rss - youngGrowth(m)) / m.subscribers / 1024;
  // RSS also moves when glibc trims the malloc arenas of libuv's threads (the setup's 64 MB argon2
  // hashes, the JWT checks): up to ±16 MB at a moment no subscriber decides. Say so when it shows.
  const rssNote = (m: Phase['memory'][number]) => (retained(m) < 0 ? '; below zero: the process gave back memory it held before (libuv threads\' malloc arenas), the heap figure is the steady one' : '');
  const cpuPerEvent = (m: Phase['memory'][number]) => (m.end.cpuAtSignal - m.after.cpuAfterGc) / 1000 / events;
  /** One cell per phase: the single API's figure, and each of the two APIs' (A / B). */
  const each = (p: Phase, f: (m: Phase['memory'][number]) => string) => p.memory.map(f).join(' / ');
  const cells = (f: (p: Phase) => string, base = '—') => `| ${f(one)} | ${f(two)} | ${base} |`;
  const table = [
    `Subscription fan-out (${CLIENTS} graphql-ws clients on one migration, ${RATE} events/s for ${SECONDS} s; the same ${CLIENTS} split over two API processes on the same database, measured after the single instance; ${machine()}; load average ${fmt(loadAtStart, 2)} at the start, ${fmt(loadavg()[0]!, 2)} at the end)`,
    '',
    '| measure | one API (graphql-ws) | two APIs, subscribers split (A / B where per API) | baseline (one LISTEN client; one API\'s run / two APIs\' run) |',
    '|---|---|---|---|',
    `| subscribed | ${one.subscribed} / ${CLIENTS} | ${two.subscribed} / ${CLIENTS} (${each(two, (m) => String(m.subscribers))}) | — |`,
    `| deliveries measured ${cells((p) => String(p.latencies.length), `${one.baseLatencies.length} / ${two.baseLatencies.length}`)}`,
    `| latency p50 (NOTIFY → client) ${cells((p) => `${fmt(percentile(p.latencies, 50))} ms`, `${fmt(percentile(one.baseLatencies, 50), 2)} / ${fmt(percentile(two.baseLatencies, 50), 2)} ms`)}`,
    `| latency p99 (goal < 100 ms) ${cells((p) => `${fmt(percentile(p.latencies, 99))} ms`, `${fmt(percentile(one.baseLatencies, 99), 2)} / ${fmt(percentile(two.baseLatencies, 99), 2)} ms`)}`,
    `| API memory per subscriber: RSS delta after GC, less the young generation's resizing, / subscribers (the goal: < 50 KB) ${cells((p) => each(p, (m) => `${fmt(retained(m))} KB (RSS ${MB(m.before.rss)} → ${MB(m.after.rss)} MB, young generation ${MB(m.before.spaces.new_space ?? 0)} → ${MB(m.after.spaces.new_space ?? 0)} MB${rssNote(m)})`))}`,
    `| RSS delta after GC / subscribers, young generation included ${cells((p) => each(p, (m) => `${fmt(perSubscriber(m, 'rss'))} KB`))}`,
    `| V8 heap in use per subscriber (heapUsed delta after GC / subscribers) ${cells((p) => each(p, (m) => `${fmt(perSubscriber(m, 'heapUsed'))} KB (heapUsed ${MB(m.before.heapUsed)} → ${MB(m.after.heapUsed)} MB)`))}`,
    `| off-heap buffers per subscriber (external delta after GC / subscribers) ${cells((p) => each(p, (m) => `${fmt(perSubscriber(m, 'external'))} KB (external ${MB(m.before.external)} → ${MB(m.after.external)} MB)`))}`,
    `| for comparison: RSS delta without GC / subscribers ${cells((p) => each(p, (m) => `${fmt(perSubscriber(m, 'rssNoGc'))} KB (RSS ${MB(m.before.rssNoGc)} → ${MB(m.after.rssNoGc)} MB)`))}`,
    `| API CPU time per event (user + system while publishing / events; less sensitive to other load than latency) ${cells((p) => each(p, (m) => `${fmt(cpuPerEvent(m))} ms`))}`,
    `| API CPU time per event, all API processes ${cells((p) => `${fmt(p.memory.reduce((sum, m) => sum + cpuPerEvent(m), 0))} ms`)}`,
    `| CPU time per event of this process (the ${CLIENTS.toLocaleString('en-US')} clients receiving, the publisher) ${cells((p) => `${fmt(p.clientsCpuMs / events)} ms`)}`,
    `| final state received (goal: all) ${cells((p) => `${p.finals} / ${CLIENTS}`)}`,
  ].join('\n');
  console.log('\n' + table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/fanout.md', table + '\n');
} finally {
  await stopAllChildren();
  await db.cleanup();
}
