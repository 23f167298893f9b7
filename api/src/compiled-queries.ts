// Queries run compiled (graphql-jit): a document is turned once into a function that walks exactly
// its selection, instead of graphql-js interpreting the document for every field of every row. A
// page of 50 mailboxes is ~700 fields; this is where a listing's CPU went once its SQL was one
// statement. Mutations and subscriptions keep the reference executor: they are not hot, and they
// carry the typed errors, barriers and fan-out whose behaviour the tests pin down.
import { useGraphQlJit } from '@envelop/graphql-jit';
import { getVariableValues, Kind, type ExecutionArgs, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Tests turn compilation off to compare both executors in one process. */
export const compiledQueries = { enabled: true };

/** Whether this operation runs compiled: a document holding one operation, a query. The compiled
 *  form is cached by document alone, so a document of several operations (chosen by operationName)
 *  must not be compiled: its second operation would run the first one's code. */
export function runsCompiled(args: Pick<ExecutionArgs, 'document' | 'schema' | 'variableValues'>): boolean {
  if (!compiledQueries.enabled) return false;
  const operations = args.document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1 || operations[0]!.operation !== 'query') return false;
  // graphql-jit words the refusal of a bad variable its own way: such a request is answered by the
  // reference executor, so that queries, mutations and subscriptions refuse bad variables alike.
  return !('errors' in getVariableValues(args.schema, operations[0]!.variableDefinitions ?? [], args.variableValues ?? {}));
}

export function useCompiledQueries(): Plugin {
  return useGraphQlJit({}, { enableIf: runsCompiled }) as Plugin;
}
