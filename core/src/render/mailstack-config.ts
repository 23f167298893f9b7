// Renders the Postfix + Dovecot configuration of the mail stack from the templates in
// deploy/templates (passed in as a map: this module does no I/O).
//
// Escaping invariants (why this file rejects instead of escaping):
// - Every value lands in one of four config languages at once: Postfix main.cf/master.cf (where
//   `$` expands, `,`/space separate list items, a leading space continues a line), Postfix pgsql
//   map files (value = rest of line), Dovecot's config (where `%`, `$`, `<`, `"` and `{`/`}` mean
//   something) and libpq's conninfo (`key=value`, space separated, quotes). No single escape is
//   right for all of them, so every value is checked against a narrow allow-list (paths, host
//   names, addresses, identifiers, passwords from a safe alphabet) and anything else throws
//   MailstackConfigError. Nothing is ever quoted or escaped here.
// - Ports and ids are integers in range; booleans only pick between fixed literals.
// - Runtime values (addresses being looked up, user names at login) never pass through here:
//   the templates leave them to Postfix's `%s` and Dovecot's `%u`, which both escape them for SQL.
// - Every `{{name}}` in a template must have a value and every rendered file must be free of
//   `{{`: an unknown placeholder is an error, never an empty string.

export class MailstackConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'MailstackConfigError';
  }
}

export interface MailstackPaths {
  /** Absolute folder the rendered files are written to; keys of the result are relative to it. */
  configDir: string;
  /** Runtime state (Dovecot base_dir and state_dir live below it). */
  runtimeDir: string;
  logDir: string;
  /** Homes are <mailRoot>/<domain>/<local_part>, Maildirs <home>/Maildir. */
  mailRoot: string;
  postfixQueueDir: string;
  postfixDataDir: string;
}

export interface MailstackPorts {
  imap: number;
  /** Dovecot LMTP (Postfix delivers here). */
  lmtp: number;
  /** Dovecot auth inet_listener that Postfix uses for SASL. */
  saslAuth: number;
  /** Inbound MX smtpd. */
  smtp: number;
  /** Submission smtpd (SASL only). */
  submission: number;
  /** Internal smtpd on internalAddress where Dovecot re-injects Sieve replies/redirects. */
  reinject: number;
  /** Relayhost port (e.g. the capture sink); null = no relayhost (direct delivery). */
  relay: number | null;
}

export interface MailstackDatabase {
  /** The database host, or several (streaming replicas, docs/scaling.md): Postfix and Dovecot spread
   *  their lookups over the list and move on to the next when one fails. */
  host: string | string[];
  port: number;
  dbname: string;
  /** The read-only role (see renderReadonlyRoleSql). */
  user: string;
  password: string;
}

export interface MailstackSettings {
  paths: MailstackPaths;
  ports: MailstackPorts;
  database: MailstackDatabase;
  vmail: { uid: number; gid: number };
  /** Host name Postfix and Dovecot announce. */
  hostname: string;
  postmasterAddress: string;
  /** IPv4 address the public services (IMAP, MX, submission) listen on. Default 127.0.0.1. */
  listenAddress?: string;
  /** IPv4 address the internal services (Dovecot LMTP and SASL, Postfix re-injection) listen on.
   *  Default 127.0.0.1. 0.0.0.0 (containers) then needs dovecotHost, postfixHost and
   *  reinjectNetworks, since "all interfaces" is not an address anyone can connect to. */
  internalAddress?: string;
  /** Host (name or IPv4) where Postfix reaches Dovecot's LMTP and SASL listeners, when they do
   *  not share one address (e.g. "dovecot" in docker-compose). Default internalAddress. */
  dovecotHost?: string;
  /** Host where Dovecot reaches Postfix's re-injection port (submission_host for Sieve replies
   *  and redirects). Default internalAddress. */
  postfixHost?: string;
  /** IPv4 networks (CIDR) allowed to relay through the re-injection port: where Dovecot connects
   *  from. Default [internalAddress/32]. */
  reinjectNetworks?: string[];
  /** Host of the relayhost (with ports.relay). Default 127.0.0.1. */
  relayHost?: string;
  /** Dovecot instance_name (log prefix, doveadm -i). Default "mailpanel". */
  instanceName?: string;
  /** Postfix milter list, e.g. "inet:127.0.0.1:11332"; empty (default) = no milter. */
  milter?: string;
  /** The panel's policy service (npm run policy), e.g. "inet:127.0.0.1:10040": outbound rate limits,
   *  checked at the end of each message on the submission port, and the hosting packages' message
   *  size limits, checked at RCPT on the MX and submission ports; empty (default) = none. */
  policyService?: string;
  /** Where Dovecot reports each login's outcome (its auth-policy reports) so the panel records when an
   *  app password was last used: the panel's http://HOST:PORT/internal/dovecot-auth-policy and its
   *  DOVECOT_AUTH_POLICY_SECRET. Unset (default) = no reports, app passwords' last use unknown. */
  authPolicy?: { url: string; secret: string };
  /** Postfix message_size_limit in bytes. Default 26214400 (25 MiB). */
  messageSizeLimit?: number;
  flags?: {
    /** Test profile: auth_failure_delay 0, no auth penalty, sieve_vacation_min_period 0, no DNS
     *  in the SMTP client. */
    testProfile?: boolean;
    /** Log to the daemons' stdout/stderr (containers) instead of files in paths.logDir. */
    logToStdout?: boolean;
  };
}

/** The templates this renderer fills, relative to deploy/templates and to paths.configDir. */
export const MAILSTACK_TEMPLATE_FILES = [
  'dovecot/dovecot.conf',
  'dovecot/dovecot-sql.conf.ext',
  'postfix/main.cf',
  'postfix/master.cf',
  'postfix/pgsql-domains.cf',
  'postfix/pgsql-mailboxes.cf',
  'postfix/pgsql-self.cf',
  'postfix/pgsql-aliases.cf',
  'postfix/pgsql-sender-login.cf',
  'postfix/pgsql-idn-canonical.cf',
  'postfix/pgsql-refused-recipients.cf',
  'postfix/pgsql-refused-aliases.cf',
  'postfix/pgsql-refused-transport.cf',
  'postfix/pgsql-refused-domains.cf',
  'postfix/pgsql-idn-command-filter.cf',
  'dovecot/sieve/spam.sieve',
] as const;
export type MailstackTemplateFile = (typeof MAILSTACK_TEMPLATE_FILES)[number];

// --- validators -----------------------------------------------------------------------------

// Absolute path, no `..` segments, from a small alphabet: no space, `$`, `%`, `,`, `"`, `'`, `=`,
// `<`, `{`, `~` or control characters (all meaningful in one of the target languages).
const PATH_RE = /^(?:\/[A-Za-z0-9._+-]+)+\/?$/;
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const EMAIL_RE = /^[A-Za-z0-9._+-]{1,64}@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
/** PostgreSQL role / database names we accept unquoted everywhere. */
const SQL_IDENT_RE = /^[a-z_][a-z0-9_]{0,62}$/;
/** Password alphabet safe in libpq conninfo, Postfix map files and Dovecot config unquoted
 *  (base64url and a few more; what we generate is hex or base64url). */
const PASSWORD_RE = /^[A-Za-z0-9._~+/-]{1,256}$/;
const INSTANCE_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const CIDR4_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(?:3[0-2]|[12]?\d)$/;
const MILTER_RE = /^(?:inet:(?:[A-Za-z0-9.-]+):\d{1,5}|unix:(?:\/[A-Za-z0-9._+-]+)+)$/;

function req<T>(field: string, v: T | undefined | null): T {
  if (v === undefined || v === null) throw new MailstackConfigError(field, 'is required');
  return v;
}

function checkString(field: string, v: unknown, re: RegExp, what: string): string {
  if (typeof v !== 'string' || !re.test(v)) {
    throw new MailstackConfigError(field, `must be ${what} (got ${JSON.stringify(v)})`);
  }
  return v;
}

export function validPath(field: string, v: unknown): string {
  const p = checkString(field, v, PATH_RE, 'an absolute path of [A-Za-z0-9._+-] segments');
  if (p.split('/').some((s) => s === '.' || s === '..')) {
    throw new MailstackConfigError(field, 'must not contain "." or ".." segments');
  }
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

function validPort(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new MailstackConfigError(field, `must be a port number 1..65535 (got ${JSON.stringify(v)})`);
  }
  return v;
}

function validId(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2147483647) {
    throw new MailstackConfigError(field, `must be a non-root numeric id (got ${JSON.stringify(v)})`);
  }
  return v;
}

function validHost(field: string, v: unknown): string {
  if (typeof v === 'string' && (IPV4_RE.test(v) || HOSTNAME_RE.test(v))) return v;
  throw new MailstackConfigError(field, `must be a host name or IPv4 address (got ${JSON.stringify(v)})`);
}

function validIpv4(field: string, v: unknown): string {
  return checkString(field, v, IPV4_RE, 'an IPv4 address');
}

export function validPassword(field: string, v: unknown): string {
  return checkString(field, v, PASSWORD_RE, '1..256 characters of [A-Za-z0-9._~+/-]');
}

export function validSqlIdentifier(field: string, v: unknown): string {
  return checkString(field, v, SQL_IDENT_RE, 'a lower-case SQL identifier [a-z_][a-z0-9_]* (max 63)');
}

// --- rendering ------------------------------------------------------------------------------

/** Every template variable, validated. Exposed for tests and for tools that need a value. */
export function mailstackTemplateVars(settings: MailstackSettings): Record<string, string> {
  const s = settings;
  const paths = req('paths', s.paths);
  const ports = req('ports', s.ports);
  const db = req('database', s.database);
  const vmail = req('vmail', s.vmail);
  const test = s.flags?.testProfile === true;

  const configDir = validPath('paths.configDir', paths.configDir);
  const runtimeDir = validPath('paths.runtimeDir', paths.runtimeDir);
  const logDir = validPath('paths.logDir', paths.logDir);
  const mailRoot = validPath('paths.mailRoot', paths.mailRoot);
  const queueDir = validPath('paths.postfixQueueDir', paths.postfixQueueDir);
  const dataDir = validPath('paths.postfixDataDir', paths.postfixDataDir);

  const portFields = ['imap', 'lmtp', 'saslAuth', 'smtp', 'submission', 'reinject'] as const;
  const portVals: Record<string, number> = {};
  for (const k of portFields) portVals[k] = validPort(`ports.${k}`, ports[k]);
  const relayPort = ports.relay === null || ports.relay === undefined ? null : validPort('ports.relay', ports.relay);

  const listenAddress = validIpv4('listenAddress', s.listenAddress ?? '127.0.0.1');
  const internalAddress = validIpv4('internalAddress', s.internalAddress ?? '127.0.0.1');
  const internalIsAny = internalAddress === '0.0.0.0';
  const peerHost = (field: 'dovecotHost' | 'postfixHost') => {
    const v = s[field];
    if (v === undefined || v === null) {
      if (internalIsAny) throw new MailstackConfigError(field, 'is required when internalAddress is 0.0.0.0');
      return internalAddress;
    }
    if (v === '0.0.0.0') throw new MailstackConfigError(field, 'must be an address to connect to, not 0.0.0.0');
    return validHost(field, v);
  };
  const dovecotHost = peerHost('dovecotHost');
  const postfixHost = peerHost('postfixHost');
  let reinjectNetworks: string[];
  if (s.reinjectNetworks === undefined || s.reinjectNetworks === null) {
    if (internalIsAny) throw new MailstackConfigError('reinjectNetworks', 'is required when internalAddress is 0.0.0.0');
    reinjectNetworks = [`${internalAddress}/32`];
  } else {
    if (!Array.isArray(s.reinjectNetworks) || s.reinjectNetworks.length === 0 || s.reinjectNetworks.length > 32) {
      throw new MailstackConfigError('reinjectNetworks', 'must be a list of 1..32 IPv4 networks');
    }
    reinjectNetworks = s.reinjectNetworks.map((n, i) => checkString(`reinjectNetworks[${i}]`, n, CIDR4_RE, 'an IPv4 network a.b.c.d/len'));
  }
  const logToStdout = s.flags?.logToStdout === true;
  // All ports must differ (a clash would only show later as a confusing bind failure or loop).
  const seen = new Map<number, string>();
  for (const [name, port] of [...Object.entries(portVals), ['relay', relayPort] as const]) {
    if (port === null) continue;
    const prev = seen.get(port);
    if (prev !== undefined) throw new MailstackConfigError(`ports.${name}`, `port ${port} is also ports.${prev}`);
    seen.set(port, name);
  }

  const relayHost = validHost('relayHost', s.relayHost ?? '127.0.0.1');
  const dbHostList = Array.isArray(db.host) ? db.host : [db.host];
  if (dbHostList.length < 1 || dbHostList.length > 8) throw new MailstackConfigError('database.host', `must be a host or a list of 1 to 8 hosts (got ${dbHostList.length})`);
  const dbHostsChecked = dbHostList.map((h, i) => validHost(Array.isArray(db.host) ? `database.host[${i}]` : 'database.host', h));
  const dbPort = validPort('database.port', db.port);
  const dbName = checkString('database.dbname', db.dbname, /^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/, 'a database name of [A-Za-z0-9_-]');
  const dbUser = validSqlIdentifier('database.user', db.user);
  const dbPassword = validPassword('database.password', db.password);

  const uid = validId('vmail.uid', vmail.uid);
  const gid = validId('vmail.gid', vmail.gid);
  const hostname = checkString('hostname', s.hostname, HOSTNAME_RE, 'a host name');
  const postmaster = checkString('postmasterAddress', s.postmasterAddress, EMAIL_RE, 'an e-mail address');
  const instanceName = checkString('instanceName', s.instanceName ?? 'mailpanel', INSTANCE_RE, 'an instance name [a-z0-9-]');
  const milter = s.milter ?? '';
  if (milter !== '') checkString('milter', milter, MILTER_RE, 'empty, inet:HOST:PORT or unix:/PATH');
  const policyService = s.policyService ?? '';
  if (policyService !== '') checkString('policyService', policyService, /^inet:[A-Za-z0-9.-]+:\d{1,5}$/, 'empty or inet:HOST:PORT');
  const authPolicy = s.authPolicy;
  if (authPolicy) {
    checkString('authPolicy.url', authPolicy.url, /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/[A-Za-z0-9/_.-]*$/, 'an http(s) URL of host, port and path');
    checkString('authPolicy.secret', authPolicy.secret, /^[A-Za-z0-9_-]{24,128}$/, '24–128 characters of [A-Za-z0-9_-]');
  }
  const sizeLimit = s.messageSizeLimit ?? 26214400;
  if (!Number.isInteger(sizeLimit) || sizeLimit < 1024 || sizeLimit > 2 ** 31 - 1) {
    throw new MailstackConfigError('messageSizeLimit', 'must be an integer number of bytes >= 1024');
  }

  return {
    instanceName,
    hostname,
    postmasterAddress: postmaster,
    listenAddress,
    internalAddress,
    dovecotHost,
    postfixHost,
    reinjectNetworks: reinjectNetworks.join(','),
    // 0.0.0.0 is not an interface address for Postfix: that is "all".
    inetInterfaces: listenAddress === '0.0.0.0' || internalIsAny ? 'all' : [...new Set([listenAddress, internalAddress])].join(', '),
    // master.cf service names: "ADDRESS:PORT", or just "PORT" (every inet_interfaces address) for 0.0.0.0.
    smtpService: masterService(listenAddress, portVals.smtp!),
    submissionService: masterService(listenAddress, portVals.submission!),
    reinjectService: masterService(internalAddress, portVals.reinject!),
    imapPort: String(portVals.imap),
    lmtpPort: String(portVals.lmtp),
    saslPort: String(portVals.saslAuth),
    smtpPort: String(portVals.smtp),
    submissionPort: String(portVals.submission),
    reinjectPort: String(portVals.reinject),
    relayhost: relayPort === null ? '' : `[${relayHost}]:${relayPort}`,
    smtpDnsSupportLevel: test ? 'disabled' : '',
    smtpHostLookup: test ? 'native' : 'dns',
    messageSizeLimit: String(sizeLimit),
    milter,
    authPolicyUrl: authPolicy?.url ?? '',
    authPolicyHeader: authPolicy ? `Authorization: Bearer ${authPolicy.secret}` : '',
    // Dovecot requires a nonce with a policy server; it salts the password hashes a policy request may
    // carry, and ours carries none, so the (secret) secret serves.
    authPolicyNonce: authPolicy?.secret ?? '',
    // master.cf -o values cannot hold spaces: Postfix also splits restriction lists at commas.
    policyRestriction: policyService === '' ? '' : `check_policy_service,${policyService}`,
    // main.cf only (spaces allowed); master.cf refers to it as $panel_message_size_check.
    policySizeRestriction: policyService === '' ? '' : `check_policy_service { ${policyService}, default_action=DUNNO }`,
    configDir,
    postfixConfigDir: `${configDir}/postfix`,
    postfixQueueDir: queueDir,
    postfixDataDir: dataDir,
    logDir,
    postfixLog: logToStdout ? '/dev/stdout' : `${logDir}/postfix.log`,
    dovecotLog: logToStdout ? '/dev/stderr' : `${logDir}/dovecot.log`,
    dovecotBaseDir: `${runtimeDir}/dovecot`,
    dovecotStateDir: `${runtimeDir}/dovecot-state`,
    dovecotSqlConf: `${configDir}/dovecot/dovecot-sql.conf.ext`,
    mailRoot,
    vmailUid: String(uid),
    vmailGid: String(gid),
    authFailureDelay: test ? '0' : '2 secs',
    authPenaltySocketMode: test ? '0' : '0600',
    sieveVacationMinPeriod: test ? '0' : '1d',
    dbPort: String(dbPort),
    // Postfix's `hosts =` and Dovecot's `connect = host=… host=…`: each tries the others when one fails.
    dbHosts: dbHostsChecked.map((h) => `inet:${h}:${dbPort}`).join(' '),
    dbConnectHosts: dbHostsChecked.map((h) => `host=${h}`).join(' '),
    dbName,
    dbUser,
    dbPassword,
  };
}

function masterService(address: string, port: number): string {
  return address === '0.0.0.0' ? String(port) : `${address}:${port}`;
}

const PLACEHOLDER_RE = /\{\{([A-Za-z0-9_]+)\}\}/g;

/** Fills one template. Unknown placeholders throw; so does a leftover `{{`. */
export function fillTemplate(name: string, template: string, vars: Record<string, string>): string {
  const out = template.replace(PLACEHOLDER_RE, (_m, key: string) => {
    if (!Object.prototype.hasOwnProperty.call(vars, key)) {
      throw new MailstackConfigError(`template ${name}`, `unknown placeholder {{${key}}}`);
    }
    return vars[key]!;
  });
  if (out.includes('{{')) throw new MailstackConfigError(`template ${name}`, 'malformed placeholder');
  return out;
}

/**
 * Renders every template. `templates` maps a path relative to deploy/templates (see
 * MAILSTACK_TEMPLATE_FILES) to its text; the result maps the same relative paths to the file
 * contents to write below settings.paths.configDir.
 */
export function renderMailstackConfig(
  settings: MailstackSettings,
  templates: Readonly<Record<string, string>>,
): Record<MailstackTemplateFile, string> {
  const vars = mailstackTemplateVars(settings);
  const out = {} as Record<MailstackTemplateFile, string>;
  for (const file of MAILSTACK_TEMPLATE_FILES) {
    const t = templates[file];
    if (typeof t !== 'string') throw new MailstackConfigError(`template ${file}`, 'is missing');
    out[file] = fillTemplate(file, t, vars);
  }
  return out;
}

// --- read-only database role -----------------------------------------------------------------

/** The views Postfix and Dovecot read; the read-only role may SELECT these and nothing else. */
export const MAIL_VIEWS = ['mail_domains', 'mail_users', 'mail_aliases', 'mail_refused', 'mail_app_passwords', 'mail_alias_domains'] as const;

/** "ident" with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new MailstackConfigError('identifier', 'must be non-empty and without NUL');
  return `"${name.replace(/"/g, '""')}"`;
}

/** E'literal': correct whatever standard_conforming_strings says. */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new MailstackConfigError('literal', 'must not contain NUL');
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * SQL (several statements, run as a superuser or the views' owner in the mail database) that
 * creates or updates `role` as a LOGIN role with `password`, read-only by default, allowed to
 * SELECT the mail views (MAIL_VIEWS) only. Idempotent. The role name must be a plain lower-case
 * identifier (it also lands in the config files); the password is quoted as a literal, but use
 * one that validPassword accepts if it goes into renderMailstackConfig.
 */
export function renderReadonlyRoleSql(role: string, password: string): string {
  validSqlIdentifier('role', role);
  if (typeof password !== 'string' || password.length === 0) {
    throw new MailstackConfigError('password', 'must be a non-empty string');
  }
  const id = quoteIdent(role);
  const lit = quoteLiteral(password);
  const roleLit = quoteLiteral(role);
  // The DO body only interpolates roleLit/id, which are validated identifiers, so the fixed
  // dollar-quote tag cannot be closed early.
  return [
    `DO $mailpanel_role$ BEGIN`,
    `  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${roleLit}) THEN`,
    `    CREATE ROLE ${id} LOGIN;`,
    `  END IF;`,
    `END $mailpanel_role$;`,
    `ALTER ROLE ${id} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS PASSWORD ${lit};`,
    `ALTER ROLE ${id} SET default_transaction_read_only = on;`,
    `GRANT USAGE ON SCHEMA public TO ${id};`,
    `GRANT SELECT ON ${MAIL_VIEWS.map((v) => `public.${v}`).join(', ')} TO ${id};`,
    '',
  ].join('\n');
}
