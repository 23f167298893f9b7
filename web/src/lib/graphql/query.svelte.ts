// Reactive queries and subscriptions for Svelte 5 components on top of the urql client. `variables`
// is a function read inside an effect, so the operation re-runs when any state it reads changes;
// return null to pause. Results land in $state the template reads directly.
import type { AnyVariables, CombinedError, DocumentInput, OperationResult, RequestPolicy } from '@urql/core';
import { untrack } from 'svelte';
import { describeError, getClient } from './client.svelte';

export interface QueryState<Data> {
  readonly data: Data | undefined;
  readonly error: string | null;
  /** true while the first answer for the current variables is awaited */
  readonly loading: boolean;
  refetch(): Promise<void>;
}

export function createQuery<Data, Variables extends AnyVariables>(
  document: DocumentInput<Data, Variables>,
  variables: () => Variables | null,
  options: { requestPolicy?: RequestPolicy } = {},
): QueryState<Data> {
  let data = $state<Data | undefined>(undefined);
  let error = $state<string | null>(null);
  let loading = $state(true);

  $effect(() => {
    const vars = variables();
    if (vars === null) {
      loading = false;
      return;
    }
    loading = true;
    const sub = getClient()
      .query(document, vars, { requestPolicy: options.requestPolicy ?? 'cache-and-network' })
      .subscribe((result: OperationResult<Data, Variables>) => {
        if (result.data !== undefined) data = result.data;
        error = result.error ? describeError(result.error) : null;
        if (!result.stale) loading = false;
        if (result.error) loading = false;
      });
    return () => sub.unsubscribe();
  });

  return {
    get data() {
      return data;
    },
    get error() {
      return error;
    },
    get loading() {
      return loading;
    },
    async refetch() {
      const vars = untrack(variables);
      if (vars === null) return;
      const result = await getClient().query(document, vars, { requestPolicy: 'network-only' }).toPromise();
      if (result.data !== undefined) data = result.data;
      error = result.error ? describeError(result.error) : null;
    },
  };
}

/** Subscribes while `variables()` is non-null; `onData` gets every event. Returns the last error. */
export function createSubscription<Data, Variables extends AnyVariables>(
  document: DocumentInput<Data, Variables>,
  variables: () => Variables | null,
  onData: (data: Data) => void,
): { readonly error: CombinedError | null } {
  let error = $state<CombinedError | null>(null);
  $effect(() => {
    const vars = variables();
    if (vars === null) return;
    const sub = getClient()
      .subscription(document, vars)
      .subscribe((result: OperationResult<Data, Variables>) => {
        error = result.error ?? null;
        if (result.data) untrack(() => onData(result.data!));
      });
    return () => sub.unsubscribe();
  });
  return {
    get error() {
      return error;
    },
  };
}
