// A text search over stored addresses, the same for every list that has them (mailboxes, forwards).
// Addresses are stored with their domain as its A-label; people type either form. A term matches an
// address as typed or with its domain part as an A-label ("info@bücher.test" finds the stored
// "info@xn--bcher-kva.test"). Only an internationalised domain's Unicode name can hold a term its
// addresses do not ("büch"), so those few domains are looked up first and matched by id: an OR across
// a join to `domains` would keep PostgreSQL from using the address's trigram index.
import { db } from '@mailpanel/core/db';
import { searchForms, type searchTerm } from '@mailpanel/core/validation';
import { perRequest, type Context } from './context.js';

type Term = NonNullable<ReturnType<typeof searchTerm>>;

/** The OR of `field` matching any form of `term`, or the row's domain being an IDN domain whose Unicode name holds it. */
export async function addressSearch(term: Term, field: string): Promise<object[]> {
  const forms = searchForms(term).map((f) => ({ [field]: f }));
  if (!('contains' in term)) return forms;
  const idnDomains = await db().domain.findMany({ where: { nameUnicode: term, name: { contains: 'xn--' } }, select: { id: true } });
  return idnDomains.length ? [...forms, { domainId: { in: idnDomains.map((d) => d.id) } }] : forms;
}

/** A listing's where, built once per request, list and filter: its page and its totalCount share it
 *  (a search's domain lookup is one statement, not two). */
export function listingWhere(ctx: Context, list: string, filter: unknown, build: () => Promise<object>): Promise<object> {
  return perRequest(ctx, `where:${list}:${JSON.stringify(filter ?? null)}`, build);
}
