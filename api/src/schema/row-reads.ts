// What a list page must read of its rows for the fields a query asks. Every row of a listed model
// carries its base columns (columns.ts) so that its plain fields need no per-row lookup; a page of 50
// rows then also read (and parsed, and kept) the columns no field of the query shows. A plain field
// says what it reads (`reads`), an object field whose object is a part of the row says where that
// part is (`rowAt`); a page whose every selected field says so reads just that, and any other field
// (a relation, a count, a field another module adds) keeps the whole base selection.
import {
  getNamedType,
  isInterfaceType,
  isObjectType,
  Kind,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';

export type Select = { [field: string]: boolean | { select?: Select } };

/** A plain field's reads of its row: dotted paths through to-one relations ('domain.customer.name'). */
export const reads = (...paths: string[]) => ({ rowReads: paths });
/** An object field whose object is the row's part at `path` ('' = the row itself); its fields' reads are beneath it. */
export const rowAt = (path: string) => ({ rowAt: path ? path.split('.') : [] });

/**
 * The page's `select` without the base columns that no field selected beneath `info`'s field reads
 * of its `rowType` rows (their ids are always read); `select` itself when a selected field does not
 * say what it reads, or a directive decides. What `select` holds beyond `base` (the prisma plugin's
 * additions for other fields) is kept.
 */
export function rowSelect(info: GraphQLResolveInfo, rowType: string, select: Select, base: Select): Select {
  const need: Select = { id: true };
  // `at`: where the objects of `type` are in the row (null above the rows); `ownRow`: they are rows
  // of their own (a mailbox, its domain, its customer), whose id is always read.
  const walk = (set: SelectionSetNode | undefined, type: GraphQLNamedType, at: string[] | null, ownRow = false): boolean => {
    if (!set) return true;
    for (const s of set.selections) {
      // @include/@skip depend on variables: read everything rather than decide here.
      if (s.directives?.length) return false;
      if (s.kind !== Kind.FIELD) {
        const frag = s.kind === Kind.INLINE_FRAGMENT ? s : info.fragments[s.name.value];
        if (!frag) return false;
        const cond = frag.typeCondition ? info.schema.getType(frag.typeCondition.name.value) : type;
        // A fragment on another object type never applies here; one on an interface of this type does.
        const applies = cond === type || (isInterfaceType(cond) && isObjectType(type) && type.getInterfaces().includes(cond));
        if (applies && !walk(frag.selectionSet, type, at, ownRow)) return false;
        continue;
      }
      const name = s.name.value;
      if (name === '__typename') continue;
      const field = (type as GraphQLObjectType).getFields?.()[name];
      if (!field) return false;
      const named = getNamedType(field.type);
      if (at === null) {
        // Above the rows (connection, edges, page info): look for them.
        if (named.name === rowType) {
          if (!walk(s.selectionSet, named, [], true)) return false;
        } else if (s.selectionSet && !walk(s.selectionSet, named, null)) return false;
        continue;
      }
      if (name === 'id' && ownRow) continue;
      const ext = field.extensions as { rowReads?: string[]; rowAt?: string[] };
      if (ext.rowReads) for (const p of ext.rowReads) add(need, [...at, ...p.split('.')]);
      else if (ext.rowAt) {
        const inner = [...at, ...ext.rowAt];
        // A part of the row that is a row of its own (a domain, a customer) is read with its id.
        if (ext.rowAt.length) add(need, [...inner, 'id']);
        if (!walk(s.selectionSet, named, inner, ext.rowAt.length > 0)) return false;
      } else return false;
    }
    return true;
  };
  return info.fieldNodes.every((f) => walk(f.selectionSet, getNamedType(info.returnType), null)) ? cut(select, base, need) : select;
}

function add(select: Select, path: string[]) {
  let level = select;
  for (const name of path.slice(0, -1)) {
    const next = level[name];
    if (typeof next !== 'object') level[name] = { select: {} };
    level = (level[name] as { select: Select }).select;
  }
  level[path.at(-1)!] = true;
}

function cut(select: Select, base: Select, need: Select): Select {
  const out: Select = {};
  for (const [name, want] of Object.entries(select)) {
    const inBase = base[name];
    const needed = need[name];
    if (!inBase) out[name] = want;
    else if (inBase === true) {
      if (needed) out[name] = want;
    } else if (typeof want === 'object' && want.select && typeof inBase === 'object' && inBase.select) {
      const inner = cut(want.select, inBase.select, typeof needed === 'object' ? (needed.select ?? {}) : {});
      if (needed || Object.keys(inner).length) out[name] = { select: inner };
    } else out[name] = want; // not the base's shape: left as it is
  }
  return out;
}
