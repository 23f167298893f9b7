// First start: make sure the database is there and migrated, and that someone can log in.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { config } from './env.js';
import { db } from './db.js';
import { migrate } from './migrate.js';
import { hashPassword } from './crypto/password.js';
import { log } from './logger.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres.js';
import { acquireInstanceLock } from './instance-lock.js';

export interface EmbeddedInstance extends EmbeddedDatabase {
  /** Tells a second start on the same data folder where this instance answers. */
  announce(url: string): void;
}

/**
 * Uses DATABASE_URL, or starts the embedded PostgreSQL in the data folder and sets DATABASE_URL.
 * The embedded database belongs to one instance: the data folder's lock is taken first, so a second
 * start on the same folder refuses (InstanceRunningError) before it could touch the running cluster.
 */
export async function ensureDatabase(): Promise<EmbeddedInstance | null> {
  const cfg = config();
  let embedded: EmbeddedInstance | null = null;
  if (!cfg.DATABASE_URL) {
    const lock = await acquireInstanceLock(cfg.dataDir);
    try {
      const pg = await startEmbeddedPostgres({
        dir: path.join(cfg.dataDir, 'pg'),
        port: Number(process.env.EMBEDDED_PG_PORT ?? 54329),
        log: (level, msg, fields) => log[level](msg, fields),
      });
      embedded = { ...pg, announce: lock.announce, stop: () => pg.stop().finally(lock.release) };
    } catch (err) {
      await lock.release();
      throw err;
    }
    process.env.DATABASE_URL = embedded.url;
  }
  try {
    await migrate(process.env.DATABASE_URL!);
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  return embedded;
}

const FIRST_ADMIN_LOCK = 72707370; // arbitrary, constant (migrate.ts uses 72707369)

/** Creates the first administrator when there is none. Returns the generated password, if any.
 *  Several API replicas start at once on an empty database: a transaction-scoped advisory lock lets
 *  exactly one of them create the admin (and the default package); the others then find it. */
export async function ensureFirstAdmin(): Promise<{ email: string; password: string | null } | null> {
  if (await db().user.count({ where: { role: 'ADMIN' } })) return null;
  const cfg = config();
  const email = (cfg.ADMIN_EMAIL ?? 'admin@mailpanel.local').toLowerCase();
  const password = cfg.ADMIN_PASSWORD ?? randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(password);
  const created = await db().$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${FIRST_ADMIN_LOCK}::bigint)`;
    if (await tx.user.count({ where: { role: 'ADMIN' } })) return false;
    await tx.user.create({ data: { email, passwordHash, role: 'ADMIN' } });
    if (!(await tx.hostingPackage.count()))
      await tx.hostingPackage.create({ data: { name: 'Default', maxMailboxes: 100, maxForwards: 200, maxDomains: 10, totalQuotaMb: 102400 } });
    return true;
  });
  return created ? { email, password: cfg.ADMIN_PASSWORD ? null : password } : null;
}
