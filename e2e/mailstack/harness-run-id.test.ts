// Issue 12, item 8: run.sh's leftover-daemon check counts only the daemons of its own run. Two runs
// at once: the outer test (this file) starts a real mail stack while an inner `run.sh` is running,
// and keeps it up until the inner run has ended — the inner run must pass. And an inner run that does
// leave a daemon of its own behind must still fail.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailstack, type Mailstack } from './harness.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

const enabled = process.env.MAILSTACK_E2E === '1';

function runInner(mode: 'clean' | 'leak', marker: string) {
  const child = spawn('bash', ['e2e/mailstack/run.sh', 'e2e/mailstack/run-id.fixture.test.ts'], {
    env: { ...process.env, MAILSTACK_RUN_ID_FIXTURE: mode, MAILSTACK_RUN_ID_MARKER: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; out: string }>((resolve) => child.once('exit', (code) => resolve({ code, out })));
  return { done };
}

async function until(what: string, fn: () => boolean, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!enabled)('run.sh counts only its own run’s daemons (issue 12, item 8)', () => {
  let db: TestDatabase;
  let scratch: string;
  beforeAll(async () => {
    db = await startTestDatabase();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'run-id-'));
  });
  afterAll(async () => {
    await db?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('another run’s daemons, started and still running during this run, do not fail it', async () => {
    const marker = path.join(scratch, 'clean');
    const inner = runInner('clean', marker);
    let other: Mailstack | undefined;
    try {
      await until('the inner run started its test', () => existsSync(marker));
      other = await startMailstack({ databaseUrl: db.url });
      expect(other.daemonPid('dovecot')).not.toBeNull();
      expect(other.daemonPid('postfix')).not.toBeNull();
      await writeFile(`${marker}.go`, '');
      const { code, out } = await inner.done;
      // The other stack was still running when the inner run checked for leftovers.
      expect(other.daemonPid('dovecot')).not.toBeNull();
      expect(out).not.toMatch(/still running/);
      expect(code, out).toBe(0);
    } finally {
      await other?.stop();
    }
  });

  it('a daemon the run itself left behind still fails it', async () => {
    const marker = path.join(scratch, 'leak');
    const { code, out } = await runInner('leak', marker).done;
    const pid = Number(readFileSync(marker, 'utf8'));
    try {
      expect(code, out).toBe(1);
      expect(out).toMatch(/still running after the tests/);
      expect(out).toContain(String(pid));
    } finally {
      try {
        process.kill(pid, 'SIGTERM'); // the stand-in the fixture started for this test, by its pid
      } catch {
        /* gone */
      }
    }
  });
});
