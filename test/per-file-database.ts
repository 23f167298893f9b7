// Runs before each test file: a fresh database copied from the migrated template, a fresh data folder,
// and the environment the app reads (set before any app module is imported).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

const templateUrl = inject('templateDatabaseUrl');
const name = `t_${randomBytes(6).toString('hex')}`;
const admin = new pg.Client({ connectionString: templateUrl.replace(/\/[^/]+$/, '/postgres') });
await admin.connect();
await admin.query(`CREATE DATABASE ${name} TEMPLATE template_mailpanel`);
await admin.end();

const dataDir = mkdtempSync(path.join(tmpdir(), 'mailpanel-data-'));
Object.assign(process.env, {
  NODE_ENV: 'test',
  DATABASE_URL: templateUrl.replace(/\/[^/]+$/, `/${name}`),
  DATA_DIR: dataDir,
  MAIL_ROOT: path.join(dataDir, 'vmail'),
  JWT_SECRET: randomBytes(32).toString('hex'),
  ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  DB_POOL_SIZE: '5',
  // Sockets opened with an API token re-check it this often (default 30 s): a revocation test waits for it.
  API_TOKEN_RECHECK_SECONDS: '0.5',
  // A replayed refresh token revokes its login after this grace (default 10 s): short, so replay tests wait little.
  REFRESH_REUSE_GRACE_SECONDS: '1',
  // DNS lookups (checkDnsRecords) go here unless a test starts its own server (test/dns-server.ts):
  // nothing listens, so a lookup is refused at once and never leaves the machine.
  DNS_SERVER: '127.0.0.1:9',
});
