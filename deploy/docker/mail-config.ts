// The `mail-config` one-shot of docker-compose.yml (run in the panel image, after the api has
// migrated the database): creates or updates the read-only role Postfix and Dovecot use, and
// renders their configuration with deploy/render.ts — the same renderer and templates the
// mail-stack suite runs against the real daemons — into a volume the postfix and dovecot
// containers mount read-only. Safe to run again: the role's password is generated once and kept
// beside the rendered files (mode 0600), so every run renders the same configuration.
//
// Environment (defaults fit docker-compose.yml):
//   DATABASE_URL          the panel's database URL (a role that may CREATE ROLE and GRANT on the views)
//   MAIL_HOSTNAME         host name Postfix and Dovecot announce (required)
//   POSTMASTER_ADDRESS    postmaster address (required)
//   MAIL_CONFIG_DIR       where to write (default /etc/mailpanel-rendered)
//   MAIL_DB_ROLE          read-only role (default mail_reader)
//   MAIL_DB_HOST          database host as the mail containers reach it (default: DATABASE_URL's)
//   MAIL_MILTER           Postfix milter (default inet:rspamd:11332; "none" for none)
//   MAIL_RELAY_HOST/PORT  a smarthost for outgoing mail (default: none, deliver directly)
//   MAIL_REINJECT_NETWORKS  networks the dovecot container connects from (default the private ranges)
//   VMAIL_UID / VMAIL_GID owner of the Maildirs (default 5000)
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { renderReadonlyRoleSql, type MailstackSettings } from '../../core/src/render/mailstack-config.js';
import { renderMailstackFiles } from '../render.js';

/** Paths and ports inside the mail containers (deploy/docker/{postfix,dovecot}). */
export const CONTAINER = {
  configDir: '/etc/mailpanel',
  runtimeDir: '/run/mailpanel',
  logDir: '/var/log/mailpanel',
  mailRoot: '/var/vmail',
  postfixQueueDir: '/var/spool/postfix',
  postfixDataDir: '/var/lib/postfix',
  ports: { imap: 143, lmtp: 24, saslAuth: 12345, smtp: 25, submission: 587, reinject: 10025 },
} as const;

const PRIVATE_NETWORKS = '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16';

/** The renderer's settings from the environment (pure; the compose test renders with it too). */
export function settingsFromEnv(env: Record<string, string | undefined>, readerPassword: string): MailstackSettings {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${name} is required`);
    return v;
  };
  const dbUrl = new URL(need('DATABASE_URL'));
  const milter = env.MAIL_MILTER ?? 'inet:rspamd:11332';
  const relayPort = env.MAIL_RELAY_PORT ? Number(env.MAIL_RELAY_PORT) : null;
  return {
    paths: {
      configDir: CONTAINER.configDir,
      runtimeDir: CONTAINER.runtimeDir,
      logDir: CONTAINER.logDir,
      mailRoot: CONTAINER.mailRoot,
      postfixQueueDir: CONTAINER.postfixQueueDir,
      postfixDataDir: CONTAINER.postfixDataDir,
    },
    ports: { ...CONTAINER.ports, relay: env.MAIL_RELAY_HOST ? (relayPort ?? 25) : null },
    relayHost: env.MAIL_RELAY_HOST || undefined,
    database: {
      host: env.MAIL_DB_HOST ?? dbUrl.hostname,
      port: dbUrl.port ? Number(dbUrl.port) : 5432,
      dbname: decodeURIComponent(dbUrl.pathname.replace(/^\//, '')),
      user: env.MAIL_DB_ROLE ?? 'mail_reader',
      password: readerPassword,
    },
    vmail: { uid: Number(env.VMAIL_UID ?? 5000), gid: Number(env.VMAIL_GID ?? 5000) },
    hostname: need('MAIL_HOSTNAME'),
    postmasterAddress: need('POSTMASTER_ADDRESS'),
    listenAddress: '0.0.0.0',
    internalAddress: '0.0.0.0',
    dovecotHost: env.MAIL_DOVECOT_HOST ?? 'dovecot',
    postfixHost: env.MAIL_POSTFIX_HOST ?? 'postfix',
    reinjectNetworks: (env.MAIL_REINJECT_NETWORKS ?? PRIVATE_NETWORKS).split(',').map((s) => s.trim()),
    instanceName: 'mailpanel',
    milter: milter === 'none' ? '' : milter,
    flags: { logToStdout: true },
  };
}

async function readerPassword(dir: string): Promise<string> {
  const file = path.join(dir, 'reader-password');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const pw = randomBytes(24).toString('base64url');
    await writeFile(file, pw, { mode: 0o600 });
    return pw;
  }
}

async function main() {
  const dir = process.env.MAIL_CONFIG_DIR ?? '/etc/mailpanel-rendered';
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const password = await readerPassword(dir);
  const settings = settingsFromEnv(process.env, password);
  const files = await renderMailstackFiles(settings); // validates everything before touching the database

  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(renderReadonlyRoleSql(settings.database.user, password));
  } finally {
    await client.end();
  }
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, rel);
    await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
    // Global Sieve scripts are read by Dovecot's LMTP as vmail; the rest holds the role's password.
    const mode = rel.endsWith('.sieve') ? 0o644 : 0o640;
    await writeFile(abs, content, { mode });
    await chmod(abs, mode);
  }
  console.log(`mail-config: role ${settings.database.user} ready; ${Object.keys(files).length} files rendered into ${dir}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    // Messages name the setting that is wrong; the role's password is never part of them.
    console.error(`mail-config: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
