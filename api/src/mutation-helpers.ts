// Small shared pieces of every mutation: run the work in one transaction (rows, audit event and job
// commit together), take the tenant's lock so limit checks cannot race, decode Relay ids, and load a
// row through its tenant filter so another tenant's id reads as not found.
import { db, Prisma, type Tx } from '@mailpanel/core/db';
import { NotFoundError, ValidationError } from '@mailpanel/core/errors';
import type { Context } from './context.js';
import { decodeId } from './global-id.js';

export function transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db().$transaction(fn, { maxWait: 10_000, timeout: 30_000 }).catch((err) => {
    throw mapUniqueViolation(err);
  });
}

export { lockCustomer } from '@mailpanel/core/locks';

/** Decode a Relay global id of the given type; a malformed or foreign id reads as not found. */
export function idOf(globalId: string, typename: string): string {
  try {
    const { typename: t, id } = decodeId(globalId);
    if (t === typename) return id;
  } catch {
    /* fall through */
  }
  throw new NotFoundError(typename);
}

export function notFoundUnless<T>(row: T | null | undefined, entity: string): T {
  if (!row) throw new NotFoundError(entity);
  return row;
}

/** A race past our explicit checks still ends as a field error, never as a 500. */
function mapUniqueViolation(err: unknown): unknown {
  if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
    const target = String((err.meta as { target?: unknown } | undefined)?.target ?? '');
    const field = /address|source|local_part/.test(target) ? 'username' : /name/.test(target) ? 'name' : /email/.test(target) ? 'email' : 'input';
    return ValidationError.of(field, 'TAKEN', 'This value is already in use');
  }
  return err;
}

/** Pothos' query for a mutation's result; empty when the client selected only __typename, which
 *  Prisma refuses as `select: {}`. */
export function selection<Q extends { select?: object }>(query: Q): Q | Record<string, never> {
  return query.select && Object.keys(query.select).length === 0 ? {} : query;
}

/** Who started a long-running job (a migration, a bulk import): kept on its row for the panel and audit. */
export function actor(ctx: Context) {
  const v = ctx.viewer;
  return {
    createdByType: v.kind === 'user' ? (v.tokenId ? 'API_TOKEN' : 'USER') : v.kind === 'mailbox' ? 'MAILBOX' : 'ANONYMOUS',
    createdById: v.kind === 'user' ? v.userId : v.kind === 'mailbox' ? v.mailboxId : null,
    createdByLabel: v.kind === 'anonymous' ? 'anonymous' : v.label,
  };
}
