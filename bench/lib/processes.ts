// Starting and stopping the processes a benchmark measures: each is a child we started, stopped by its
// own pid when the benchmark ends (also on failure).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../core/src/embedded-postgres.js';
import { migrate } from '../../core/src/migrate.js';
import { freePort } from '../../test/free-port.js';

const children = new Set<ChildProcess>();


/** A node child running a TypeScript entry; resolves with the first URL it prints. */
export async function startChild(entry: string, env: Record<string, string>, urlPattern: RegExp, nodeArgs: string[] = []): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = urlPattern.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`${entry} exited ${code}:\n${out}`)));
  });
  return { url, child };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map(stopChild));
}

/** A fresh embedded PostgreSQL, migrated, in a temporary folder removed by cleanup(). */
export async function benchDatabase(): Promise<EmbeddedDatabase & { cleanup(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mailpanel-bench-'));
  chmodSync(dir, 0o755);
  const db = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: await freePort(), persistent: false });
  await migrate(db.url);
  return {
    ...db,
    cleanup: async () => {
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const machine = () => {
  return `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
};
