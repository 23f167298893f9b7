// A list screen's data in one piece: its URL state (ListState), the query that state drives, and the
// page of rows picked out of the answer's connection. DataTable draws it.
import type { AnyVariables, DocumentInput, RequestPolicy } from '@urql/core';
import { createQuery, type QueryState } from './graphql/query.svelte';
import { ListState, type ListOptions } from './list-state.svelte';

export interface Connection<N> {
  edges: readonly { node: N }[];
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
  totalCount?: number;
}

export class ListQuery<Data, Variables extends AnyVariables, N, F extends string = string> {
  readonly list: ListState<F>;
  readonly query: QueryState<Data>;
  readonly #pick: (data: Data) => Connection<N> | null | undefined;
  // data is null when the server answered only errors (e.g. the login ended in another tab).
  readonly connection = $derived.by(() => (this.query.data == null ? undefined : (this.#pick(this.query.data) ?? undefined)));
  readonly rows: N[] = $derived(this.connection?.edges.map((e) => e.node) ?? []);

  /** `variables` gets the list (its args, query and filters); null pauses the query. */
  constructor(
    document: DocumentInput<Data, Variables>,
    variables: (list: ListState<F>) => Variables | null,
    pick: (data: Data) => Connection<N> | null | undefined,
    options: ListOptions<NoInfer<F>> & { requestPolicy?: RequestPolicy } = {},
  ) {
    this.list = new ListState(options);
    this.#pick = pick;
    this.query = createQuery(document, () => variables(this.list), { requestPolicy: options.requestPolicy });
  }

  refetch = () => this.query.refetch();
}
