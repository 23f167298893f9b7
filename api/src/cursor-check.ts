// Connection cursors are checked before anything runs. Every connection of this API pages by its
// rows' id (`cursor: 'id'` on each prismaConnection / relatedConnection), so every cursor it gives
// out is base64("GPC:S:<uuid>"). Pothos reads a cursor only while it builds the SQL — for a nested
// connection inside its parent's query — and hands any string on to PostgreSQL, where a non-UUID is
// an internal error. So the `after`/`before` arguments of the operation (literal, variable or
// variable default) are checked here, each fragment once, and anything else is refused with
// BAD_USER_INPUT without quoting it.
import { GraphQLError, Kind, visit, type ArgumentNode, type DocumentNode, type ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { UUID } from './global-id.js';
import { operationOf, variablesOf } from './query-limits.js';

const CURSOR = new RegExp(`^GPC:S:${UUID.source.slice(1, -1)}$`, 'i');

export function isCursor(value: string): boolean {
  return value.length <= 100 && CURSOR.test(Buffer.from(value, 'base64').toString('latin1'));
}

const cursorArgs = new WeakMap<DocumentNode, ArgumentNode[]>();
function cursorArgsOf(doc: DocumentNode): ArgumentNode[] {
  let found = cursorArgs.get(doc);
  if (!found) {
    const list: ArgumentNode[] = [];
    visit(doc, { Argument: (node) => void ((node.name.value === 'after' || node.name.value === 'before') && list.push(node)) });
    cursorArgs.set(doc, (found = list));
  }
  return found;
}

/** The refusal of an operation with a cursor this API did not give out, or null. */
export function cursorError(args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues'>): GraphQLError | null {
  const found = cursorArgsOf(args.document);
  if (!found.length) return null;
  const op = operationOf(args.document, args.operationName);
  const vars = op ? variablesOf(op, args.variableValues) : {};
  for (const arg of found) {
    const value = arg.value.kind === Kind.VARIABLE ? vars[arg.value.name.value] : arg.value.kind === Kind.STRING ? arg.value.value : null;
    if (typeof value === 'string' && !isCursor(value))
      return new GraphQLError(`\`${arg.name.value}\` is not a cursor this API gave out`, { nodes: [arg], extensions: { code: 'BAD_USER_INPUT' } });
  }
  return null;
}

export function useCursorCheck(): Plugin {
  const refuse = ({ args, setResultAndStopExecution }: { args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues'>; setResultAndStopExecution(r: { errors: GraphQLError[] }): void }) => {
    const error = cursorError(args);
    if (error) setResultAndStopExecution({ errors: [error] });
  };
  return { onExecute: refuse, onSubscribe: refuse };
}
