// Transaction-scoped advisory locks shared by the API's mutations and the worker's jobs.
import type { Tx } from './db.js';

/** Serialises limit checks per customer (mailbox/forward counts, total quota) until the transaction ends. */
export async function lockCustomer(tx: Tx, customerId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`customer:${customerId}`}))`;
}
