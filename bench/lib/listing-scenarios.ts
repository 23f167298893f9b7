// The listing benchmark's page and its four scenarios, shared by bench:listing and bench/listing-cpu.ts.
export const LISTING_PAGE = `query($f:MailboxFilter){ mailboxes(first:50, filter:$f){ totalCount pageInfo { hasNextPage endCursor }
    edges { node { address status quotaMb quota { usedMb limitMb } autoresponderActive createdAt domain { name } customer { name } } } } }`;

export interface ListingScenario {
  name: string;
  token: string;
  filter: object;
  /** The baseline server's query string for the same rows. */
  query: string;
}

export function listingScenarios(tokens: { admin: string; customer: string }, customerId: string): ListingScenario[] {
  return [
    { name: 'admin, first page', token: tokens.admin, filter: {}, query: '' },
    { name: 'customer, first page', token: tokens.customer, filter: {}, query: `customer=${customerId}` },
    { name: 'admin, text search', token: tokens.admin, filter: { search: 'user4217' }, query: 'search=user4217' },
    { name: 'admin, status filter', token: tokens.admin, filter: { status: 'DISABLED' }, query: 'status=DISABLED' },
  ];
}
