// One real PostgreSQL (embedded) for the whole run, and a template database migrated once; each
// test file then gets its own copy (CREATE DATABASE … TEMPLATE), so files never see each other's rows.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../core/src/embedded-postgres.js';
import { migrate } from '../core/src/migrate.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

let pg: EmbeddedDatabase | undefined;
let dir: string | undefined;

export async function setup(project: TestProject) {
  dir = mkdtempSync(path.join(tmpdir(), 'mailpanel-test-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as user postgres and must reach its folder
  pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: await freePort(), database: 'template_mailpanel', persistent: false });
  await migrate(pg.url);
  project.provide('templateDatabaseUrl', pg.url);
}

export async function teardown() {
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabaseUrl: string;
  }
}
