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

try {
  const env = { DATABASE_URL: db.url, PORT: '0', RUN_WORKER: 'false', GRAPHIQL: 'false', LOG_LEVEL: 'warn', NODE_ENV: 'production', DATA_DIR: `${db.dir}-data`, ADMIN_EMAIL: 'admin@bench.test', ADMIN_PASSWORD: 'bench-admin-pass', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import=${PROBE}`.trim() };
  const api = await startChild('scripts/start.ts', env, /GraphQL API: (http:\/\/\S+)\/graphql/);
  const gql = async (query: string, token?: string) => {
    const r = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query }) });
    const body = (await r.json()) as any;
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const token = (await gql(`mutation{ login(email:"admin@bench.test", password:"bench-admin-pass"){ ... on MutationLoginSuccess { session { accessToken } } } }`)).login.session.accessToken;
  const pkg = (await gql(`mutation{ createHostingPackage(input:{name:"p"}){ ... on MutationCreateHostingPackageSuccess { hostingPackage { id } } } }`, token)).createHostingPackage.hostingPackage.id;
  const cust = (await gql(`mutation{ createCustomer(name:"c", packageId:"${pkg}"){ ... on MutationCreateCustomerSuccess { customer { id } } } }`, token)).createCustomer.customer.id;
  await gql(`mutation{ createDomain(name:"fanout.example", customerId:"${cust}"){ __typename } }`, token);
  const mb = (await gql(`mutation{ createMailbox(username:"target", domain:"fanout.example", password:"target-pass-1"){ ... on MutationCreateMailboxSuccess { mailbox { id } } } }`, token)).createMailbox.mailbox.id;

  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const mailboxUuid = (await c.query(`SELECT id FROM mailboxes WHERE address = 'target@fanout.example'`)).rows[0].id;
  const migrationId = (await c.query(
    `INSERT INTO migrations (mailbox_id, created_by_type, created_by_label, source_host, source_port, source_security, source_username, status, phase, messages_total)
     VALUES ($1, 'USER', 'bench', 'imap.example', 993, 'SSL', 'u', 'RUNNING', 'COPYING', 100000) RETURNING id`, [mailboxUuid])).rows[0].id as string;
  const globalId = Buffer.from(`Migration:${migrationId}`).toString('base64');

  const before = await memoryAfterGc(api.child);
  const sentAt = new Map<number, bigint>();
  const latencies: number[] = [];
  const finals = new Set<number>();
  const clients = Array.from({ length: CLIENTS }, () => createClient({ url: api.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, lazy: false, retryAttempts: 0 }));
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
  const after = await memoryAfterGc(api.child);

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
  // The API's CPU time from the last probe's end to now: the events, and nothing else happens then.
  const end = await memoryAfterGc(api.child);
  await Promise.all(clients.map((cl) => cl.dispose()));
  await listener.end();
  await c.end();

  latencies.sort((a, b) => a - b);
  baseLatencies.sort((a, b) => a - b);
  const perSubscriber = (key: Exclude<keyof Memory, 'spaces'>) => (after[key] - before[key]) / CLIENTS / 1024;
  // V8's young generation is empty after a full GC, but its committed size follows the recent
  // allocation rate (1 → 32 MB, shrunk when idle): ±30 KB per subscriber of noise in the RSS delta
  // that no subscriber holds. The goal's figure leaves it out; the raw delta is printed beside it.
  const youngGrowth = (after.spaces.new_space ?? 0) - (before.spaces.new_space ?? 0);
  const retainedPerSubscriber = (after.rss - before.rss - youngGrowth) / CLIENTS / 1024;
  // RSS also moves when glibc trims the malloc arenas of libuv's threads (the setup's 64 MB argon2
  // hashes, the JWT checks): up to ±16 MB at a moment no subscriber decides. Say so when it shows.
  const rssNote = retainedPerSubscriber < 0 ? '; below zero: the process gave back memory it held before (libuv threads\' malloc arenas), the heap figure is the steady one' : '';
  const table = [
    `Subscription fan-out (${CLIENTS} graphql-ws clients on one migration, ${RATE} events/s for ${SECONDS} s; ${machine()}; load average ${fmt(loadAtStart, 2)} at the start, ${fmt(loadavg()[0]!, 2)} at the end)`,
    '',
    '| measure | API (graphql-ws) | baseline (one LISTEN client) |',
    '|---|---|---|',
    `| subscribed | ${subscribed} / ${CLIENTS} | — |`,
    `| deliveries measured | ${latencies.length} | ${baseLatencies.length} |`,
    `| latency p50 (NOTIFY → client) | ${fmt(percentile(latencies, 50))} ms | ${fmt(percentile(baseLatencies, 50), 2)} ms |`,
    `| latency p99 (goal < 100 ms) | ${fmt(percentile(latencies, 99))} ms | ${fmt(percentile(baseLatencies, 99), 2)} ms |`,
    `| API memory per subscriber: RSS delta after GC, less the young generation's resizing, / subscribers (the goal: < 50 KB) | ${fmt(retainedPerSubscriber)} KB (RSS ${MB(before.rss)} → ${MB(after.rss)} MB, young generation ${MB(before.spaces.new_space ?? 0)} → ${MB(after.spaces.new_space ?? 0)} MB${rssNote}) | — |`,
    `| RSS delta after GC / subscribers, young generation included | ${fmt(perSubscriber('rss'))} KB | — |`,
    `| V8 heap in use per subscriber (heapUsed delta after GC / subscribers) | ${fmt(perSubscriber('heapUsed'))} KB (heapUsed ${MB(before.heapUsed)} → ${MB(after.heapUsed)} MB) | — |`,
    `| off-heap buffers per subscriber (external delta after GC / subscribers) | ${fmt(perSubscriber('external'))} KB (external ${MB(before.external)} → ${MB(after.external)} MB) | — |`,
    `| for comparison: RSS delta without GC / subscribers (this bench's figure until now) | ${fmt(perSubscriber('rssNoGc'))} KB (RSS ${MB(before.rssNoGc)} → ${MB(after.rssNoGc)} MB) | — |`,
    `| API CPU time per event (user + system while publishing / events; less sensitive to other load than latency) | ${fmt((end.cpuAtSignal - after.cpuAfterGc) / 1000 / (SECONDS * RATE))} ms | — |`,
    `| CPU time per event of this process (the 1,000 clients receiving, the publisher) | ${fmt((clientsCpu.user + clientsCpu.system) / 1000 / (SECONDS * RATE))} ms | — |`,
    `| final state received (goal: all) | ${finals.size} / ${CLIENTS} | — |`,
  ].join('\n');
  console.log('\n' + table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/fanout.md', table + '\n');
} finally {
  await stopAllChildren();
  await db.cleanup();
}
