// The bulk-migration CSV reader (pure): what a person's spreadsheet export looks like must read as
// the rows they see, with the line numbers their editor shows.
import { describe, expect, it } from 'vitest';
import { BULK_MAX_ROWS, parseBulkMigrationCsv } from '../src/bulk-migration-csv.js';

const codes = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { fieldErrors: { field: string; code: string }[] }).fieldErrors.map((f) => `${f.field}:${f.code}`);
  }
  return [];
};

describe('parseBulkMigrationCsv', () => {
  it('reads columns in any order and case, a BOM, CRLF, quoted commas and quotes, blank lines; line numbers are the file’s', () => {
    const text = '\uFEFFPassword,USERNAME,Host,address\r\n"pa,ss ""quoted"" ",u1,imap.old.example,a@new.example\r\n\r\n pw2 ,u2,imap.old.example, b@new.example \r\n';
    expect(parseBulkMigrationCsv(text)).toEqual([
      { line: 2, address: 'a@new.example', host: 'imap.old.example', port: null, security: null, username: 'u1', password: 'pa,ss "quoted" ' },
      // Spaces around a password are kept (they may be part of it); the address is trimmed.
      { line: 4, address: 'b@new.example', host: 'imap.old.example', port: null, security: null, username: 'u2', password: ' pw2 ' },
    ]);
  });

  it('refuses what is not this CSV, on the csv field', () => {
    expect(codes(() => parseBulkMigrationCsv(''))).toEqual(['csv:EMPTY']);
    expect(codes(() => parseBulkMigrationCsv('address,host,username,password\n'))).toEqual(['csv:EMPTY']);
    expect(codes(() => parseBulkMigrationCsv('address,host,username\nx,y,z'))).toEqual(['csv:MISSING_COLUMN']);
    expect(codes(() => parseBulkMigrationCsv('address,host,username,password,host\n'))).toEqual(['csv:DUPLICATE_COLUMN']);
    expect(codes(() => parseBulkMigrationCsv('address,host,username,password\na,b,c\n'))).toEqual(['csv:UNREADABLE']);
    const many = ['address,host,username,password', ...Array.from({ length: BULK_MAX_ROWS + 1 }, (_, i) => `m${i}@x.example,h,u,p`)].join('\n');
    expect(codes(() => parseBulkMigrationCsv(many))).toEqual(['csv:TOO_MANY']);
    expect(codes(() => parseBulkMigrationCsv('x'.repeat(3 * 1024 * 1024)))).toEqual(['csv:TOO_LARGE']);
  });

  it('never puts a cell (a password) into its error message', () => {
    let message = '';
    try {
      parseBulkMigrationCsv('address,host,username,password\na@x.example,h,u,"Secret-Pass-1\n');
    } catch (e) {
      message = JSON.stringify(e) + String((e as Error).message);
    }
    expect(message).toMatch(/UNREADABLE|readable/);
    expect(message).not.toContain('Secret-Pass-1');
  });
});
