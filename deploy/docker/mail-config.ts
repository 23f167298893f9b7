// The `mail-config` one-shot of docker-compose.yml (run in the panel image, after the api has
// migrated the database): creates or updates the read-only role Postfix and Dovecot use, and
// renders their configuration with deploy/render.ts, and rspamd's with deploy/render-rspamd.ts —
// the same renderers and templates the mail-stack suite runs against the real daemons — into
// volumes the postfix, dovecot and rspamd containers mount read-only. Safe to run again: the role's
// password is generated once and kept beside the rendered files (mode 0600), so every run renders
// the same configuration.
//
// rspamd's configuration is written to a volume of its own (it holds no password, and rspamd needs
// nothing else of `mailconfig`). It names the folders the panel's worker writes (RSPAMD_MAPS_DIR,
// DKIM_DIR): the compose file mounts them at those same paths in the worker and in rspamd. Until the
// worker's first sync, empty maps are put there so rspamd starts with maps it can read.
//
// Environment (defaults fit docker-compose.yml):
//   DATABASE_URL          the panel's database URL (a role that may CREATE ROLE and GRANT on the views)
//   MAIL_HOSTNAME         host name Postfix and Dovecot announce (required)
//   POSTMASTER_ADDRESS    postmaster address (required)
//   MAIL_CONFIG_DIR       where to write Postfix/Dovecot (default /etc/mailpanel-rendered)
//   RSPAMD_CONFIG_DIR     where to write rspamd's LOCAL_CONFDIR (default /etc/mailpanel-rendered-rspamd)
//   MAIL_DB_ROLE          read-only role (default mail_reader)
//   MAIL_DB_HOST          database host as the mail containers reach it (default: DATABASE_URL's)
//   MAIL_MILTER           Postfix milter (default inet:rspamd:11332; "none" for none)
//   MAIL_POLICY_SERVICE   the policy service for outbound limits (default inet:policy:10040; "none")
//   MAIL_RELAY_HOST/PORT  a smarthost for outgoing mail (default: none, deliver directly)
//   MAIL_REINJECT_NETWORKS  networks the dovecot container connects from (default the private ranges)
//   VMAIL_UID / VMAIL_GID owner of the Maildirs (default 5000)
//   RSPAMD_MAPS_DIR, DKIM_DIR  the worker's folders, as mounted in rspamd (required)
//   RSPAMD_REDIS          Redis for rspamd, host:port (default redis:6379)
//   RSPAMD_DNS_SERVER     rspamd's resolver, IPv4:port (default 127.0.0.11:53, Docker's own DNS)
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { renderReadonlyRoleSql, type MailstackSettings } from '../../core/src/render/mailstack-config.js';
import type { RspamdSettings } from '../../core/src/render/rspamd.js';
import { renderMailstackFiles } from '../render.js';
import { renderRspamdFiles } from '../render-rspamd.js';

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

/** Where this one-shot writes (MAIL_CONFIG_DIR, RSPAMD_CONFIG_DIR): the compose file mounts the
 *  `mailconfig` and `rspamdconfig` volumes there. */
export const RENDER_DIRS = { mail: '/etc/mailpanel-rendered', rspamd: '/etc/mailpanel-rendered-rspamd' } as const;

/** Inside the rspamd container (deploy/docker/rspamd): where the rendered LOCAL_CONFDIR is mounted,
 *  and the workers' ports (all bound on 0.0.0.0: Postfix reaches the proxy as rspamd:11332). */
export const RSPAMD_CONTAINER = {
  localConfdir: '/etc/mailpanel/rspamd',
  ports: { normal: 11333, controller: 11334, proxy: 11332 },
} as const;

/** The maps rspamd's rendered configuration names (written by worker/src/email-security/rspamd-sync.ts). */
export const RSPAMD_MAP_FILES = ['settings.ucl', 'dkim_selectors.map'] as const;

const PRIVATE_NETWORKS = '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16';

function required(env: Record<string, string | undefined>, name: string): string {
  const v = env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
}

/** The renderer's settings from the environment (pure; the compose test renders with it too). */
export function settingsFromEnv(env: Record<string, string | undefined>, readerPassword: string): MailstackSettings {
  const need = (name: string) => required(env, name);
  const dbUrl = new URL(need('DATABASE_URL'));
  const milter = env.MAIL_MILTER ?? `inet:rspamd:${RSPAMD_CONTAINER.ports.proxy}`;
  const policy = env.MAIL_POLICY_SERVICE ?? 'inet:policy:10040';
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
    policyService: policy === 'none' ? '' : policy,
    flags: { logToStdout: true },
  };
}

/** rspamd's settings from the environment (pure; the compose tests render with it too). */
export function rspamdSettingsFromEnv(env: Record<string, string | undefined>): RspamdSettings {
  const need = (name: string) => required(env, name);
  const redis = env.RSPAMD_REDIS ?? 'redis:6379';
  const [redisHost, redisPort, extra] = redis.split(':');
  if (!redisHost || !redisPort || extra !== undefined) throw new Error('RSPAMD_REDIS must be host:port');
  return {
    mapsDir: need('RSPAMD_MAPS_DIR'),
    dkimDir: need('DKIM_DIR'),
    logFile: null, // the console: `docker compose logs rspamd`
    ports: { ...RSPAMD_CONTAINER.ports },
    // Only the milter listens on the network (postfix → rspamd:11332); the scanner and the controller
    // stay on loopback: Debian's controller config has the password "q1".
    proxyBindAddress: '0.0.0.0',
    redis: { host: redisHost, port: Number(redisPort) },
    dnsServer: env.RSPAMD_DNS_SERVER ?? '127.0.0.11:53',
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
  const dir = process.env.MAIL_CONFIG_DIR ?? RENDER_DIRS.mail;
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const password = await readerPassword(dir);
  const settings = settingsFromEnv(process.env, password);
  // Both renderers validate everything before the database is touched.
  const files = await renderMailstackFiles(settings);
  const rspamd = rspamdSettingsFromEnv(process.env);
  const rspamdFiles = await renderRspamdFiles(rspamd);

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

  // rspamd: LOCAL_CONFDIR (no secrets: 0644, read by rspamd's root main process and its workers).
  const rspamdDir = process.env.RSPAMD_CONFIG_DIR ?? RENDER_DIRS.rspamd;
  for (const [rel, content] of Object.entries(rspamdFiles)) {
    const abs = path.join(rspamdDir, rel);
    await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
    await writeFile(abs, content, { mode: 0o644 });
    await chmod(abs, 0o644);
  }
  // Empty maps until the worker's first sync writes them (it replaces them atomically).
  await mkdir(rspamd.mapsDir, { recursive: true, mode: 0o755 });
  for (const name of RSPAMD_MAP_FILES) {
    const abs = path.join(rspamd.mapsDir, name);
    if (!existsSync(abs)) await writeFile(abs, '', { mode: 0o644 });
  }
  console.log(`mail-config: ${Object.keys(rspamdFiles).length} rspamd files rendered into ${rspamdDir}; maps in ${rspamd.mapsDir}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    // Messages name the setting that is wrong; the role's password is never part of them.
    console.error(`mail-config: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
