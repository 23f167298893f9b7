// The Prisma client. One per process, created on first use from DATABASE_URL (set by the embedded
// PostgreSQL starter when the operator gives none), so tests can point each file at its own database.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client.js';

export { Prisma } from './generated/prisma/client.js';
export type * from './generated/prisma/client.js';
export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

let client: PrismaClient | undefined;
const queryListeners = new Set<(sql: string) => void>();

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set (the embedded PostgreSQL starter sets it)');
  return url;
}

export function db(): PrismaClient {
  if (!client) {
    const adapter = new PrismaPg({ connectionString: databaseUrl(), max: Number(process.env.DB_POOL_SIZE ?? 10) });
    client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
    (client as unknown as { $on(e: 'query', cb: (e: { query: string }) => void): void }).$on('query', (e) =>
      queryListeners.forEach((fn) => fn(e.query)),
    );
  }
  return client;
}

/** Observe every SQL statement Prisma sends (used by tests that guard against N+1). */
export function onQuery(fn: (sql: string) => void): () => void {
  queryListeners.add(fn);
  return () => queryListeners.delete(fn);
}

export async function closeDb(): Promise<void> {
  await client?.$disconnect();
  client = undefined;
}
