// Reads a bulk-migration CSV (docs/bulk.md, "Bulk migration") into rows for the same checks as a
// single startMigration. Pure: no I/O. A header row names the columns, in any order and case:
// address (the target mailbox), host, port, security, username, password. port and security may be
// left out or empty (the single-migration defaults apply). Line numbers are the file's own (the
// header is line 1), so an error points at the line a person sees in their editor.
import { parse } from 'csv-parse/sync';
import { FieldErrors, ValidationError } from '@mailpanel/core/errors';

export const BULK_MAX_ROWS = 1000;
export const BULK_MAX_BYTES = 2 * 1024 * 1024;

const COLUMNS = ['address', 'host', 'port', 'security', 'username', 'password'] as const;
const REQUIRED = ['address', 'host', 'username', 'password'] as const;
type Column = (typeof COLUMNS)[number];

export interface BulkCsvRow {
  line: number;
  address: string;
  host: string;
  /** Raw text; an empty cell is null (the default port of its security). */
  port: string | null;
  security: string | null;
  username: string;
  password: string;
}

/** The file as rows, or a ValidationError on `csv` when it cannot be read as this format at all. */
export function parseBulkMigrationCsv(text: string): BulkCsvRow[] {
  if (Buffer.byteLength(text) > BULK_MAX_BYTES) throw ValidationError.of('csv', 'TOO_LARGE', `The file may be at most ${BULK_MAX_BYTES / 1024 / 1024} MB`);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text.replace(/^\uFEFF/, ''), { skip_empty_lines: true, relax_column_count: false, info: true, trim: false }) as never;
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw ValidationError.of('csv', 'UNREADABLE', `Not a readable CSV file${line ? ` (line ${line})` : ''}: check the quotes and that every line has the same number of columns`);
  }
  if (!records.length) throw ValidationError.of('csv', 'EMPTY', 'The file is empty: it needs a header row and at least one row');
  const header = records[0]!.record.map((h) => h.trim().toLowerCase());
  const errors = new FieldErrors();
  const unknown = header.filter((h) => !(COLUMNS as readonly string[]).includes(h));
  if (unknown.length) errors.add('csv', 'UNKNOWN_COLUMN', `Unknown column(s): ${unknown.join(', ')}. The columns are ${COLUMNS.join(', ')}`);
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) errors.add('csv', 'MISSING_COLUMN', `Missing column(s): ${missing.join(', ')}`);
  if (new Set(header).size !== header.length) errors.add('csv', 'DUPLICATE_COLUMN', 'A column is named twice');
  errors.throwIfAny();
  const rows = records.slice(1);
  if (!rows.length) throw ValidationError.of('csv', 'EMPTY', 'The file has a header row but no rows');
  if (rows.length > BULK_MAX_ROWS) throw ValidationError.of('csv', 'TOO_MANY', `At most ${BULK_MAX_ROWS} rows per file`);
  const at = (c: Column) => header.indexOf(c);
  return rows.map(({ record, info }) => {
    const cell = (c: Column) => (at(c) < 0 ? '' : (record[at(c)] ?? ''));
    const optional = (c: Column) => cell(c).trim() || null;
    return {
      line: info.lines,
      address: cell('address').trim(),
      host: cell('host'),
      port: optional('port'),
      security: optional('security'),
      username: cell('username'),
      // Passwords are taken as written: spaces may be part of one.
      password: cell('password'),
    };
  });
}
