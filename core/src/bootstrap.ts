// First start: make sure the database is there and migrated, and that someone can log in.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { config } from './env.js';
import { db } from './db.js';
import { migrate } from './migrate.js';
import { hashPassword } from './crypto/password.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres.js';

/** Uses DATABASE_URL, or starts the embedded PostgreSQL in the data folder and sets DATABASE_URL. */
export async function ensureDatabase(): Promise<EmbeddedDatabase | null> {
  const cfg = config();
  let embedded: EmbeddedDatabase | null = null;
  if (!cfg.DATABASE_URL) {
    embedded = await startEmbeddedPostgres({ dir: path.join(cfg.dataDir, 'pg'), port: Number(process.env.EMBEDDED_PG_PORT ?? 54329) });
    process.env.DATABASE_URL = embedded.url;
  }
  await migrate(process.env.DATABASE_URL!);
  return embedded;
}

/** Creates the first administrator when there is none. Returns the generated password, if any. */
export async function ensureFirstAdmin(): Promise<{ email: string; password: string | null } | null> {
  if (await db().user.count({ where: { role: 'ADMIN' } })) return null;
  const cfg = config();
  const email = (cfg.ADMIN_EMAIL ?? 'admin@mailpanel.local').toLowerCase();
  const password = cfg.ADMIN_PASSWORD ?? randomBytes(12).toString('base64url');
  await db().user.create({ data: { email, passwordHash: await hashPassword(password), role: 'ADMIN' } });
  if (!(await db().hostingPackage.count()))
    await db().hostingPackage.create({ data: { name: 'Default', maxMailboxes: 100, maxForwards: 200, maxDomains: 10, totalQuotaMb: 102400 } });
  return { email, password: cfg.ADMIN_PASSWORD ? null : password };
}
