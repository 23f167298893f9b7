// The README's integrator example, run as written (curl + node) against the real API: on a wrong
// password it prints the API's message and the next steps say why they fail — no TypeError.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ADMIN, startTestApp } from '../../test/harness.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const example = /```sh\n(URL=http:\/\/127\.0\.0\.1:4000\/graphql[\s\S]*?)```/.exec(readme)![1]!;

function run(script: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('bash', ['-c', script], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('README integrator example', async () => {
  const t = await startTestApp({ listen: true });
  const script = (password: string) =>
    example
      .replace('http://127.0.0.1:4000/graphql', `${t.app.url}/graphql`)
      .replace('admin@mailpanel.local', ADMIN.email)
      .replace('password:\\"…\\"', `password:\\"${password}\\"`);

  it('runs through with the right password', async () => {
    const r = await run(script(ADMIN.password));
    expect(r.stderr).toBe('');
    // On a fresh install: the package, customer and domain steps make the mailbox possible.
    expect(r.stdout).toContain('example.com\n');
    expect(r.stdout).toContain('"createMailbox":{"__typename":"MutationCreateMailboxSuccess"');
    expect(r.stdout).toContain('"address":"info@example.com"');
  });

  it('prints the error, not a TypeError, with a wrong password', async () => {
    const r = await run(script('wrong-password'));
    expect(r.stderr).toContain('Wrong e-mail address or password');
    expect(r.stderr).not.toMatch(/TypeError|at \[eval\]/);
  });
});
