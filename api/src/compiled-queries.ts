// Queries of plain fields run compiled (graphql-jit): a document is turned once into a function that
// walks exactly its selection, instead of graphql-js interpreting the document for every field of
// every row. A page of 50 mailboxes is ~700 fields; this is where a listing's CPU went once its SQL
// was one statement. Everything else keeps the reference executor: mutations and subscriptions (not
// hot; they carry the typed errors, barriers and fan-out the tests pin down), and queries that select
// a field the prisma plugin loads per row (see isCompilable).
import { useGraphQlJit } from '@envelop/graphql-jit';
import {
  getVariableValues,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Tests turn compilation off to compare both executors in one process. */
export const compiledQueries = { enabled: true };

/** Whether this operation runs compiled: a document holding one operation, a query, that selects
 *  no field the prisma plugin resolves from its per-row selection maps, with variables the reference
 *  executor accepts. */
export function runsCompiled(args: Pick<ExecutionArgs, 'document' | 'schema' | 'variableValues'>): boolean {
  if (!compiledQueries.enabled) return false;
  let compilable = compilableDocuments.get(args.document);
  if (compilable === undefined) compilableDocuments.set(args.document, (compilable = isCompilable(args.schema, args.document)));
  if (!compilable) return false;
  const operation = args.document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  // graphql-jit words the refusal of a bad variable its own way: such a request is answered by the
  // reference executor, so that queries, mutations and subscriptions refuse bad variables alike.
  return !('errors' in getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {}));
}

/** By document (yoga's parser cache hands the same one back for the same text). */
const compilableDocuments = new WeakMap<DocumentNode, boolean>();

function isCompilable(schema: GraphQLSchema, document: DocumentNode): boolean {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  // The compiled form is cached by document alone: a document of several operations (chosen by
  // operationName) would run its first one's code for the others.
  if (operations.length !== 1 || operations[0]!.operation !== 'query') return false;
  // The prisma plugin finds what a relation, a count or a field with its own `select` was loaded with
  // by the identity of graphql-js's path objects; graphql-jit makes its own, so each such field would
  // load its row's data again, one statement per row (a domains page: 28 statements instead of 2).
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
  return plain;
}

export function useCompiledQueries(): Plugin {
  return useGraphQlJit({}, { enableIf: runsCompiled }) as Plugin;
}
