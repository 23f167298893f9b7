// One real PostgreSQL (embedded) for the whole run, and a template database migrated once; each
// test file then gets its own copy (CREATE DATABASE … TEMPLATE), so files never see each other's rows.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../core/src/embedded-postgres.js';
import { migrate } from '../core/src/migrate.js';
import { freePort } from './free-port.js';


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
