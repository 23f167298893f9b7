// CSV in and out of the panel (bulk import and export). Parsing is csv-parse's (quotes, doubled
// quotes, CRLF, a UTF-8 byte-order mark); this module adds the panel's rules on top: a header row is
// required, every column must be one the import knows, each row is reported by the line it starts on
// in the file (what a spreadsheet shows), and a cell is never trimmed here (a password may start
// with a space; callers trim the columns where that is harmless).
//
// Export escapes formula injection: a cell that begins with = + - @ (or a tab / CR, which some
// spreadsheets skip before looking) is prefixed with ' so a spreadsheet shows it as text instead of
// running it. The import strips that one leading ' again where it precedes such a character, so an
// exported file imports as itself.
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { ValidationError } from '../errors.js';

export const CSV_LIMITS = { rows: 5000, cell: 1000 } as const;

export interface CsvRow {
  /** The line of the file this row starts on (the header is line 1). */
  line: number;
  cells: Record<string, string>;
}

export interface CsvTable {
  columns: string[];
  rows: CsvRow[];
}

/**
 * Parses `text` with a header row. `columns.required` must all be present, and nothing outside
 * required + optional may be: an unknown column is refused by name (a typo such as "quota_mb" must
 * not be silently ignored). Header names are compared trimmed and case-insensitively. Problems with
 * the file as a whole are a ValidationError on `field`.
 */
export function parseCsvTable(text: string, columns: { required: readonly string[]; optional: readonly string[] }, field = 'csv'): CsvTable {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: false,
      max_record_size: CSV_LIMITS.cell * 20,
      to: CSV_LIMITS.rows + 2,
    }) as never;
  } catch (err) {
    throw ValidationError.of(field, 'UNREADABLE', `The file is not valid CSV: ${csvProblem(err)}`);
  }
  const [head, ...body] = records;
  if (!head) throw ValidationError.of(field, 'EMPTY', 'The file is empty: the first line must name the columns');
  const names = head.record.map((h) => h.trim().toLowerCase());
  const known = new Set([...columns.required, ...columns.optional]);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length)
    throw ValidationError.of(
      field,
      'UNKNOWN_COLUMN',
      `Unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n.slice(0, 40)}"`).join(', ')}; the columns are ${[...known].join(', ')}`,
    );
  const missing = columns.required.filter((c) => !names.includes(c));
  if (missing.length) throw ValidationError.of(field, 'MISSING_COLUMN', `Missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} in the first line`);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw ValidationError.of(field, 'DUPLICATE_COLUMN', `The column ${twice} appears twice`);
  if (body.length > CSV_LIMITS.rows) throw ValidationError.of(field, 'TOO_MANY_ROWS', `At most ${CSV_LIMITS.rows} rows per file; split it`);
  if (body.length === 0) throw ValidationError.of(field, 'EMPTY', 'The file has a header but no rows');
  // info.lines is the line a record ends on, and a quoted cell may span lines. csv-parse counts a
  // CRLF inside quotes as two lines (and keeps that excess for every later record): take it out.
  let crlfSoFar = head.record.reduce((sum, cell) => sum + (cell.match(/\r\n/g)?.length ?? 0), 0);
  const rows = body.map(({ record, info }) => {
    const cells: Record<string, string> = {};
    names.forEach((n, i) => (cells[n] = unescapeFormula(record[i] ?? '')));
    const count = (re: RegExp) => record.reduce((sum, cell) => sum + (cell.match(re)?.length ?? 0), 0);
    crlfSoFar += count(/\r\n/g);
    return { line: info.lines - crlfSoFar - count(/\r\n|\r|\n/g), cells };
  });
  return { columns: names, rows };
}

function csvProblem(err: unknown): string {
  const e = err as { code?: string; lines?: number };
  const where = e.lines ? ` (line ${e.lines})` : '';
  const code = (e.code ?? '').replace(/^CSV_/, '');
  const known: Record<string, string> = {
    RECORD_INCONSISTENT_FIELDS_LENGTH: 'a row has a different number of cells than the header',
    QUOTE_NOT_CLOSED: 'a quoted cell is never closed',
    INVALID_OPENING_QUOTE: 'a quote inside an unquoted cell (quote the whole cell and double the quotes in it)',
    INVALID_CLOSING_QUOTE: 'text after the closing quote of a cell',
    MAX_RECORD_SIZE: 'a row is too long',
  };
  return `${known[code] ?? (code ? code.toLowerCase().replaceAll('_', ' ') : 'unreadable')}${where}`;
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** A cell as a spreadsheet must show it: text, never a formula. */
export function escapeFormula(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}

/** The inverse of escapeFormula for the cells it changed (an exported file imports as itself). */
export function unescapeFormula(cell: string): string {
  return cell.startsWith("'") && FORMULA_START.test(cell.slice(1)) ? cell.slice(1) : cell;
}

/** A CSV file (header + rows, CRLF as RFC 4180 says) with every cell formula-escaped. */
export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return stringify([header.map(escapeFormula), ...rows.map((r) => r.map(escapeFormula))], { record_delimiter: 'windows' });
}
