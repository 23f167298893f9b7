// Not a test of its own: the inner run that harness-run-id.test.ts starts through run.sh. It does
// nothing unless MAILSTACK_RUN_ID_FIXTURE names a mode, so the suite's own run skips it.
//   clean: says it started (marker file), then waits until the outer test says "go" — meanwhile the
//          outer test starts a mail stack of its own (another run's daemons) and keeps it running.
//   leak:  leaves one process behind that looks like a Postfix of THIS run (MAIL_CONFIG in this run's
//          folder) and writes its pid to the marker file: run.sh must still catch its own leftovers.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const mode = process.env.MAILSTACK_RUN_ID_FIXTURE;
const marker = process.env.MAILSTACK_RUN_ID_MARKER ?? '';

describe.skipIf(!mode)('run-id fixture (driven by harness-run-id.test.ts)', () => {
  it(`mode ${mode}`, async () => {
    if (mode === 'clean') {
      writeFileSync(marker, 'started');
      const deadline = Date.now() + 60_000;
      while (!existsSync(`${marker}.go`)) {
        if (Date.now() > deadline) throw new Error('the outer test never said go');
        await new Promise((r) => setTimeout(r, 100));
      }
    } else if (mode === 'leak') {
      const fakeConfig = path.join(os.tmpdir(), `mailstack-${process.env.MAILSTACK_RUN_ID}-leak`, 'etc', 'postfix');
      const child = spawn('sleep', ['120'], { detached: true, stdio: 'ignore', env: { ...process.env, MAIL_CONFIG: fakeConfig } });
      child.unref();
      writeFileSync(marker, String(child.pid));
    }
    expect(mode).toMatch(/^(clean|leak)$/);
  });
});
