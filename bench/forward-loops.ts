// Benchmark — forwarding-loop checks at 50,000 forwards (issue 12, item 1).
// 1. The pure graph (core/src/forward-routing.ts): findLoops over every forward (forwardLoops) and
//    loopThrough for one new forward (what createForward checks).
// 2. A forward write's check (mail_alias_loops on the new source, in its transaction), and
//    loadRoutingTable, the one query that loads the whole graph when a loop must be named.
// 3. What one Postfix alias lookup costs (mail_alias_lookup, pgsql-aliases.cf): time, and the table
//    scans it makes, counted by PostgreSQL itself (pg_stat_xact_user_tables) — for a forward to a
//    mailbox, a 10-step chain, a loop and a catch-all. Baseline: Postfix without the loop check
//    looks a loop up virtual_alias_recursion_limit (1000) times per message and then defers it.
import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { fmt } from './lib/load.js';
import { benchDatabase, machine } from './lib/processes.js';
import { findLoops, loopThrough, type RoutingTable } from '../core/src/forward-routing.js';

const N = Number(process.env.BENCH_FORWARDS ?? 50_000);
const DOMAINS = 100;
const db = await benchDatabase();
process.env.DATABASE_URL = db.url;
const { db: prisma, closeDb } = await import('../core/src/db.js');
const { loadRoutingTable } = await import('../api/src/forward-loops.js');
const lines: string[] = [];
const time = async <T>(fn: () => T | Promise<T>, runs = 5): Promise<{ value: T; ms: number }> => {
  let value!: T;
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = await fn();
    ms.push(performance.now() - t0);
  }
  return { value, ms: ms.sort((a, b) => a - b)[Math.floor(runs / 2)]! };
};

try {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  // Seed: DOMAINS domains, N mailboxes, N forwards. Forward i sends to mailbox i, to an outside
  // address, and to forward i+1 within its block of 10 (chains of 10, no loop); every domain has a
  // catch-all to one of its mailboxes. Then one loop of two forwards and one through catch-alls.
  await c.query(`INSERT INTO hosting_packages (name) VALUES ('bench');
    INSERT INTO customers (name, package_id) SELECT 'bench', id FROM hosting_packages;
    INSERT INTO domains (name, customer_id) SELECT 'd' || i || '.bench', (SELECT id FROM customers) FROM generate_series(0, ${DOMAINS - 1}) i;`);
  await c.query(`INSERT INTO mailboxes (local_part, domain_id, address, password_hash)
    SELECT 'm' || i, d.id, 'm' || i || '@' || d.name, 'x' FROM generate_series(0, ${N - 1}) i JOIN domains d ON d.name = 'd' || (i % ${DOMAINS}) || '.bench'`);
  await c.query(`INSERT INTO forwards (local_part, domain_id, source, destinations)
    SELECT 'f' || i, d.id, 'f' || i || '@' || d.name,
           ARRAY['m' || i || '@' || d.name, 'out' || i || '@far.test'] ||
           CASE WHEN i % 10 <> 9 THEN ARRAY['f' || (i + 1) || '@d' || ((i + 1) % ${DOMAINS}) || '.bench'] ELSE ARRAY[]::text[] END
      FROM generate_series(0, ${N - 1}) i JOIN domains d ON d.name = 'd' || (i % ${DOMAINS}) || '.bench'`);
  await c.query(`INSERT INTO forwards (local_part, domain_id, source, destinations)
    SELECT '*', id, '*@' || name, ARRAY['m' || substring(name FROM '^d(\\d+)') || '@' || name] FROM domains WHERE name NOT IN ('d1.bench', 'd2.bench')`);
  await c.query(`INSERT INTO forwards (local_part, domain_id, source, destinations) SELECT v.l, d.id, v.s, v.dest
      FROM (VALUES ('ping', 'ping@d0.bench', ARRAY['pong@d0.bench']), ('pong', 'pong@d0.bench', ARRAY['ping@d0.bench']),
                   ('*', '*@d1.bench', ARRAY['nobody@d2.bench']), ('*', '*@d2.bench', ARRAY['nobody@d1.bench'])) v(l, s, dest)
      JOIN domains d ON d.name = split_part(v.s, '@', 2)`);
  await c.query('ANALYZE');
  const counts = (await c.query(`SELECT (SELECT count(*) FROM forwards)::int AS f, (SELECT count(*) FROM mailboxes)::int AS m`)).rows[0];

  // 1 + 2
  const load = await time(() => loadRoutingTable(prisma()));
  const table: RoutingTable = load.value;
  const all = await time(() => findLoops(table));
  const withNew: RoutingTable = { forwards: new Map(table.forwards).set('new@d0.bench', ['f0@d0.bench', 'f5@d5.bench']), mailboxes: table.mailboxes, refused: table.refused };
  const one = await time(() => loopThrough(withNew, 'new@d0.bench'), 21);
  lines.push(`Forwarding-loop checks (${counts.f} forwards, ${counts.m} mailboxes on ${DOMAINS} domains; median of 5 runs, loopThrough of 21; ${machine()})`, '');
  lines.push('| step | time ms | result |', '|---|---|---|');
  // What createForward runs after its write: the daemon's check on the new source; the graph is
  // loaded (row above) only when that suspects a loop, to decide and name it.
  await c.query(`BEGIN; INSERT INTO forwards (local_part, domain_id, source, destinations) SELECT 'new', id, 'new@d0.bench', ARRAY['f0@d0.bench', 'f5@d5.bench'] FROM domains WHERE name = 'd0.bench'`);
  const check = await time(() => c.query(`SELECT 1 FROM unnest($1::text[]) s WHERE mail_alias_loops(s) LIMIT 1`, [['new@d0.bench']]), 21);
  await c.query('ROLLBACK');
  lines.push(`| createForward's check after its write: mail_alias_loops on the new source (no loop) | ${fmt(check.ms, 2)} | ${check.value.rowCount ? 'suspected loop' : 'no loop: done'} |`);
  lines.push(`| loadRoutingTable (whole table): only when a loop is suspected, and for an admin's forwardLoops | ${fmt(load.ms)} | ${table.forwards.size} forwards, ${table.mailboxes.size} mailbox destinations |`);
  lines.push(`| findLoops over every forward (forwardLoops) | ${fmt(all.ms)} | ${all.value.length} loops |`);
  lines.push(`| loopThrough for one new forward on the loaded graph | ${fmt(one.ms, 3)} | ${one.value ? 'loop' : 'no loop'} |`);

  // 3
  lines.push('', '| Postfix lookup (mail_alias_lookup) | time ms | index scans | sequential scans (of the 100-row domains table the planner prefers them) | answer |', '|---|---|---|---|---|');
  const cases: [string, string][] = [
    ['forward to a mailbox + outside (end of a chain)', 'f9@d9.bench'],
    ['start of a 10-step chain', 'f0@d0.bench'],
    ['a → b → a', 'ping@d0.bench'],
    ['catch-all lookup, two catch-alls in a loop', '@d1.bench'],
    ['catch-all lookup, ordinary', '@d5.bench'],
    ['not a forward', 'm3@d3.bench'],
  ];
  for (const [name, key] of cases) {
    const t = await time(() => c.query(`SELECT mail_alias_lookup($1) AS d`, [key]), 21);
    // Counted inside one transaction, before and after: PostgreSQL's own per-table scan counters.
    const scans = async () =>
      (await c.query(`SELECT relname, idx_scan::int AS idx, seq_scan::int AS seq FROM pg_stat_xact_user_tables WHERE relname IN ('forwards', 'mailboxes', 'domains')`)).rows as { relname: string; idx: number; seq: number }[];
    await c.query('BEGIN');
    const before = await scans();
    const rows = (await c.query(`SELECT mail_alias_lookup($1) AS d`, [key])).rows.map((r) => r.d);
    const after = await scans();
    await c.query('COMMIT');
    const delta = (rel: string, k: 'idx' | 'seq') => (after.find((r) => r.relname === rel)?.[k] ?? 0) - (before.find((r) => r.relname === rel)?.[k] ?? 0);
    const idx = `forwards ${delta('forwards', 'idx')}, mailboxes ${delta('mailboxes', 'idx')}, domains ${delta('domains', 'idx')}`;
    const seq = `forwards ${delta('forwards', 'seq')}, mailboxes ${delta('mailboxes', 'seq')}, domains ${delta('domains', 'seq')}`;
    lines.push(`| ${name} (\`${key}\`) | ${fmt(t.ms, 2)} | ${idx} | ${seq} | ${rows.length > 3 ? `${rows.length} addresses` : rows.join(', ') || '—'} |`);
  }
  lines.push('', '- Without the loop check Postfix repeats the lookup of a looping address up to virtual_alias_recursion_limit (1000) times per message and then defers it (451 4.3.0), for ever; with it the looping address answers loop@forward-loop.invalid on its first lookup and the message bounces (5.4.6).');
  await c.end();
  await closeDb();
  const out = lines.join('\n') + '\n';
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/forward-loops.md', out);
  console.log(out);
} finally {
  await db.cleanup();
}
