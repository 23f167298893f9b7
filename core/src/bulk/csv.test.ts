import { describe, expect, it } from 'vitest';
import { escapeFormula, parseCsvTable, toCsv } from './csv.js';
import { ValidationError } from '../errors.js';

const COLUMNS = { required: ['address'], optional: ['password', 'name'] } as const;
const fieldError = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.fieldErrors[0];
    throw e;
  }
  throw new Error('no error');
};

describe('CSV import parsing', () => {
  it('reads quoted cells with commas, doubled quotes and line breaks, a BOM and CRLF; rows keep the line they start on', () => {
    const text = '\uFEFFAddress,Password,name\r\na@x.test,"p,w ""q""",A\r\n\r\n"b@x.test","multi\r\nline",B\r\nc@x.test,  spaced  ,\r\n';
    const t = parseCsvTable(text, COLUMNS);
    expect(t.columns).toEqual(['address', 'password', 'name']);
    expect(t.rows).toEqual([
      { line: 2, cells: { address: 'a@x.test', password: 'p,w "q"', name: 'A' } },
      { line: 4, cells: { address: 'b@x.test', password: 'multi\r\nline', name: 'B' } },
      { line: 6, cells: { address: 'c@x.test', password: '  spaced  ', name: '' } },
    ]);
  });

  it('keeps Unicode (IDN domains, names) as written', () => {
    const t = parseCsvTable('address,name\ninfo@bücher.test,Jürgen Ñandú 日本\n', COLUMNS);
    expect(t.rows[0]!.cells).toEqual({ address: 'info@bücher.test', name: 'Jürgen Ñandú 日本' });
  });

  it('refuses unknown, missing and repeated columns by name, and files without rows', () => {
    expect(fieldError(() => parseCsvTable('address,quota_mb\na@x.test,1\n', COLUMNS))).toMatchObject({ field: 'csv', code: 'UNKNOWN_COLUMN', message: expect.stringContaining('"quota_mb"') });
    expect(fieldError(() => parseCsvTable('password\nx\n', COLUMNS))).toMatchObject({ code: 'MISSING_COLUMN', message: expect.stringContaining('address') });
    expect(fieldError(() => parseCsvTable('address,Address\na,b\n', COLUMNS))).toMatchObject({ code: 'DUPLICATE_COLUMN' });
    expect(fieldError(() => parseCsvTable('address\n', COLUMNS))).toMatchObject({ code: 'EMPTY' });
    expect(fieldError(() => parseCsvTable('', COLUMNS))).toMatchObject({ code: 'EMPTY' });
  });

  it('refuses broken CSV with the line', () => {
    expect(fieldError(() => parseCsvTable('address,name\na@x.test\n', COLUMNS))).toMatchObject({ code: 'UNREADABLE', message: expect.stringContaining('line 2') });
    expect(fieldError(() => parseCsvTable('address,name\n"a@x.test,b\n', COLUMNS))).toMatchObject({ code: 'UNREADABLE', message: expect.stringContaining('never closed') });
    expect(fieldError(() => parseCsvTable('address,name\na@x.test,=H("y")\n', COLUMNS))).toMatchObject({ message: expect.stringContaining('quote the whole cell') });
  });

  it('refuses more rows than the limit', () => {
    const text = 'address\n' + Array.from({ length: 5001 }, (_, i) => `a${i}@x.test`).join('\n');
    expect(fieldError(() => parseCsvTable(text, COLUMNS))).toMatchObject({ code: 'TOO_MANY_ROWS' });
  });
});

describe('CSV export', () => {
  it('escapes cells a spreadsheet would run as a formula', () => {
    for (const cell of ['=HYPERLINK("http://evil")', '+1', '-2+3', '@SUM(A1)', '\tx', '\rx']) expect(escapeFormula(cell)).toBe(`'${cell}`);
    for (const cell of ['info@x.test', 'a=b', "it's", '']) expect(escapeFormula(cell)).toBe(cell);
  });

  it('writes CRLF, quotes what needs it, and reads back as itself (escaped cells included)', () => {
    const csv = toCsv(['address', 'name'], [['a@bücher.test', '=cmd|"/c calc"!A1'], ['b@x.test', 'Smith, "Jo"']]);
    expect(csv).toBe('address,name\r\na@bücher.test,"\'=cmd|""/c calc""!A1"\r\nb@x.test,"Smith, ""Jo"""\r\n');
    expect(parseCsvTable(csv, COLUMNS).rows.map((r) => r.cells)).toEqual([
      { address: 'a@bücher.test', name: '=cmd|"/c calc"!A1' },
      { address: 'b@x.test', name: 'Smith, "Jo"' },
    ]);
  });
});
