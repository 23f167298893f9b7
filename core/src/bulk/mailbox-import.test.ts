import { describe, expect, it } from 'vitest';
import { parseCsvTable } from './csv.js';
import { MAILBOX_COLUMNS, planMailboxImport, type MailboxImportWorld } from './mailbox-import.js';

const world = (over: Partial<MailboxImportWorld> = {}): MailboxImportWorld => ({
  domains: new Map([
    ['x.test', { id: 'd1', name: 'x.test', nameUnicode: 'x.test', customerId: 'c1', isAlias: false }],
    ['xn--bcher-kva.test', { id: 'd2', name: 'xn--bcher-kva.test', nameUnicode: 'bücher.test', customerId: 'c1', isAlias: false }],
    ['alias.test', { id: 'd3', name: 'alias.test', nameUnicode: 'alias.test', customerId: 'c1', isAlias: true }],
  ]),
  existing: new Map(),
  forwardSources: new Set(),
  packages: new Map([['c1', { maxMailboxes: 0, totalQuotaMb: 0, mailboxes: 0, quotaMb: 0 }]]),
  defaultQuotaMb: 1024,
  minPasswordScore: 3,
  ...over,
});
const plan = (csv: string, w = world()) => planMailboxImport(parseCsvTable(csv, MAILBOX_COLUMNS), w);
const STRONG = 'violet-harbour-sextant-91';

describe('mailbox import plan', () => {
  it('creates valid rows with createMailbox’s rules; IDN addresses stored as A-labels, shown as U-labels', () => {
    const [a, b] = plan(`address,password,quota,status,name\nInfo@Bücher.test,${STRONG},200,disabled,Info Desk\nsales@x.test,generate,,,\n`);
    expect(a).toMatchObject({ row: 2, outcome: 'CREATE', address: 'info@bücher.test', asciiAddress: 'info@xn--bcher-kva.test', quotaMb: 200, status: 'DISABLED', name: 'Info Desk', password: STRONG, generated: false });
    expect(b).toMatchObject({ row: 3, outcome: 'CREATE', quotaMb: 1024, status: 'ACTIVE', name: null, generated: true });
    expect(b!.password).toMatch(/^[\w-]{20}$/);
  });

  it('reports every problem next to its column, row by row', () => {
    const rows = plan(
      'address,password,quota,status,name\n' +
        'bad address,x,1,active,\n' +
        `ok@nowhere.test,${STRONG},1,,\n` +
        'weak@x.test,password123,1,,\n' +
        `q@x.test,${STRONG},-5,sleeping,\n` +
        `a@alias.test,${STRONG},,,\n` +
        'nopass@x.test,,,,\n' +
        `dup@x.test,${STRONG},,,\nDUP@x.test,${STRONG},,,\n`,
    );
    const errs = rows.map((r) => [r.row, r.outcome, r.errors.map((e) => `${e.field}:${e.code}`)]);
    expect(errs).toEqual([
      [2, 'ERROR', ['address:INVALID']],
      [3, 'ERROR', ['address:NOT_FOUND']],
      [4, 'ERROR', ['password:TOO_WEAK']],
      [5, 'ERROR', ['quota:INVALID', 'status:INVALID']],
      [6, 'ERROR', ['address:ALIAS_DOMAIN']],
      [7, 'ERROR', ['password:REQUIRED']],
      [8, 'CREATE', []],
      [9, 'ERROR', ['address:DUPLICATE']],
    ]);
    expect(rows[7]!.errors[0]!.message).toContain('line 8');
  });

  it('counts the package limits over the whole file, existing mailboxes included', () => {
    const w = world({ packages: new Map([['c1', { maxMailboxes: 3, totalQuotaMb: 1000, mailboxes: 1, quotaMb: 400 }]]) });
    const rows = plan(`address,password,quota\na@x.test,${STRONG},300\nb@x.test,${STRONG},400\nc@x.test,${STRONG},100\nd@x.test,${STRONG},0\n`, w);
    expect(rows.map((r) => [r.outcome, r.errors.map((e) => `${e.field}:${e.code}`)])).toEqual([
      ['CREATE', []],
      ['ERROR', ['quota:LIMIT_EXCEEDED']],
      ['CREATE', []],
      ['ERROR', ['address:LIMIT_EXCEEDED']],
    ]);
  });

  it('is idempotent by address: matching rows are UNCHANGED, differing ones UPDATE, and an existing password is never looked at', () => {
    const existing = new Map([
      ['same@x.test', { id: 'm1', address: 'same@x.test', quotaMb: 100, status: 'ACTIVE' as const, name: 'Same', deleting: false, purgeAt: null }],
      ['diff@x.test', { id: 'm2', address: 'diff@x.test', quotaMb: 100, status: 'ACTIVE' as const, name: null, deleting: false, purgeAt: null }],
    ]);
    const rows = plan('address,password,quota,status,name\nsame@x.test,weak,100,active,Same\ndiff@x.test,,200,disabled,New\n', world({ existing }));
    expect(rows[0]).toMatchObject({ outcome: 'UNCHANGED', errors: [] });
    expect(rows[0]!.password).toBeUndefined();
    expect(rows[1]).toMatchObject({ outcome: 'UPDATE', changes: { quotaMb: 200, status: 'DISABLED', name: 'New' } });
  });

  it('an address used by a forward, still being deleted, or deleted and reserved for a restore, is taken', () => {
    const rows = plan(`address,password\nf@x.test,${STRONG}\ngone@x.test,${STRONG}\nkept@x.test,${STRONG}\n`, world({
      forwardSources: new Set(['f@x.test']),
      existing: new Map([
        ['gone@x.test', { id: 'm', address: 'gone@x.test', quotaMb: 0, status: 'ACTIVE' as const, name: null, deleting: true, purgeAt: null }],
        ['kept@x.test', { id: 'k', address: 'kept@x.test', quotaMb: 0, status: 'ACTIVE' as const, name: null, deleting: false, purgeAt: new Date('2030-01-31T00:00:00Z') }],
      ]),
    }));
    expect(rows.map((r) => r.errors[0]?.code)).toEqual(['TAKEN', 'TAKEN', 'TAKEN']);
    expect(rows[2]!.errors[0]!.message).toContain('reserved until 2030-01-31');
  });
});
