// CI's engine check (.ci/check-engines): every dependency accepts the pinned Node, and an allowlisted
// exception needs its reason.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(path.join(tmpdir(), 'check-engines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(allowlist?: string, node?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(node ? { CHECK_ENGINES_NODE: node } : {}) };
  if (allowlist !== undefined) {
    env.EBADENGINE_ALLOWLIST = path.join(dir, `allow-${Math.random().toString(36).slice(2)}`);
    writeFileSync(env.EBADENGINE_ALLOWLIST, allowlist);
  }
  const r = spawnSync('bash', ['.ci/check-engines'], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('.ci/check-engines', () => {
  it('passes: the lockfile has no package that refuses the pinned Node, and the allowlist is empty', { timeout: 90_000 }, () => {
    const r = check();
    expect(r.out).toContain(`every package accepts Node ${process.versions.node} (0 allowed warnings)`);
    expect(r.status).toBe(0);
  });

  // Needs a Node older than some dependency accepts: the machine's own, where it is one (Node 20 here).
  const system = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim();
  const old = system && Number(system.split('.')[0]) < 22;
  it.skipIf(!old)(`fails on a package that refuses the Node it runs on (the machine's Node ${system}), unless allowlisted with a reason`, { timeout: 90_000 }, () => {
    const r = check(undefined, '/usr/bin/node');
    expect(r.out).toMatch(/check-engines: pg-boss@[\d.]+ does not accept Node 20/);
    expect(r.out).toContain('check-engines: (root) does not accept Node 20'); // engines: the pinned Node's line
    expect(r.status).toBe(1);
    const refused = [...r.out.matchAll(/check-engines: (\S+) does not accept/g)].map((m) => m[1]!);
    const allowed = check(refused.map((p) => `${p}  it says Node >= 22; this test runs it on 20`).join('\n') + '\n', '/usr/bin/node');
    expect(allowed.out).toContain(`(${new Set(refused).size} allowed warnings)`);
    expect(allowed.status).toBe(0);
  });

  it('fails on an allowlist entry without its reason', { timeout: 90_000 }, () => {
    const r = check('# comment\npg-boss@12.38.0\n');
    expect(r.out).toContain("'pg-boss@12.38.0' has no reason");
    expect(r.status).toBe(1);
  });
});
