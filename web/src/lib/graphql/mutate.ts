// Runs a mutation and turns its result union into one shape a form can show: the success payload, or
// a message plus errors keyed by the argument / input field they belong to (ValidationError's
// fieldErrors[].field, LimitExceededError's field).
import type { AnyVariables, Client, DocumentInput } from '@urql/core';
import { describeError, getClient } from './client.svelte';

type Success<T> = Extract<T, { __typename: `${string}Success` }>;

export type MutationOutcome<T> =
  | { ok: true; value: Success<T> }
  | { ok: false; message: string; fieldErrors: Record<string, string>; typename?: string };

interface ErrorShape {
  __typename?: string;
  message?: string;
  field?: string | null;
  fieldErrors?: { field: string; message: string }[];
}

export async function mutate<Data, Variables extends AnyVariables, Key extends keyof Data>(
  document: DocumentInput<Data, Variables>,
  variables: Variables,
  key: Key,
  client: Client = getClient(),
): Promise<MutationOutcome<NonNullable<Data[Key]>>> {
  const result = await client.mutation(document, variables).toPromise();
  if (result.error) return { ok: false, message: describeError(result.error), fieldErrors: {} };
  const payload = result.data?.[key] as (ErrorShape & { __typename: string }) | undefined;
  if (!payload) return { ok: false, message: 'The server returned no answer.', fieldErrors: {} };
  if (payload.__typename.endsWith('Success')) return { ok: true, value: payload as never };
  const fieldErrors: Record<string, string> = {};
  for (const fe of payload.fieldErrors ?? []) fieldErrors[fe.field.replace(/^input\./, '')] ??= fe.message;
  if (payload.field && payload.message) fieldErrors[payload.field] ??= payload.message;
  return { ok: false, message: payload.message ?? 'The change was refused.', fieldErrors, typename: payload.__typename };
}

/** A refused mutation in one line, for a toast or a confirmation dialog: the first field's error, or the message. */
export function refusal(outcome: { message: string; fieldErrors: Record<string, string> }): string {
  return Object.values(outcome.fieldErrors)[0] ?? outcome.message;
}
