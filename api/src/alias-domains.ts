// Alias domains (issue 16): alias.example → example.com. An alias domain is a domain row with
// aliasOfId set; the mail views rewrite x@alias to x@target (migration 20261205010000_alias_domains).
// Invariants the API keeps (the database only has the foreign key):
//   - same customer as its target (moving a target moves its aliases; an alias alone never moves),
//   - the target is no alias itself: the rewrite is one step, never a chain,
//   - no mailboxes or forwards of its own: every address of it is its target's.
// Adding the rewrite adds routing, so creating or enabling an alias domain is refused when a forward
// that sends to it would then loop (the same check as a forward, api/src/forward-loops.ts).
import { Prisma, type Tx } from '@mailpanel/core/db';

export function aliasDomainHasNoAddresses(domain: string): string {
  return `${domain} is an alias domain: its addresses are its target's; create this at the target domain`;
}

/** The forwards (of any domain) with a destination in `domainName`: the sources whose routing the
 *  alias rewrite changes, so the ones refuseLoops checks. */
export async function sourcesSendingTo(tx: Pick<Tx, '$queryRaw'>, domainName: string): Promise<string[]> {
  const rows = await tx.$queryRaw<{ source: string }[]>(Prisma.sql`
    SELECT f.source FROM forwards f
     WHERE EXISTS (SELECT 1 FROM unnest(f.destinations) x WHERE substring(x FROM '@([^@]*)$') = ${domainName})`);
  return rows.map((r) => r.source);
}
