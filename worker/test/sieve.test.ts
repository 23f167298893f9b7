// syncAutoresponderSieve with a compiler: a script sievec refuses never becomes active (the one
// before it stays in force), and the error keeps no server path (it reaches the tenant as the
// mailbox's provisioningError). The real sievec/Dovecot run in the mail-stack suite.
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syncAutoresponderSieve } from '../src/sieve.js';

describe('syncAutoresponderSieve with sievec', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sieve-sync-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const home = path.join(dir, 'example.test', 'carol');
  const fake = async (name: string, body: string) => {
    const p = path.join(dir, name);
    await writeFile(p, `#!/bin/sh\n${body}\n`);
    await chmod(p, 0o755);
    return p;
  };
  const row = (subject: string) => ({ enabled: true, subject, message: 'Away.', startsAt: null, endsAt: null });

  it('compiles the checked script and the active one; a refused script leaves the previous one active', async () => {
    // A stand-in that writes its last argument (the binary) like sievec does.
    const ok = await fake('sievec-ok', 'for a; do out="$a"; done; echo compiled > "$out"');
    await mkdir(home, { recursive: true });
    expect(await syncAutoresponderSieve(home, 'carol@example.test', row('First'), { owner: {}, compiler: { sievec: ok } })).toBe('installed');
    expect(await readFile(path.join(home, '.dovecot.svbin'), 'utf8')).toBe('compiled\n');
    expect(await readlink(path.join(home, '.dovecot.sieve'))).toBe('sieve/panel.sieve');

    const refuse = await fake('sievec-refuse', `echo "sievec(root): Error: ${home}/sieve/.panel.sieve.tmp: line 3: error: unexpected ';'" >&2; exit 1`);
    const err = await syncAutoresponderSieve(home, 'carol@example.test', row('Second'), { owner: {}, compiler: { sievec: refuse } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^sievec refused the autoresponder script: .*line 3: error: unexpected ';'/);
    expect((err as Error).message).not.toContain(dir);
    expect(await readFile(path.join(home, 'sieve', 'panel.sieve'), 'utf8')).toContain(':subject "First"');
    expect(await readFile(path.join(home, '.dovecot.svbin'), 'utf8')).toBe('compiled\n');
  });
});
