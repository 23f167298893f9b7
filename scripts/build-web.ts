// The panel's build for `npm start`: silent when it works (a person starting the panel needs the one
// URL the launcher prints, not ~180 lines of Vite output), the whole output when it fails. Skipped
// when web/build is newer than everything it is built from — so a second `npm start` on a running
// instance never rewrites the files the first one is serving.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const INPUTS = ['web/src', 'web/static', 'web/svelte.config.js', 'web/vite.config.ts', 'web/package.json', 'schema.graphql', 'package-lock.json'];
const OUTPUT = 'web/build/handler.js';

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(p).reduce((m, name) => Math.max(m, newestMtime(path.join(p, name))), st.mtimeMs);
}

/** Whether web/build is older than any of its inputs (or missing), under `root`. */
export function webBuildStale(root: string): boolean {
  const out = path.join(root, OUTPUT);
  if (!existsSync(out)) return true;
  const built = statSync(out).mtimeMs;
  return INPUTS.some((p) => newestMtime(path.join(root, p)) > built);
}

/**
 * Runs `command` with its output held back: nothing is printed when it exits 0; otherwise everything
 * it wrote (stdout and stderr, in order) goes to stderr. Resolves to its exit code.
 */
export function runQuietly(command: string, args: string[], opts: { cwd: string; write?: (s: string) => void }): Promise<number> {
  const write = opts.write ?? ((s: string) => void process.stderr.write(s));
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', (err) => {
      write(`${command}: ${err.message}\n`);
      resolve(127);
    });
    child.on('close', (code, signal) => {
      const status = code ?? (signal ? 128 : 1);
      if (status !== 0) write(Buffer.concat(chunks).toString());
      resolve(status);
    });
  });
}

async function main() {
  const root = process.cwd();
  if (!webBuildStale(root)) return;
  console.log('  Building the panel…');
  const status = await runQuietly('npm', ['run', 'build', '-w', 'web', '--silent'], { cwd: root });
  if (status !== 0) {
    console.error(`\n  Building the panel failed (exit ${status}); its output is above.`);
    process.exit(status);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
