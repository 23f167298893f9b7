// Pure parts of quota measurement (worker/src/quota.ts): Maildir file names, doveadm's tab output,
// and the Maildir++ scan on a real folder tree.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDoveadmQuota, scanMaildir, sizeFromMaildirName } from '../src/quota.js';

describe('sizeFromMaildirName', () => {
  it.each([
    ['1795738602.M62611P765.vm,S=1807,W=1926', 1807],
    ['1795738602.M62611P765.vm,S=1807,W=1926:2,S', 1807],
    ['1795738602.M62611P765.vm,S=1807:2,RS', 1807],
    ['1795738602.M62611P765.vm,W=1926,S=77:2,', 77],
    ['1795738602.M62611P765.vm:2,S', null], // ",S" in the flags is not a size
    ['1795738602.M62611P765.vm', null],
    ['x,S=12abc', null],
    ['x,XS=12', null],
  ])('%s → %s', (name, size) => expect(sizeFromMaildirName(name)).toBe(size));
});

describe('parseDoveadmQuota', () => {
  it('reads -u output (no user column): STORAGE in KiB, MESSAGE as a count', () => {
    const out = 'Quota name\tType\tValue\tLimit\t%\nUser quota\tSTORAGE\t10\t1024\t0\nUser quota\tMESSAGE\t3\t-\t0\n';
    expect(parseDoveadmQuota(out)).toEqual(new Map([['', { bytes: 10 * 1024, messages: 3 }]]));
  });

  it('reads -A output (user column), one entry per user', () => {
    const out =
      'Username\tQuota name\tType\tValue\tLimit\t%\n' +
      'a@ex.test\tUser quota\tSTORAGE\t10\t1024\t0\na@ex.test\tUser quota\tMESSAGE\t3\t-\t0\n' +
      'b@ex.test\tUser quota\tSTORAGE\t0\t-\t0\nb@ex.test\tUser quota\tMESSAGE\t0\t-\t0\n';
    expect(parseDoveadmQuota(out)).toEqual(
      new Map([
        ['a@ex.test', { bytes: 10240, messages: 3 }],
        ['b@ex.test', { bytes: 0, messages: 0 }],
      ]),
    );
  });

  it('takes the largest of several quota roots, ignores unknown types and junk rows', () => {
    const out =
      'Quota name\tType\tValue\tLimit\t%\nUser quota\tSTORAGE\t5\t-\t0\nShared\tSTORAGE\t7\t-\t0\n' +
      'User quota\tMESSAGE\t2\t-\t0\nUser quota\tWEIRD\t99\t-\t0\nUser quota\tMESSAGE\tn/a\t-\t0\n';
    expect(parseDoveadmQuota(out).get('')).toEqual({ bytes: 7 * 1024, messages: 2 });
  });

  it('answers nothing for empty output, and refuses an unknown header', () => {
    expect(parseDoveadmQuota('').size).toBe(0);
    expect(() => parseDoveadmQuota('what\tever\n1\t2\n')).toThrow(/header/);
  });
});

describe('scanMaildir', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('sums INBOX and Maildir++ folders (cur, new), using S= when present, skipping tmp and Dovecot files', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'scan-'));
    dirs.push(root);
    const md = path.join(root, 'Maildir');
    const put = async (rel: string, bytes: number) => {
      await mkdir(path.dirname(path.join(md, rel)), { recursive: true });
      await writeFile(path.join(md, rel), 'x'.repeat(bytes));
    };
    await put('new/1.a,S=1000,W=1030', 10); // S= wins over the file size
    await put('cur/2.a,S=500:2,S', 5);
    await put('cur/3.a:2,', 123); // no S=: its size on disk
    await put('tmp/4.a,S=9999', 1); // unfinished delivery
    await put('.Sent/cur/5.a,S=40:2,S', 1);
    await put('.Lists.Work/new/6.a', 7); // nested folder "Lists/Work"
    await put('.Trash/tmp/7.a,S=100000', 1);
    await put('dovecot-uidlist', 50);
    await put('dovecot.index.cache', 50);
    await put('.Sent/dovecot-uidlist', 50);
    await put('cur/.hidden', 50);
    await mkdir(path.join(md, '.Empty', 'cur'), { recursive: true });
    await writeFile(path.join(md, '.not-a-folder'), 'x');
    expect(await scanMaildir(md)).toEqual({ bytes: 1000 + 500 + 123 + 40 + 7, messages: 5 });
  });

  it('counts a missing Maildir as empty', async () => {
    expect(await scanMaildir(path.join(os.tmpdir(), 'no-such-maildir-' + Date.now()))).toEqual({ bytes: 0, messages: 0 });
  });
});
