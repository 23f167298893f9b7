// Limits on what one GraphQL document may ask for, checked before any resolver runs: nesting depth
// (a property of the document: a validation rule) and an estimated cost where a connection multiplies
// the cost of what is selected under it by its page size (first/last, capped like the resolvers cap
// it). The cost depends on the request's variables, so it is checked when the operation starts with
// the variables it runs with — not in validation, whose result yoga caches per document (a document
// first seen with first: 1 would otherwise pass later with first: 200). Fragments are followed; a
// cycle cannot exist in a valid document. Introspection stays allowed (integrators and GraphiQL use
// it) but is subject to the same limits.
import { GraphQLError, Kind, type ASTVisitor, type DocumentNode, type ExecutionArgs, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  defaultPageSize: number;
  maxPageSize: number;
}

function pageSize(args: readonly { name: { value: string }; value: ValueNode }[] | undefined, vars: Record<string, unknown>, limits: QueryLimits): number | null {
  const arg = args?.find((a) => a.name.value === 'first' || a.name.value === 'last');
  if (!arg) return null;
  const raw = arg.value.kind === Kind.INT ? Number(arg.value.value) : arg.value.kind === Kind.VARIABLE ? Number(vars[arg.value.name.value]) : NaN;
  return Math.min(Number.isFinite(raw) ? raw : limits.defaultPageSize, limits.maxPageSize);
}

/** Whether a selection (through fragments too) asks for `edges` or `nodes`: a connection. */
function selectsConnection(set: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, seen = new Set<string>()): boolean {
  return set.selections.some((s) => {
    if (s.kind === Kind.FIELD) return s.name.value === 'edges' || s.name.value === 'nodes';
    if (s.kind === Kind.INLINE_FRAGMENT) return selectsConnection(s.selectionSet, fragments, seen);
    const f = fragments[s.name.value];
    if (!f || seen.has(s.name.value)) return false;
    seen.add(s.name.value);
    return selectsConnection(f.selectionSet, fragments, seen);
  });
}

/** Depth and cost of a selection set. Connections are fields whose selection has `edges` or `nodes`. */
export function measure(
  set: SelectionSetNode,
  fragments: Record<string, FragmentDefinitionNode>,
  vars: Record<string, unknown>,
  limits: QueryLimits,
  depth = 0,
  path: ReadonlySet<string> = new Set(),
): { depth: number; cost: number } {
  let maxDepth = depth;
  let cost = 0;
  for (const sel of set.selections) {
    const sub =
      sel.kind === Kind.FIELD
        ? sel.selectionSet
        : sel.kind === Kind.INLINE_FRAGMENT
          ? sel.selectionSet
          : fragments[sel.name.value]?.selectionSet;
    if (sel.kind !== Kind.FIELD) {
      // A fragment cycle is invalid (and reported by the standard rules); never follow one here.
      if (!sub || (sel.kind === Kind.FRAGMENT_SPREAD && path.has(sel.name.value))) continue;
      const inner = measure(sub, fragments, vars, limits, depth, sel.kind === Kind.FRAGMENT_SPREAD ? new Set([...path, sel.name.value]) : path);
      maxDepth = Math.max(maxDepth, inner.depth);
      cost += inner.cost;
      continue;
    }
    cost += 1;
    if (!sub) continue;
    const inner = measure(sub, fragments, vars, limits, depth + 1, path);
    maxDepth = Math.max(maxDepth, inner.depth);
    const isConnection = selectsConnection(sub, fragments);
    const size = isConnection ? (pageSize(sel.arguments, vars, limits) ?? limits.defaultPageSize) : 1;
    cost += inner.cost * size;
  }
  return { depth: maxDepth, cost };
}

function fragmentsOf(doc: DocumentNode): Record<string, FragmentDefinitionNode> {
  return Object.fromEntries(doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
}

function depthRule(limits: QueryLimits) {
  return (context: ValidationContext): ASTVisitor => ({
    Document(doc) {
      const fragments = fragmentsOf(doc);
      for (const def of doc.definitions) {
        if (def.kind !== Kind.OPERATION_DEFINITION) continue;
        const { depth } = measure(def.selectionSet, fragments, {}, limits);
        if (depth > limits.maxDepth)
          context.reportError(new GraphQLError(`Query is nested ${depth} levels deep; the limit is ${limits.maxDepth}`, { nodes: [def], extensions: { code: 'QUERY_TOO_DEEP' } }));
      }
    },
  });
}

/** The refusal of the operation that would run, or null when it is within the cost limit. */
function costError(doc: DocumentNode, operationName: string | null | undefined, vars: Record<string, unknown> | null | undefined, limits: QueryLimits): GraphQLError | null {
  const fragments = fragmentsOf(doc);
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION || (operationName && def.name?.value !== operationName)) continue;
    const { cost } = measure(def.selectionSet, fragments, vars ?? {}, limits);
    if (cost > limits.maxCost)
      return new GraphQLError(`Query would cost ${cost} (fields × page sizes); the limit is ${limits.maxCost}`, { nodes: [def], extensions: { code: 'QUERY_TOO_COSTLY' } });
  }
  return null;
}

export function useQueryLimits(limits: QueryLimits): Plugin {
  const refuseCostly = ({ args, setResultAndStopExecution }: { args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues'>; setResultAndStopExecution(r: { errors: GraphQLError[] }): void }) => {
    const error = costError(args.document, args.operationName, args.variableValues, limits);
    if (error) setResultAndStopExecution({ errors: [error] });
  };
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(depthRule(limits));
    },
    // HTTP requests and our graphql-ws bridge both start operations here, with their own variables.
    onExecute: refuseCostly,
    onSubscribe: refuseCostly,
  };
}
