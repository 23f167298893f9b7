// `npm start`'s panel build: silent when the build works, the whole output when it fails, and skipped
// when web/build is newer than its inputs (a second start must not rewrite a running instance's files).
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runQuietly, webBuildStale } from '../scripts/build-web.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('runQuietly', () => {
  const chatty = 'for (let i = 0; i < 180; i++) console.log("line " + i); console.error("a warning");';

  it('prints nothing when the command succeeds, however much it writes', async () => {
    let printed = '';
    const code = await runQuietly(process.execPath, ['-e', chatty], { cwd: process.cwd(), write: (s) => (printed += s) });
    expect(code).toBe(0);
    expect(printed).toBe('');
  });

  it('prints everything the command wrote, and its exit code, when it fails', async () => {
    let printed = '';
    // exitCode, not process.exit(): exit() may drop what is still queued for the pipe (seen on Node 24).
    const code = await runQuietly(process.execPath, ['-e', `${chatty} process.exitCode = 3;`], { cwd: process.cwd(), write: (s) => (printed += s) });
    expect(code).toBe(3);
    expect(printed).toContain('line 0\n');
    expect(printed).toContain('line 179\n');
    expect(printed).toContain('a warning');
  });

  it('a command that cannot start is a failure with its reason', async () => {
    let printed = '';
    const code = await runQuietly('/nonexistent/build-tool', [], { cwd: process.cwd(), write: (s) => (printed += s) });
    expect(code).not.toBe(0);
    expect(printed).toMatch(/ENOENT/);
  });
});

describe('webBuildStale', () => {
  function tree(): string {
    const root = mkdtempSync(path.join(tmpdir(), 'mailpanel-build-web-'));
    dirs.push(root);
    mkdirSync(path.join(root, 'web/src/routes'), { recursive: true });
    writeFileSync(path.join(root, 'web/src/routes/+page.svelte'), '<p>hi</p>');
    writeFileSync(path.join(root, 'schema.graphql'), 'type Query { a: Int }');
    return root;
  }
  const at = (file: string, seconds: number) => utimesSync(file, seconds, seconds);

  it('is stale without a build, fresh after one, stale again when a source or the API schema changes', () => {
    const root = tree();
    expect(webBuildStale(root)).toBe(true);
    const handler = path.join(root, 'web/build/handler.js');
    mkdirSync(path.dirname(handler), { recursive: true });
    writeFileSync(handler, '');
    const t = Date.now() / 1000;
    for (const f of ['web/src/routes/+page.svelte', 'web/src/routes', 'web/src', 'schema.graphql']) at(path.join(root, f), t - 100);
    at(handler, t - 50);
    expect(webBuildStale(root)).toBe(false);

    at(path.join(root, 'web/src/routes/+page.svelte'), t);
    expect(webBuildStale(root)).toBe(true);
    at(path.join(root, 'web/src/routes/+page.svelte'), t - 100);
    at(path.join(root, 'schema.graphql'), t);
    expect(webBuildStale(root)).toBe(true);
  });
});
