// Benchmark — what the query limits cost per request. For each document a request may bring (a panel
// page, the standard introspection query, a 30-level fragment-doubling attack, 1,000 ids in
// nodes(ids:)), the time of the checks the API runs before any resolver (api/src/query-limits.ts:
// depth + cost in one memoised pass; api/src/cursor-check.ts) against graphql-js' own validation of
// the same parsed document (the baseline, measured in the same run). Pure CPU, no database: each
// figure is the median over RUNS runs of the mean time per request in a run of ITERATIONS requests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { getIntrospectionQuery, parse, validate, type DocumentNode } from 'graphql';

// The schema module reads the environment (it builds no connection): a placeholder is enough.
process.env.DATABASE_URL ??= 'postgresql://bench@127.0.0.1:1/bench';
const { schema } = await import('../api/src/schema/index.js');
const { limitError } = await import('../api/src/query-limits.js');
const { cursorError } = await import('../api/src/cursor-check.js');
const { machine } = await import('./lib/processes.js');
const { fmt } = await import('./lib/load.js');

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 300);
const LIMITS = { maxDepth: 12, maxCost: 50_000, defaultPageSize: 50, maxPageSize: 200 };

const b64 = (s: string) => Buffer.from(s).toString('base64');
let doubling = 'query { viewer { ...F0 } }';
for (let i = 0; i < 30; i++) doubling += ` fragment F${i} on Viewer { kind ...F${i + 1} ...F${i + 1} }`;
doubling += ' fragment F30 on Viewer { kind }';

const cases: { name: string; query: string; variables?: Record<string, unknown> }[] = [
  {
    name: 'panel page: 50 mailboxes with domain, customer, quota',
    query: `query($after:String){ mailboxes(first:50, after:$after) { totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id address status provisioning domain { id name } customer { id name } quota { usedMb limitMb percent } autoresponderActive } } } }`,
    variables: { after: b64('GPC:S:00000000-0000-0000-0000-000000000000') },
  },
  { name: 'getIntrospectionQuery() (every option, typeDepth 9: GraphiQL)', query: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true, typeDepth: 9 }) },
  { name: 'fragment doubling, 30 levels (2^30 spreads; refused)', query: doubling },
  {
    name: 'nodes(ids:) with 1,000 ids',
    query: `query($ids:[ID!]!){ nodes(ids:$ids) { id ... on Mailbox { address quota { usedMb } } } }`,
    variables: { ids: Array.from({ length: 1000 }, (_, i) => b64(`Mailbox:00000000-0000-0000-0000-${String(i).padStart(12, '0')}`)) },
  },
];

function perRequestMicros(fn: () => void): number {
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) fn();
    runs.push(Number(process.hrtime.bigint() - start) / 1000 / ITERATIONS);
  }
  runs.sort((a, b) => a - b);
  return runs[Math.floor(runs.length / 2)]!;
}

const prepared = cases.map((c) => {
  const document: DocumentNode = parse(c.query);
  const errors = validate(schema, document);
  if (errors.length) throw new Error(`${c.name}: invalid document: ${errors[0]!.message}`);
  return { ...c, args: { document, operationName: undefined, variableValues: c.variables ?? {} } };
});
// Warm every path (the JIT) before measuring any.
for (let i = 0; i < 100; i++)
  for (const { args } of prepared) {
    validate(schema, args.document);
    limitError(args, LIMITS);
    cursorError(args);
  }

const rows: string[] = [];
const loadAtStart = loadavg()[0]!;
for (const c of prepared) {
  const { args } = c;
  const document = args.document;
  const refused = limitError(args, LIMITS)?.extensions?.code ?? cursorError(args)?.extensions?.code ?? 'answered';
  const baseline = perRequestMicros(() => validate(schema, document));
  const limits = perRequestMicros(() => {
    limitError(args, LIMITS);
    cursorError(args);
  });
  rows.push(`| ${c.name} | ${c.query.length.toLocaleString('en')} B | ${refused} | ${fmt(limits, 1)} µs | ${fmt(baseline, 1)} µs | ${fmt(limits / baseline, 3)}× |`);
}

const table = [
  `Query limits per request (median of ${RUNS} runs × ${ITERATIONS} requests; ${machine()}; load average ${fmt(loadAtStart, 1)} at start)`,
  '',
  '| document | size | outcome | limits (depth + cost + cursors) | graphql-js validation alone (baseline) | ratio |',
  '|---|---|---|---|---|---|',
  ...rows,
].join('\n');
console.log(table);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/limits.md', table + '\n');
