// Limits on what one GraphQL operation may ask for, checked before any resolver runs: nesting depth
// and an estimated cost where a connection multiplies the cost of what is selected under it by its
// page size (first/last, capped like the resolvers cap it) and a list argument (nodes(ids:)) by its
// length.
//
// Invariants:
// - One pass, linear in the document: depth and cost are computed together, and each fragment is
//   measured once per request and reused at every spread (a document whose fragments each spread the
//   next twice is measured in as many steps as it has fragments, not 2^n). Costs are capped so that
//   such a document cannot overflow to Infinity.
// - The document is known to be small before anything else looks at it: the body was read within
//   MAX_REQUEST_BYTES (by bytes, see request-body.ts) and the parser stops after MAX_TOKENS tokens, so
//   graphql-js validation (linear, but ~2 ms per 1,000 fields) cannot be made to run for seconds.
// - The pass runs when the operation starts (HTTP execute, graphql-ws subscribe), after parsing and
//   validation: it never sees an invalid document or a fragment cycle.
// - The cost uses the variables the operation runs with: the request's, else each variable's default
//   in the document (validation results are cached per document, so this cannot be a validation rule).
// - Introspection counts against the same limits, with one exact exception: an `ofType` chain under
//   `__schema`/`__type` adds no depth. That chain is how the standard introspection query
//   (getIntrospectionQuery(), GraphiQL's with typeDepth 9) spells out wrapped types; each link is one
//   object, so it costs a field per link and cannot fan out.
import { GraphQLError, Kind, valueFromASTUntyped, type ArgumentNode, type DocumentNode, type ExecutionArgs, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  defaultPageSize: number;
  maxPageSize: number;
}

/** Far above any document the panel, GraphiQL's introspection or an integrator's query needs (a few hundred). */
export const MAX_TOKENS = 10_000;

/** Above this a cost is "too much" whatever the limit; keeps sums and products finite and exact. */
const COST_CAP = 1e15;

interface Measure {
  depth: number;
  cost: number;
  /** The selection asks for `edges` or `nodes` (through fragments too): its field is a connection. */
  connection: boolean;
}

type Vars = Record<string, unknown>;

function argValue(value: ValueNode, vars: Vars): unknown {
  return value.kind === Kind.VARIABLE ? vars[value.name.value] : valueFromASTUntyped(value, vars);
}

/** How many items a field stands for: a connection's page size, or the length of its longest list argument. */
function multiplier(args: readonly ArgumentNode[] | undefined, connection: boolean, vars: Vars, limits: QueryLimits): number {
  if (connection) {
    const arg = args?.find((a) => a.name.value === 'first' || a.name.value === 'last');
    const raw = arg ? Number(argValue(arg.value, vars)) : NaN;
    return Math.min(Number.isFinite(raw) && raw >= 0 ? raw : limits.defaultPageSize, limits.maxPageSize);
  }
  let longest = 1;
  for (const a of args ?? []) {
    const v = argValue(a.value, vars);
    if (Array.isArray(v)) longest = Math.max(longest, v.length);
  }
  return longest;
}

/** Measures one operation; fragments are measured once (per introspection context) and remembered. */
function measureOperation(op: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>, vars: Vars, limits: QueryLimits): Measure {
  const memo = new Map<string, Measure>();
  const measureSet = (set: SelectionSetNode, introspection: boolean): Measure => {
    let depth = 0;
    let cost = 0;
    let connection = false;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (name === 'edges' || name === 'nodes') connection = true;
        cost += 1;
        if (!sel.selectionSet) continue;
        const inIntrospection = introspection || name === '__schema' || name === '__type';
        const inner = measureSet(sel.selectionSet, inIntrospection);
        depth = Math.max(depth, inner.depth + (introspection && name === 'ofType' ? 0 : 1));
        cost += inner.cost * multiplier(sel.arguments, inner.connection, vars, limits);
      } else {
        const inner = sel.kind === Kind.INLINE_FRAGMENT ? measureSet(sel.selectionSet, introspection) : measureFragment(sel.name.value, introspection);
        depth = Math.max(depth, inner.depth);
        cost += inner.cost;
        connection ||= inner.connection;
      }
      cost = Math.min(cost, COST_CAP);
    }
    return { depth, cost, connection };
  };
  const measureFragment = (name: string, introspection: boolean): Measure => {
    const key = `${introspection ? 'i' : 'o'}:${name}`;
    let m = memo.get(key);
    if (!m) {
      // Validated documents have no cycles; this placeholder only makes sure a cycle could never loop.
      memo.set(key, { depth: 0, cost: 0, connection: false });
      const f = fragments.get(name);
      m = f ? measureSet(f.selectionSet, introspection) : { depth: 0, cost: 0, connection: false };
      memo.set(key, m);
    }
    return m;
  };
  return measureSet(op.selectionSet, false);
}

/** The operation's variables as it runs: the request's values, else the defaults written in the document. */
export function variablesOf(op: OperationDefinitionNode, given: Vars | null | undefined): Vars {
  const vars: Vars = {};
  for (const def of op.variableDefinitions ?? []) {
    const name = def.variable.name.value;
    if (given && Object.prototype.hasOwnProperty.call(given, name)) vars[name] = given[name];
    else if (def.defaultValue) vars[name] = valueFromASTUntyped(def.defaultValue);
  }
  return vars;
}

/** The operation a request runs: the named one, or the only one. */
export function operationOf(doc: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
}

/** The refusal of the operation that would run, or null when it is within the limits. */
export function limitError(args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues'>, limits: QueryLimits): GraphQLError | null {
  const op = operationOf(args.document, args.operationName);
  if (!op) return null; // graphql-js answers "Unknown operation" itself
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of args.document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const { depth, cost } = measureOperation(op, fragments, variablesOf(op, args.variableValues), limits);
  if (depth > limits.maxDepth)
    return new GraphQLError(`Query is nested ${depth} levels deep; the limit is ${limits.maxDepth}`, { nodes: [op], extensions: { code: 'QUERY_TOO_DEEP' } });
  if (cost > limits.maxCost)
    return new GraphQLError(`Query would cost ${cost >= COST_CAP ? `over ${COST_CAP}` : cost} (fields × page sizes); the limit is ${limits.maxCost}`, {
      nodes: [op],
      extensions: { code: 'QUERY_TOO_COSTLY' },
    });
  return null;
}

export function useQueryLimits(limits: QueryLimits): Plugin {
  const refuse = ({ args, setResultAndStopExecution }: { args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues'>; setResultAndStopExecution(r: { errors: GraphQLError[] }): void }) => {
    const error = limitError(args, limits);
    if (error) setResultAndStopExecution({ errors: [error] });
  };
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => parseFn(source, { ...options, maxTokens: MAX_TOKENS }));
    },
    // HTTP requests and our graphql-ws bridge both start operations here, with their own variables.
    onExecute: refuse,
    onSubscribe: refuse,
  };
}
