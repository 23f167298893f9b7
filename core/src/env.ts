// The one environment module. Every setting the panel reads is declared here; loadConfig() reports
// every invalid variable at once instead of failing on the first. Secrets missing from the
// environment are generated once into the data folder (secrets.json, mode 0600) so a newcomer needs
// no env file, and restarts keep sessions and encrypted data readable.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(4000),
  PUBLIC_URL: z.string().url().optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ENCRYPTION_KEY: z
    .string()
    .regex(/^[0-9a-f]{64}$/i, 'must be 64 hex characters (32 bytes)')
    .optional(),
  ADMIN_EMAIL: z.string().email().optional(),
  ADMIN_PASSWORD: z.string().min(10, 'must be at least 10 characters').optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).default(900),
  /** A refresh token presented again this soon after its first use gets another successor instead of revoking the login (reloads, two tabs). */
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().min(0).max(60).default(10),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(300).default(30 * 24 * 3600),
  MAIL_ROOT: z.string().min(1).optional(),
  MAIL_UID: z.coerce.number().int().min(0).optional(),
  MAIL_GID: z.coerce.number().int().min(0).optional(),
  // The real mail stack (docs/mail-stack.md). Without DOVECOT_CONFIG the worker still writes
  // Maildirs and Sieve scripts and measures quota usage by scanning the Maildirs.
  /** dovecot.conf of the Dovecot the panel drives: enables `doveadm -c` (quota usage) and sievec. */
  DOVECOT_CONFIG: z.string().regex(/^\//, 'must be an absolute path').optional(),
  DOVEADM_PATH: z.string().regex(/^\//, 'must be an absolute path').default('/usr/bin/doveadm'),
  /** Postfix config directory of the Postfix in front of that Dovecot (postqueue/postsuper -c): a
   *  deleted mailbox's queued mail is bounced or removed before its address can be used again. */
  POSTFIX_CONFIG_DIR: z.string().regex(/^\//, 'must be an absolute path').optional(),
  /** Where postqueue, postsuper and postconf are. */
  POSTFIX_COMMAND_DIR: z.string().regex(/^\//, 'must be an absolute path').default('/usr/sbin'),
  /** Pre-compile Sieve scripts with this sievec (default /usr/bin/sievec when DOVECOT_CONFIG is set
   *  and it exists); without it Dovecot compiles a script the first time it runs it. */
  SIEVEC_PATH: z.string().regex(/^\//, 'must be an absolute path').optional(),
  /** Usage thresholds (percent of the quota) at which the owner gets one warning mail per crossing. */
  QUOTA_WARNING_PERCENTS: z
    .string()
    .default('80,95')
    .transform((v, ctx) => {
      const list = v.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
      if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 100)) {
        ctx.addIssue({ code: 'custom', message: 'a comma-separated list of whole percents, 1 to 100' });
        return z.NEVER;
      }
      return [...new Set(list)].sort((a, b) => a - b);
    }),
  /** host:port of the MTA quota warnings are handed to (the local Postfix); unset = shown in the panel only. */
  QUOTA_WARNING_SMTP: z
    .string()
    .regex(/^[a-z0-9.-]+:\d{1,5}$/i, 'must be host:port')
    .optional(),
  /** Sender of quota warnings; default postmaster@ the mailbox's own domain. */
  QUOTA_WARNING_FROM: z.string().email().optional(),
  /** When the worker refreshes every mailbox's quota usage (pg-boss cron, UTC); "off" disables. */
  QUOTA_REFRESH_CRON: z
    .string()
    .trim()
    .refine((v) => v === 'off' || /^\S+(\s+\S+){4,5}$/.test(v), 'must be a cron expression (5 or 6 fields) or "off"')
    .default('*/5 * * * *'),
  /** When the worker purges deleted mailboxes whose grace period has ended (pg-boss cron, UTC); "off" disables. */
  MAILBOX_PURGE_CRON: z
    .string()
    .trim()
    .refine((v) => v === 'off' || /^\S+(\s+\S+){4,5}$/.test(v), 'must be a cron expression (5 or 6 fields) or "off"')
    .default('*/10 * * * *'),
  /** The server's largest message in bytes: Postfix's message_size_limit (messageSizeLimit in the
   *  rendered configuration; keep both equal). A hosting package may set a lower one. */
  MESSAGE_SIZE_LIMIT_BYTES: z.coerce.number().int().min(1024).max(2 ** 31 - 1).default(26214400),
  WEBMAIL_URL: z.string().url().default('http://localhost:8888/'),
  DEFAULT_QUOTA_MB: z.coerce.number().int().min(0).default(1024),
  GRAPHIQL: bool.optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(5),
  /** Shared secret of Dovecot's auth-policy reports (POST /internal/dovecot-auth-policy): records when an app password was last used. Unset: no such endpoint. */
  DOVECOT_AUTH_POLICY_SECRET: z.string().min(24, 'at least 24 characters').optional(),
  /** Lowest zxcvbn score (0–4) a new panel or mailbox password may have; 0 turns the check off. */
  PASSWORD_MIN_SCORE: z.coerce.number().int().min(0).max(4).default(3),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).default(30),
  LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  LOGIN_MAX_CONCURRENT_HASHES: z.coerce.number().int().min(1).default(4),
  MAX_QUERY_DEPTH: z.coerce.number().int().min(2).default(12),
  MAX_QUERY_COST: z.coerce.number().int().min(100).default(50_000),
  MAX_REQUEST_BYTES: z.coerce.number().int().min(1024).default(1_000_000),
  MAX_PAGE_SIZE: z.coerce.number().int().min(1).default(200),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).default(4),
  /** Longest pause between two tries of a failed job (the exponential backoff stops growing there):
   *  once the mail stack is back after an outage, the work waiting for it resumes within this time. */
  JOB_RETRY_DELAY_MAX_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  TRUST_PROXY: bool.default(false),
  RUN_WORKER: bool.default(true),
  /** On SIGTERM, keep serving (with Connection: close, /healthz 503) this long before closing. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(1000),
  /** How often sockets opened with an API token re-check that the token may still act (revoked, expired, user disabled). */
  API_TOKEN_RECHECK_SECONDS: z.coerce.number().min(0.2).max(3600).default(30),
  /** IMAP migrations one worker runs at once (each holds two IMAP connections). */
  MIGRATION_CONCURRENCY: z.coerce.number().int().min(1).default(2),
  /** Migrations running at once from one source host, across all workers (old servers throttle); the
   *  rest wait in line (worker/src/migration/gate.ts). */
  MIGRATION_PER_HOST_CONCURRENCY: z.coerce.number().int().min(1).default(2),
  /** Migrations running at once across all workers; 0 = only each worker's MIGRATION_CONCURRENCY. */
  MIGRATION_GLOBAL_CONCURRENCY: z.coerce.number().int().min(0).default(0),
  /** Use `doveadm import` for folders whose target is empty (falls back to the native copier). Off: the
   *  native copier measured faster (docs/migration.md, "Benchmark"). */
  MIGRATION_FAST_PATH: bool.default(false),
  /** A running migration whose worker has not renewed its lease for this long is resumed elsewhere. */
  MIGRATION_LEASE_SECONDS: z.coerce.number().int().min(3).default(60),
  /** Retries of a migration after a transient failure (connection lost, timeouts) before it is FAILED. */
  MIGRATION_RETRIES: z.coerce.number().int().min(0).max(20).default(6),
  /** Pause before the first retry; each further one waits twice as long (10 s → 5 min 20 s by default). */
  MIGRATION_RETRY_DELAY_SECONDS: z.coerce.number().min(0).default(10),
  /** Tests only: the length of one minute of a keep-in-sync migration's interval, in seconds (60 = real minutes). */
  MIGRATION_SYNC_MINUTE_SECONDS: z.coerce.number().min(0.1).max(60).default(60),
  /** Allow migration sources on loopback/private addresses. Default: allowed except in production. */
  MIGRATION_ALLOW_PRIVATE_SOURCES: bool.optional(),
  // Email security (docs/email-security.md): DKIM key files and rspamd maps the worker writes, the DNS
  // check, the Postfix policy service (outbound rate limits) and the quarantine.
  /** Folder of the DKIM key files rspamd signs with (<dir>/<domain>.<selector>.key). Default <DATA_DIR>/dkim. */
  DKIM_DIR: z.string().regex(/^\//, 'must be an absolute path').optional(),
  /** Group (name or gid) given read access to the key files (mode 0640), e.g. _rspamd. */
  DKIM_KEY_GROUP: z.string().regex(/^(?:\d+|[a-z_][a-z0-9_-]{0,31})$/i, 'must be a group name or gid').optional(),
  /** Folder of the maps rspamd re-reads (settings.ucl, dkim_selectors.map). Default <DATA_DIR>/rspamd. */
  RSPAMD_MAPS_DIR: z.string().regex(/^\//, 'must be an absolute path').optional(),
  /** How often the worker re-renders the rspamd maps from the database (every change also does). */
  RSPAMD_SYNC_SECONDS: z.coerce.number().int().min(1).default(300),
  /** DNS server for checkDnsRecords, "host" or "host:port" (IPv4); default: the system resolver. */
  DNS_SERVER: z
    .string()
    .regex(/^\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?$/, 'must be an IPv4 address with an optional :port')
    .optional(),
  /** The host that sends the panel's mail, named in the recommended SPF record (a:<host>). */
  MAIL_HOSTNAME: z.string().regex(/^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/i, 'must be a host name').optional(),
  /** Address and port the Postfix policy service (npm run policy) listens on: loopback by default; 0.0.0.0 in its compose container, unpublished. */
  POLICY_HOST: z.string().min(1).default('127.0.0.1'),
  POLICY_PORT: z.coerce.number().int().min(0).max(65535).default(10040),
  /** Database transactions the policy service runs at once (each decides a batch of requests). */
  POLICY_LANES: z.coerce.number().int().min(1).max(16).default(2),
  /** How long the policy service keeps a mailbox's limits before reading them again. */
  POLICY_CACHE_SECONDS: z.coerce.number().min(0).default(10),
  /** How often the worker moves newly quarantined messages from the mailboxes into the quarantine. */
  QUARANTINE_SCAN_SECONDS: z.coerce.number().min(0.2).default(30),
  /** Quarantined messages are deleted after this many days. */
  QUARANTINE_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
});

export type Config = z.infer<typeof schema> & {
  dataDir: string;
  mailRoot: string;
  jwtSecret: Uint8Array;
  encryptionKey: Buffer;
  graphiql: boolean;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function parseEnv(source: Record<string, string | undefined>) {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return result.data;
}

function loadOrCreateSecrets(dataDir: string): { jwtSecret: string; encryptionKey: string } {
  const file = path.join(dataDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  mkdirSync(dataDir, { recursive: true });
  const secrets = { jwtSecret: randomBytes(32).toString('hex'), encryptionKey: randomBytes(32).toString('hex') };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600, flag: 'wx' });
  return secrets;
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const env = parseEnv(source);
  const dataDir = path.resolve(env.DATA_DIR);
  const generated = env.JWT_SECRET && env.ENCRYPTION_KEY ? null : loadOrCreateSecrets(dataDir);
  return {
    ...env,
    dataDir,
    mailRoot: path.resolve(env.MAIL_ROOT ?? path.join(dataDir, 'vmail')),
    jwtSecret: new TextEncoder().encode(env.JWT_SECRET ?? generated!.jwtSecret),
    encryptionKey: Buffer.from(env.ENCRYPTION_KEY ?? generated!.encryptionKey, 'hex'),
    graphiql: env.GRAPHIQL ?? env.NODE_ENV !== 'production',
  };
}

let cached: Config | undefined;
/** The process-wide configuration, read from process.env on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
