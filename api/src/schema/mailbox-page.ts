// A page of the mailbox listing in one plain SQL statement: the listing is the panel's hottest read
// (every screen of mailboxes, every integrator's sync loop). Prisma answers the same page with its
// relations as JSON built per row in PostgreSQL, parsed and mapped again in Node — most of a page's CPU.
//
// How it stays the same answer as Prisma's:
// - It takes exactly what the resolver would hand Prisma — the prisma plugin's `query` (select, take,
//   skip, cursor), the listing's where (mailboxWhere: tenancy and filters) and orderBy — and returns
//   rows of the same shape and types, so everything after it (field resolvers, the plugin's relation
//   mappings, the connection's cursors) is unchanged.
// - It reads only what it understands: scalar fields and to-one relations of the models below, and a
//   where made of AND/OR, equality, null, `not`, `in` and `contains`. Anything else returns null, and
//   the resolver asks Prisma instead: never a guess.
// - Cursor paging is Prisma's: the rows from the cursor row's position on (that row included, by the
//   same total order, id last), `skip` of them skipped, a negative `take` paging backwards. A cursor
//   row that does not exist gives no rows, as in Prisma.
// - api/test/mailbox-page.test.ts requires identical JSON from both paths for every viewer, filter,
//   order and cursor direction.
// Values are parameters; identifiers come from the fixed tables below only.
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { readRows } from '@mailpanel/core/db';
import { getDatamodel } from '@mailpanel/core/generated/pothos-types';

const TABLES: Record<string, string> = {
  Mailbox: 'mailboxes',
  Domain: 'domains',
  Customer: 'customers',
  HostingPackage: 'hosting_packages',
  Autoresponder: 'autoresponders',
  MailboxCount: 'mailbox_counts',
};

interface Field {
  name: string;
  kind: 'scalar' | 'enum' | 'object';
  type: string;
  isRequired: boolean;
  isList: boolean;
  relationFromFields?: string[];
}
const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: Field[] }>;
const fieldOf = (model: string, name: string): Field | undefined => models[model]?.fields.find((f) => f.name === name);
/** Every column of these tables is its field's name in snake case (api/test/mailbox-page.test.ts checks it). */
export const columnOf = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

type Select = Record<string, boolean | { select?: Select }>;
type Where = Record<string, unknown>;
type Order = Record<string, unknown>[];
export interface PageQuery {
  select?: Select;
  take?: number;
  skip?: number;
  cursor?: { id: string };
  [other: string]: unknown;
}

/** A statement being built: its joins, output columns and parameters; `prefix` names its tables' aliases. */
class Statement {
  readonly columns: string[] = [];
  readonly joins: string[] = [];
  readonly values: unknown[] = [];
  #joined = new Map<string, Joined>();
  constructor(readonly prefix: string) {}
  get root() {
    return `${this.prefix}0`;
  }
  param(v: unknown) {
    return `$${this.values.push(v)}`;
  }
  /** A to-one relation of `parent`, joined once; null when it is not one of the tables above. */
  join(parent: { model: string; alias: string }, relation: string): Joined | null {
    const f = fieldOf(parent.model, relation);
    if (!f || f.kind !== 'object' || f.isList || !TABLES[f.type]) return null;
    const key = `${parent.alias}.${relation}`;
    let joined = this.#joined.get(key);
    if (!joined) {
      const alias = `${this.prefix}${this.#joined.size + 1}`;
      const from = f.relationFromFields ?? [];
      // This side holds the key (Mailbox.domainId), or the other side does (Autoresponder.mailboxId).
      const back = from.length ? null : models[f.type]!.fields.find((b) => b.kind === 'object' && b.type === parent.model && b.relationFromFields?.length === 1);
      if (from.length !== 1 && !back) return null;
      const theirs = back ? columnOf(back.relationFromFields![0]!) : 'id';
      const on = back ? `${alias}.${theirs} = ${parent.alias}.id` : `${alias}.id = ${parent.alias}.${columnOf(from[0]!)}`;
      this.joins.push(`${f.isRequired ? 'JOIN' : 'LEFT JOIN'} ${TABLES[f.type]} ${alias} ON ${on}`);
      joined = { model: f.type, alias, required: f.isRequired, present: `${alias}.${theirs}` };
      this.#joined.set(key, joined);
    }
    return joined;
  }
}
interface Joined {
  model: string;
  alias: string;
  required: boolean;
  /** A column that is not null when the joined row exists. */
  present: string;
}

const scalarsOf = (model: string): Select => Object.fromEntries((models[model]?.fields ?? []).filter((f) => f.kind !== 'object').map((f) => [f.name, true]));

/** Reads one row's part for `select` from the row array; built once per page. */
type Reader = (row: unknown[]) => unknown;

function project(st: Statement, at: { model: string; alias: string }, select: Select, presence?: string): Reader | null {
  const parts: [string, Reader][] = [];
  const present = presence === undefined ? null : st.columns.push(`${presence} IS NOT NULL`) - 1;
  for (const [name, want] of Object.entries(select)) {
    if (!want) continue;
    const f = fieldOf(at.model, name);
    if (!f) return null;
    if (f.kind === 'object') {
      // `relation: true` is every scalar field of the related row, as in Prisma.
      const inner = want === true ? scalarsOf(f.type) : typeof want === 'object' && want.select && Object.keys(want).length === 1 ? want.select : null;
      const joined = inner && st.join(at, name);
      // Beneath an optional relation a required one would need an outer join too: not translated.
      if (!joined || (presence !== undefined && joined.required)) return null;
      const nested = project(st, joined, inner, joined.required ? undefined : joined.present);
      if (!nested) return null;
      parts.push([name, nested]);
    } else {
      if (want !== true) return null;
      const i = st.columns.push(`${at.alias}.${columnOf(name)}`) - 1;
      parts.push([name, f.type === 'BigInt' ? (r) => (r[i] === null ? null : BigInt(r[i] as string)) : (r) => r[i]]);
    }
  }
  return (row) => {
    if (present !== null && !row[present]) return null;
    const out: Record<string, unknown> = {};
    for (const [name, read] of parts) out[name] = read(row);
    return out;
  };
}

/** SQL for a Prisma where at `at`, or null for anything this does not translate. */
function condition(st: Statement, at: { model: string; alias: string }, where: Where): string | null {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue;
    if (key === 'AND' || key === 'OR') {
      const inner = ((Array.isArray(value) ? value : [value]) as Where[]).map((w) => condition(st, at, w));
      if (inner.some((c) => c === null)) return null;
      if (key === 'AND') parts.push(...(inner as string[]));
      else parts.push(inner.length ? `(${inner.map((c) => `(${c})`).join(' OR ')})` : 'FALSE');
      continue;
    }
    const f = fieldOf(at.model, key);
    if (!f || f.kind === 'object' || f.isList) return null;
    const col = `${at.alias}.${columnOf(key)}`;
    if (value === null) parts.push(`${col} IS NULL`);
    else if (typeof value !== 'object') parts.push(`${col} = ${st.param(value)}`);
    // Only a plain object holds operators (a Date or an array as a value is not translated).
    else if (Object.getPrototypeOf(value) !== Object.prototype) return null;
    else {
      for (const [op, v] of Object.entries(value as Record<string, unknown>)) {
        if (op === 'not' && v === null) parts.push(`${col} IS NOT NULL`);
        // Prisma's `not` on a nullable column behaves differently with NULLs: only required columns here.
        else if (op === 'not' && typeof v !== 'object' && f.isRequired) parts.push(`${col} <> ${st.param(v)}`);
        else if (op === 'in' && Array.isArray(v)) parts.push(v.length ? `${col} = ANY(${st.param(v)})` : 'FALSE');
        // As Prisma writes it: the term is a parameter between two wildcards.
        else if (op === 'contains' && typeof v === 'string' && f.type === 'String') parts.push(`${col}::text LIKE ('%' || ${st.param(v)} || '%')`);
        else return null;
      }
    }
  }
  return parts.length ? parts.join(' AND ') : 'TRUE';
}

/** ORDER BY keys for a Prisma orderBy: scalar fields of the model or of a required to-one relation. */
function orderKeys(st: Statement, at: { model: string; alias: string }, orderBy: Order): { col: string; desc: boolean }[] | null {
  const keys: { col: string; desc: boolean }[] = [];
  for (const item of orderBy) {
    const entries = Object.entries(item);
    if (entries.length !== 1) return null;
    const [name, dir] = entries[0]!;
    const f = fieldOf(at.model, name);
    if (!f) return null;
    if (f.kind === 'object') {
      const joined = typeof dir === 'object' && dir !== null ? st.join(at, name) : null;
      const inner = joined?.required ? orderKeys(st, joined, [dir as Record<string, unknown>]) : null;
      if (!inner) return null;
      keys.push(...inner);
    } else if (dir === 'asc' || dir === 'desc') keys.push({ col: `${at.alias}.${columnOf(name)}`, desc: dir === 'desc' });
    else return null;
  }
  return keys;
}

/** Tests turn the translation (or the cut to what the fields read, row-reads.ts) off to compare both ways in one process. */
export const pageReads = { translate: true, cut: true };

/** A listing's total: the rows of `where` counted, or the live counts (mailbox_counts) summed. */
export type Total = { count: 'Mailbox'; where: object } | { sum: 'MailboxCount'; where: object };

/**
 * One page of mailboxes as Prisma's findMany({ ...query, where, orderBy }) would return it, and the
 * listing's total when asked, in one statement; null when the query holds something this does not
 * translate (then ask Prisma). `total` is null when the page is empty (no row carried it).
 */
export async function mailboxPageRows(query: PageQuery, where: object, orderBy: object[], total?: Total): Promise<{ rows: object[]; total: number | null } | null> {
  const { select, take, skip = 0, cursor, ...rest } = query;
  if (!pageReads.translate || !select || Object.keys(rest).length || typeof take !== 'number' || !Number.isInteger(skip) || skip < 0) return null;
  if (cursor && (Object.keys(cursor).length !== 1 || typeof cursor.id !== 'string')) return null;
  const st = new Statement('t');
  const root = { model: 'Mailbox', alias: st.root };
  const read = project(st, root, select);
  const filter = read && condition(st, root, where as Where);
  const keys = filter ? orderKeys(st, root, orderBy as Order) : null;
  if (!read || !filter || !keys?.length || keys.at(-1)!.col !== `${st.root}.id`) return null;
  // A backward page (negative take) reads the order reversed, then turns its rows round.
  const backward = take < 0 || Object.is(take, -0);
  const desc = (k: { desc: boolean }) => k.desc !== backward;
  // One row comparison needs one direction for every key (orderBy() gives id the first key's).
  if (keys.some((k) => desc(k) !== desc(keys[0]!))) return null;
  let position = '';
  if (cursor) {
    // From the cursor row's own place in the order on, that row included (skip then passes it).
    const ofCursor = new Statement('c');
    const cursorKeys = orderKeys(ofCursor, { model: 'Mailbox', alias: ofCursor.root }, orderBy as Order)!;
    position = ` AND (${keys.map((k) => k.col).join(', ')}) ${desc(keys[0]!) ? '<=' : '>='} (SELECT ${cursorKeys.map((k) => k.col).join(', ')} FROM ${TABLES.Mailbox} ${ofCursor.root} ${ofCursor.joins.join(' ')} WHERE ${ofCursor.root}.id = ${st.param(cursor.id)}::uuid)`;
  }
  let totalAt: number | null = null;
  if (total) {
    // A subquery of its own: the same value on every row, computed once.
    const model = 'count' in total ? total.count : total.sum;
    const counted = condition(st, { model, alias: 'k0' }, total.where as Where);
    if (counted === null) return null;
    const value = 'count' in total ? 'count(*)' : 'coalesce(sum(k0.n), 0)';
    totalAt = st.columns.push(`(SELECT ${value} FROM ${TABLES[model]} k0 WHERE ${counted})`) - 1;
  }
  const order = keys.map((k) => `${k.col} ${desc(k) ? 'DESC' : 'ASC'}`).join(', ');
  const sql = `SELECT ${st.columns.join(', ')} FROM ${TABLES.Mailbox} ${st.root} ${st.joins.join(' ')} WHERE ${filter}${position} ORDER BY ${order} LIMIT ${st.param(Math.abs(take))} OFFSET ${st.param(skip)}`;
  const raw = await readRows(sql, st.values);
  const rows = raw.map((r) => read(r) as object);
  return { rows: backward ? rows.reverse() : rows, total: totalAt !== null && raw.length ? Number(raw[0]![totalAt]) : null };
}

/** The field `info` resolves selects `name` directly beneath it (through fragments too). */
export function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  const inSet = (set: SelectionSetNode | undefined): boolean =>
    !!set?.selections.some((s) =>
      s.kind === Kind.FIELD ? s.name.value === name : inSet(s.kind === Kind.INLINE_FRAGMENT ? s.selectionSet : info.fragments[s.name.value]?.selectionSet),
    );
  return info.fieldNodes.some((f) => inSet(f.selectionSet));
}
