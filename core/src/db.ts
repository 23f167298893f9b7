// The Prisma client. One per process, created on first use from DATABASE_URL (set by the embedded
// PostgreSQL starter when the operator gives none), so tests can point each file at its own database.
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client.js';

export { Prisma } from './generated/prisma/client.js';
export type * from './generated/prisma/client.js';
export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

let client: PrismaClient | undefined;
let pool: pg.Pool | undefined;
const queryListeners = new Set<(sql: string) => void>();

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set (the embedded PostgreSQL starter sets it)');
  return url;
}

export function db(): PrismaClient {
  if (!client) {
    // One pool for Prisma and for the few reads that go around it (readRows): the same connections.
    pool = new pg.Pool({ connectionString: databaseUrl(), max: Number(process.env.DB_POOL_SIZE ?? 10) });
    const adapter = new PrismaPg(pool, { disposeExternalPool: true });
    client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
    (client as unknown as { $on(e: 'query', cb: (e: { query: string }) => void): void }).$on('query', (e) =>
      queryListeners.forEach((fn) => fn(e.query)),
    );
  }
  return client;
}

/** One read around Prisma, on its pool: rows as arrays of node-postgres values, the statement counted
 *  like Prisma's (onQuery). Only for hot read paths whose SQL is built from fixed text and parameters
 *  (the mailbox listing's single statement, api/src/schema/mailbox-page.ts). */
export async function readRows(text: string, values: unknown[]): Promise<unknown[][]> {
  db();
  queryListeners.forEach((fn) => fn(text));
  return (await pool!.query({ text, values, rowMode: 'array', types: READ_TYPES })).rows;
}

const TIMESTAMPTZ = 1184;
const ISO_TIMESTAMPTZ = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d{1,3})?)([+-]\d\d)(:\d\d)?$/;
/** A timestamptz as PostgreSQL writes it in its ISO DateStyle ('2026-12-04 11:20:47.123+00'), read by
 *  the engine's own ISO date parser — a listing page reads hundreds, and node-postgres's general parser
 *  was its largest single cost. Anything else (BC, infinity, more than milliseconds) goes to that one. */
export function parseTimestamptz(text: string): Date {
  const m = ISO_TIMESTAMPTZ.exec(text);
  return m ? new Date(`${m[1]}T${m[2]}${m[3]}${m[4] ?? ':00'}`) : (pg.types.getTypeParser(TIMESTAMPTZ, 'text')(text) as Date);
}
const READ_TYPES = { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === TIMESTAMPTZ ? parseTimestamptz : pg.types.getTypeParser(oid, format)) } as pg.CustomTypesConfig;

/** Observe every SQL statement Prisma sends (used by tests that guard against N+1). */
export function onQuery(fn: (sql: string) => void): () => void {
  queryListeners.add(fn);
  return () => queryListeners.delete(fn);
}

export async function closeDb(): Promise<void> {
  await client?.$disconnect();
  client = undefined;
  pool = undefined;
}

const UNAVAILABLE_PRISMA = new Set(['P1001', 'P1002', 'P1017', 'P2024']);
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'DatabaseDoesNotExist']);

/** True when an error means "PostgreSQL is not reachable right now" (down, restarting, pool exhausted)
 *  rather than a fault in the request: the API answers 503 with a retry hint for these. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } }; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  // node-postgres, when the server goes away mid-query: no code, only this message.
  if (err instanceof Error && /^Connection terminated/.test(err.message)) return true;
  if (e.code && (UNAVAILABLE_PRISMA.has(e.code) || /^(08|57P0)/.test(e.code) || e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET')) return true;
  const cause = e.meta?.driverAdapterError?.cause;
  if (cause && (UNAVAILABLE_KINDS.has(cause.kind ?? '') || /^(08|57P0)/.test(cause.originalCode ?? ''))) return true;
  return e.cause !== undefined && e.cause !== err && isDatabaseUnavailable(e.cause);
}
