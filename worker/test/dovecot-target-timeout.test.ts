// A Dovecot session that hangs instead of failing (the imap process never greets) must not hold a
// migration for ever: the target gives up after its greeting timeout, with everything it started
// ended. The hanging "doveadm" is a real process that never writes (a script that sleeps).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DovecotTarget } from '../src/migration/target-dovecot.js';
import { TargetError } from '@mailpanel/core/migration/errors';

const dir = mkdtempSync(path.join(tmpdir(), 'hanging-doveadm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('DovecotTarget.open', () => {
  it('ends a session that does not greet within the timeout, and the process it started', async () => {
    const pidFile = path.join(dir, 'pid');
    const fake = path.join(dir, 'doveadm');
    writeFileSync(fake, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 600\n`, { mode: 0o755 });
    const started = Date.now();
    const err = await DovecotTarget.open({ doveadm: fake, config: '/dev/null', user: 'nobody@example.test', greetingTimeoutMs: 800 }).catch((e) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect(String(err.message)).toMatch(/did not greet within 0.8 s/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await expect.poll(() => alive(pid), { timeout: 5000 }).toBe(false);
  });
});
