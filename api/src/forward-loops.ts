// Forwarding loops at the API: the routing table Postfix sees, loaded in one query, and the check
// every mutation that adds routing (a forward created or edited, a domain enabled) runs inside its
// transaction. The graph rules themselves are core/src/forward-routing.ts.
//
// Removals (deleting a forward or a mailbox) are never refused, although they can expose a loop (the
// address then falls to a catch-all): stopping mail must always work. A disabled mailbox exposes
// none: Postfix refuses its address (mail_refused), so mail ends there. What
// they expose is bounced by the mail server (5.4.6, mail_alias_lookup) and listed by forwardLoops.
import { Prisma, type Tx } from '@mailpanel/core/db';
import { ValidationError } from '@mailpanel/core/errors';
import { describeLoop, loopThrough, type Hop, type RoutingTable } from '@mailpanel/core/forward-routing';
import type { Viewer } from './context.js';
import { tenantWhere } from './tenancy.js';

type Db = Pick<Tx, '$queryRaw' | 'domain'>;

/**
 * One query: the forwards of enabled domains, which of their destinations (or those without +tag)
 * are mailboxes — taken from the mail_users view itself, so "a mailbox" means exactly what Postfix
 * delivers to — which of them (or their domains) Postfix refuses (the mail_refused view), and the
 * alias domains Postfix rewrites (a destination x@alias is also checked as x@target).
 * Inside a transaction it sees the transaction's own writes.
 */
export async function loadRoutingTable(tx: Db): Promise<RoutingTable> {
  const rows = await tx.$queryRaw<{ source: string | null; destinations: string[] | null; mailbox: string | null; refused: string | null; alias: string | null; target: string | null }[]>(Prisma.sql`
    WITH f AS (SELECT fw.source, fw.destinations FROM forwards fw JOIN domains d ON d.id = fw.domain_id WHERE d.enabled),
         ad AS (SELECT alias, target FROM mail_alias_domains),
         t0 AS (SELECT DISTINCT unnest(destinations) AS a FROM f),
         t AS (SELECT a FROM t0 UNION SELECT substring(t0.a FROM '^(.*)@[^@]*$') || '@' || ad.target FROM t0 JOIN ad ON ad.alias = substring(t0.a FROM '@([^@]*)$')),
         k AS (SELECT a FROM t UNION SELECT regexp_replace(a, '^([^+@]+)\\+[^@]*(@[^@]*)$', '\\1\\2') FROM t)
    SELECT source, destinations, NULL::text AS mailbox, NULL::text AS refused, NULL::text AS alias, NULL::text AS target FROM f
    UNION ALL
    SELECT NULL, NULL, u.email, NULL, NULL, NULL FROM mail_users u WHERE u.email IN (SELECT a FROM k)
    UNION ALL
    SELECT NULL, NULL, NULL, r.key, NULL, NULL FROM mail_refused r
     WHERE r.key IN (SELECT a FROM k UNION SELECT substring(a FROM '@(.*)$') FROM t)
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, ad.alias, ad.target FROM ad`);
  const forwards = new Map<string, string[]>();
  const mailboxes = new Set<string>();
  const refused = new Set<string>();
  const aliasDomains = new Map<string, string>();
  for (const r of rows) {
    if (r.source) forwards.set(r.source, r.destinations ?? []);
    else if (r.mailbox) mailboxes.add(r.mailbox);
    else if (r.refused) refused.add(r.refused);
    else if (r.alias && r.target) aliasDomains.set(r.alias, r.target);
  }
  return { forwards, mailboxes, refused, aliasDomains };
}

/**
 * Serialises every change that can close a loop. The graph is global (a loop may run through
 * several customers), so a per-customer lock would let two transactions each add half of a loop:
 * each would check a graph without the other's half. Taken before the write, held to commit.
 */
export async function lockForwardRouting(tx: Tx): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('forward-routing'))`;
}

/**
 * Who may read which address of a loop. An admin sees all of it; anyone else sees the addresses of
 * their own domains and the destinations their own forwards name (they typed those) — the rest of a
 * loop through other tenants reads `…`: that it comes back is all they need to know, not by which
 * of someone else's addresses.
 */
export async function loopVisibility(tx: Db, viewer: Viewer): Promise<(address: string) => boolean> {
  if (viewer.kind === 'user' && viewer.role === 'ADMIN') return () => true;
  const own = new Set((await tx.domain.findMany({ where: tenantWhere.domain(viewer), select: { name: true } })).map((d) => d.name));
  return (address) => own.has(address.slice(address.lastIndexOf('@') + 1));
}

/**
 * After the transaction's write: refuse it (the ValidationError rolls everything back) when mail to
 * one of `sources` now comes back to it. Call lockForwardRouting before the write.
 * The mail server's own check (mail_alias_loops: the same rule, a few index probes per forward
 * reachable from the source, seeing this transaction's write) answers the common "no loop" at once;
 * only a suspected loop loads the whole table, and the graph there decides and names it.
 */
export async function refuseLoops(tx: Tx, viewer: Viewer, sources: readonly string[], field: string): Promise<void> {
  const suspected = await tx.$queryRaw<unknown[]>`SELECT 1 FROM unnest(${[...sources]}::text[]) s WHERE mail_alias_loops(s) LIMIT 1`;
  if (suspected.length === 0) return;
  const table = await loadRoutingTable(tx);
  let loop: Hop[] | null = null;
  for (const source of sources) if ((loop = loopThrough(table, source))) break;
  if (!loop) return;
  const text = describeLoop(loop, await loopVisibility(tx, viewer));
  throw ValidationError.of(field, 'FORWARD_LOOP', `Mail would go round in a loop: ${text}`);
}
