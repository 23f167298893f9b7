// Queries of plain fields run compiled (graphql-jit): a document is turned once into a function that
// walks exactly its selection, instead of graphql-js interpreting the document for every field of
// every row. A page of 50 mailboxes is ~700 fields; this is where a listing's CPU went once its SQL
// was one statement. Everything else keeps the reference executor: mutations and subscriptions (not
// hot; they carry the typed errors, barriers and fan-out the tests pin down), and queries that select
// a field the prisma plugin loads per row (see isCompilable).
import { useGraphQlJit } from '@envelop/graphql-jit';
import {
  getVariableValues,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { operationOf } from './query-limits.js';

/** Tests turn compilation off to compare both executors in one process. */
export const compiledQueries = { enabled: true };

/** Whether this operation runs compiled: a document holding one operation, a query, that selects
 *  no field the prisma plugin resolves from its per-row selection maps, with variables the reference
 *  executor accepts. */
export function runsCompiled(args: Pick<ExecutionArgs, 'document' | 'schema' | 'variableValues'>): boolean {
  if (!compiledQueries.enabled) return false;
  let operation = compilable.get(args.document);
  if (operation === undefined) compilable.set(args.document, (operation = compilableOperation(args.schema, args.document)));
  if (!operation) return false;
  // graphql-jit words the refusal of a bad variable its own way: such a request is answered by the
  // reference executor, so that queries, mutations and subscriptions refuse bad variables alike.
  return !('errors' in getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {}));
}

/** By document (yoga's parser cache hands the same one back for the same text): its operation, or null. */
const compilable = new WeakMap<DocumentNode, OperationDefinitionNode | null>();

function compilableOperation(schema: GraphQLSchema, document: DocumentNode): OperationDefinitionNode | null {
  // The only operation (none without an operationName when there are several): the compiled form is
  // cached by document alone, so a document of several operations (chosen by operationName) would run
  // its first one's code for the others.
  const operation = operationOf(document, null);
  if (operation?.operation !== 'query') return null;
  // The prisma plugin finds what a relation, a count or a field with its own `select` was loaded with
  // by the identity of graphql-js's path objects; graphql-jit makes its own, so each such field would
  // load its row's data again, one statement per row (a page of 25 domains: 28 statements instead of 2).
  const typeInfo = new TypeInfo(schema);
  let plain = true;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        if (typeInfo.getFieldDef()?.extensions?.pothosPrismaSelect) plain = false;
      },
    }),
  );
  return plain ? operation : null;
}

export function useCompiledQueries(): Plugin {
  return useGraphQlJit({}, { enableIf: runsCompiled }) as Plugin;
}
