// Pure tests of the Postfix/Dovecot config renderer against the real templates in
// deploy/templates (read from disk; no daemons). The daemons' acceptance of the output is checked
// by the mail-stack suite (e2e/mailstack).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import {
  MAILSTACK_TEMPLATE_FILES,
  MailstackConfigError,
  fillTemplate,
  mailstackTemplateVars,
  quoteIdent,
  quoteLiteral,
  renderMailstackConfig,
  renderReadonlyRoleSql,
  type MailstackSettings,
} from './mailstack-config.js';

const templatesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/templates');
const templates: Record<string, string> = Object.fromEntries(
  MAILSTACK_TEMPLATE_FILES.map((f) => [f, readFileSync(path.join(templatesDir, f), 'utf8')]),
);

const settings: MailstackSettings = {
  paths: {
    configDir: '/srv/mail/etc',
    runtimeDir: '/srv/mail/run',
    logDir: '/srv/mail/log',
    mailRoot: '/srv/mail/vmail',
    postfixQueueDir: '/srv/mail/postfix/spool',
    postfixDataDir: '/srv/mail/postfix/data',
  },
  ports: { imap: 10143, lmtp: 10024, saslAuth: 10030, smtp: 10025, submission: 10587, reinject: 10026, relay: 2525 },
  database: { host: '127.0.0.1', port: 5433, dbname: 'mail', user: 'mail_reader', password: 'Zk3-_x.~+/9' },
  vmail: { uid: 5000, gid: 5000 },
  hostname: 'mx.example.test',
  postmasterAddress: 'postmaster@example.test',
};

function render(over: Partial<MailstackSettings> = {}) {
  return renderMailstackConfig({ ...settings, ...over }, templates);
}

function configError(fn: () => unknown): MailstackConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof MailstackConfigError) return e;
    throw e;
  }
  throw new Error('expected a MailstackConfigError');
}

/** `key = value` lines of a Postfix/Dovecot-style flat file (continuation lines ignored). */
function kv(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const r = /^([a-z_]+) = ?(.*)$/.exec(line);
    if (r) m.set(r[1]!, r[2]!);
  }
  return m;
}

describe('renderMailstackConfig', () => {
  it('renders every template with no placeholder left', () => {
    const out = render();
    expect(Object.keys(out).sort()).toEqual([...MAILSTACK_TEMPLATE_FILES].sort());
    for (const [file, text] of Object.entries(out)) {
      expect(text, file).not.toContain('{{');
      expect(text, file).not.toContain('}}');
      expect(text.length, file).toBeGreaterThan(100);
    }
  });

  it('wires Postfix to the views, Dovecot LMTP and Dovecot SASL', () => {
    const main = kv(render()['postfix/main.cf']);
    // a disabled domain stays ours (refused, never relayed; its class never changes on enable/disable)
    expect(main.get('virtual_mailbox_domains')).toBe('proxy:pgsql:/srv/mail/etc/postfix/pgsql-domains.cf, proxy:pgsql:/srv/mail/etc/postfix/pgsql-refused-domains.cf');
    expect(main.get('virtual_mailbox_maps')).toBe('proxy:pgsql:/srv/mail/etc/postfix/pgsql-mailboxes.cf');
    // refused addresses end expansion first; then self-mapping before aliases: a catch-all must
    // never swallow an existing mailbox, nor a disabled one
    expect(main.get('virtual_alias_maps')).toBe(
      'proxy:pgsql:/srv/mail/etc/postfix/pgsql-refused-aliases.cf, proxy:pgsql:/srv/mail/etc/postfix/pgsql-self.cf, proxy:pgsql:/srv/mail/etc/postfix/pgsql-aliases.cf',
    );
    expect(main.get('transport_maps')).toBe('inline:{ {forward-loop.invalid = error:5.4.6 mail forwarding loop} }, proxy:pgsql:/srv/mail/etc/postfix/pgsql-refused-transport.cf');
    // the refusal comes first in the restrictions Postfix evaluates first
    expect(main.get('panel_refused_recipients')).toBe('check_recipient_access proxy:pgsql:/srv/mail/etc/postfix/pgsql-refused-recipients.cf');
    expect(main.get('smtpd_relay_restrictions')).toMatch(/^\$panel_refused_recipients, /);
    expect(main.get('virtual_transport')).toBe('lmtp:inet:127.0.0.1:10024');
    expect(main.get('smtpd_sasl_type')).toBe('dovecot');
    expect(main.get('smtpd_sasl_path')).toBe('inet:127.0.0.1:10030');
    expect(main.get('smtpd_sender_login_maps')).toBe('proxy:pgsql:/srv/mail/etc/postfix/pgsql-sender-login.cf');
    // IDN: envelopes rewritten from the U-label to the A-label; SMTPUTF8 off in cleanup only (Dovecot 2.3 LMTP).
    expect(main.get('canonical_maps')).toBe('proxy:pgsql:/srv/mail/etc/postfix/pgsql-idn-canonical.cf');
    // The same rewrite in smtpd, so the rspamd milter sees the A-label (docs/mail-stack.md, IDN).
    expect(main.get('smtpd_command_filter')).toBe('proxy:pgsql:/srv/mail/etc/postfix/pgsql-idn-command-filter.cf');
    expect(main.get('canonical_classes')).toBe('envelope_sender, envelope_recipient');
    expect(render()['postfix/main.cf']).toContain('\nsmtputf8_enable = ${ {$process_name} == {cleanup} ? {no} : {yes} }\n');
    expect(main.get('relayhost')).toBe('[127.0.0.1]:2525');
    expect(main.get('queue_directory')).toBe('/srv/mail/postfix/spool');
    expect(main.get('data_directory')).toBe('/srv/mail/postfix/data');
    expect(main.get('maillog_file')).toBe('/srv/mail/log/postfix.log');
    expect(main.get('mynetworks')).toBe('');
  });

  it('defines MX, submission and re-injection ports; submission needs SASL and an own sender', () => {
    const master = render()['postfix/master.cf'];
    expect(master).toMatch(/^127\.0\.0\.1:10025 inet n - n - - smtpd\n {2}-o syslog_name=postfix\/mx\n {2}-o smtpd_sasl_auth_enable=no$/m);
    const sub = /^127\.0\.0\.1:10587 inet .*\n((?: {2}-o .*\n)+)/m.exec(master);
    expect(sub).not.toBeNull();
    const opts = sub![1]!;
    expect(opts).toContain('-o smtpd_sasl_auth_enable=yes');
    expect(opts).toContain('-o smtpd_recipient_restrictions=$panel_message_size_check,permit_sasl_authenticated,reject');
    expect(opts).toContain('-o smtpd_relay_restrictions=$panel_refused_recipients,permit_sasl_authenticated,reject');
    expect(opts).toContain('-o smtpd_sender_restrictions=reject_sender_login_mismatch');
    expect(master).toMatch(/^127\.0\.0\.1:10026 inet n - n - - smtpd\n(?: {2}-o .*\n)* {2}-o mynetworks=127\.0\.0\.1\/32$/m);
    // nothing chrooted (the maps and Dovecot sockets are reached from outside any chroot)
    for (const line of master.split('\n').filter((l) => /^\S/.test(l) && !l.startsWith('#'))) {
      expect(line.split(/\s+/)[4], line).toBe('n');
    }
  });

  it('queries the views only, with self-mapping and catch-all as specified', () => {
    const out = render();
    const q = (f: string) => kv(out[f as keyof typeof out]).get('query');
    // Either form of an internationalised domain (the U-label arrives from Postfix's LATIN1-declared connection).
    const utf8 = (p: string) => `convert_from(convert_to('%${p}', 'LATIN1'), 'UTF8')`;
    expect(q('postfix/pgsql-domains.cf')).toBe(`SELECT 1 FROM mail_domains WHERE domain = '%s' OR domain_unicode = ${utf8('s')}`);
    expect(q('postfix/pgsql-mailboxes.cf')).toContain(`FROM mail_users WHERE local_part = '%u' AND (domain = '%d' OR domain_unicode = ${utf8('d')})`);
    expect(q('postfix/pgsql-self.cf')).toMatch(/^SELECT email FROM mail_users WHERE email = '%s'/);
    // mail_alias_lookup reads mail_aliases and mail_users only (migration 20261203010000_forward_loops).
    expect(q('postfix/pgsql-aliases.cf')).toBe("SELECT mail_alias_lookup('%s')");
    expect(q('postfix/pgsql-sender-login.cf')).toBe(
      `SELECT email FROM mail_users WHERE local_part = '%u' AND (domain = '%d' OR domain_unicode = ${utf8('d')} OR domain = (SELECT target FROM mail_alias_domains WHERE alias = '%d' OR alias_unicode = ${utf8('d')}))`,
    );
    expect(q('postfix/pgsql-idn-canonical.cf')).toMatch(/^SELECT '%u@' \|\| d\.domain FROM mail_domains d WHERE d\.domain_unicode = /);
    expect(q('postfix/pgsql-refused-recipients.cf')).toBe(`SELECT '550 5.2.1 Mailbox disabled' FROM mail_refused WHERE key IN ('%s', '%d') OR (domain_unicode = ${utf8('d')} AND (local_part IS NULL OR local_part = '%u')) LIMIT 1`);
    expect(q('postfix/pgsql-refused-aliases.cf')).toBe("SELECT '%u@%d' FROM mail_refused WHERE key = '%s' OR key = '%d'");
    expect(q('postfix/pgsql-refused-domains.cf')).toBe(`SELECT 1 FROM mail_refused WHERE local_part IS NULL AND (key = '%s' OR domain_unicode = ${utf8('s')}) LIMIT 1`);
    expect(q('postfix/pgsql-refused-transport.cf')).toBe("SELECT 'error:5.2.1 Mailbox disabled' FROM mail_refused WHERE key = '%s'");
    expect(q('postfix/pgsql-idn-command-filter.cf')).toContain(`JOIN mail_domains d ON d.domain_unicode = lower(k.m[3]) AND d.domain <> d.domain_unicode`);
    for (const f of MAILSTACK_TEMPLATE_FILES.filter((f) => f.includes('pgsql-'))) {
      const m = kv(out[f]);
      expect(m.get('hosts'), f).toBe('inet:127.0.0.1:5433');
      expect(m.get('user'), f).toBe('mail_reader');
      expect(m.get('password'), f).toBe('Zk3-_x.~+/9');
      expect(m.get('dbname'), f).toBe('mail');
      expect(m.get('query'), f).not.toMatch(/\b(mailboxes|domains|forwards)\b/);
    }
  });

  it("reports logins to the panel's auth-policy endpoint only when configured, never asking before or after", () => {
    const off = kv(render()['dovecot/dovecot.conf']);
    expect(off.get('auth_policy_server_url')).toBe('');
    const on = kv(render({ authPolicy: { url: 'http://127.0.0.1:4000/internal/dovecot-auth-policy', secret: 'a'.repeat(32) } })['dovecot/dovecot.conf']);
    expect(on.get('auth_policy_server_url')).toBe('http://127.0.0.1:4000/internal/dovecot-auth-policy');
    expect(on.get('auth_policy_server_api_header')).toBe(`Authorization: Bearer ${'a'.repeat(32)}`);
    expect(on.get('auth_policy_check_before_auth')).toBe('no');
    expect(on.get('auth_policy_check_after_auth')).toBe('no');
    expect(on.get('auth_policy_report_after_auth')).toBe('yes');
    expect(on.get('auth_policy_request_attributes')).toContain('app=%{passdb:app_password}');
    // Nothing from the settings can add a line of its own.
    expect(() => render({ authPolicy: { url: 'http://x/\nauth_policy_check_before_auth = yes', secret: 'a'.repeat(32) } })).toThrow(MailstackConfigError);
    expect(() => render({ authPolicy: { url: 'http://127.0.0.1:4000/p', secret: 'short' } })).toThrow(MailstackConfigError);
  });

  it('renders the Dovecot SQL conf with the read-only role and the mail root', () => {
    const sql = kv(render()['dovecot/dovecot-sql.conf.ext']);
    expect(sql.get('connect')).toBe('host=127.0.0.1 port=5433 dbname=mail user=mail_reader password=Zk3-_x.~+/9');
    // Either form of the address logs in; the answer is always the stored (A-label) user.
    const either = "WHERE local_part = '%n' AND (domain = '%d' OR domain_unicode = '%d')";
    // One row: a matching app password for this service first, else the mailbox's own unless it is panel-only.
    const pq = sql.get('password_query')!;
    expect(pq).toMatch(/^SELECT usr AS user, password, app_password FROM \(SELECT email AS usr, password, app_password_id::text AS app_password, 0 AS pick FROM mail_app_passwords /);
    expect(pq).toContain(`FROM mail_app_passwords ${either} AND lookup_hash = encode(sha256(convert_to('%w', 'UTF8')), 'hex') AND '%s' = ANY(services)`);
    expect(pq).toContain(`FROM mail_users ${either} AND NOT (app_passwords_only AND '%s' IN ('imap', 'pop3', 'smtp', 'sieve'))`);
    expect(pq).toMatch(/ORDER BY pick LIMIT 1$/);
    expect(sql.get('user_query')).toContain("SELECT email AS user, '/srv/mail/vmail/' || domain || '/' || local_part AS home, 5000 AS uid, 5000 AS gid");
    expect(sql.get('user_query')).toContain(either);
    // quota_mb 0 = unlimited: NULL quota_rule, and no global default rule in dovecot.conf
    expect(sql.get('user_query')).toContain("CASE WHEN quota_mb > 0 THEN '*:storage=' || quota_mb || 'M' END AS quota_rule");
    expect(render()['dovecot/dovecot.conf']).not.toMatch(/^\s*quota_rule\s*=/m);
  });

  it('renders the Dovecot listeners, quota and sieve settings', () => {
    const conf = render()['dovecot/dovecot.conf'];
    expect(conf).toMatch(/inet_listener imap \{\n\s+address = 127\.0\.0\.1\n\s+port = 10143\n/);
    expect(conf).toMatch(/inet_listener lmtp \{\n\s+address = 127\.0\.0\.1\n\s+port = 10024\n/);
    expect(conf).toMatch(/service auth \{\n(?:\s*#.*\n)*\s+inet_listener auth-client \{\n\s+address = 127\.0\.0\.1\n\s+port = 10030\n/);
    expect(conf).toContain('args = /srv/mail/etc/dovecot/dovecot-sql.conf.ext');
    expect(conf).toContain('submission_host = 127.0.0.1:10026');
    expect(conf).toContain('quota = count:User quota');
    expect(conf).toContain('quota_vsizes = yes');
    expect(conf).toContain('auth_cache_size = 0');
    expect(conf).toMatch(/protocol lmtp \{\n\s+mail_plugins = \$mail_plugins sieve\n/);
    expect(conf).toMatch(/protocol imap \{\n\s+mail_plugins = \$mail_plugins imap_quota\n/);
    expect(conf).toContain('sieve = file:~/sieve;active=~/.dovecot.sieve');
    expect(conf).toContain('base_dir = /srv/mail/run/dovecot\n');
    expect(conf).toContain('mail_uid = 5000\n');
  });

  it('switches the test profile and the milter by flags only', () => {
    const prod = render();
    const test = render({ flags: { testProfile: true }, milter: 'inet:127.0.0.1:11332' });
    expect(kv(prod['dovecot/dovecot.conf']).get('auth_failure_delay')).toBe('2 secs');
    expect(kv(test['dovecot/dovecot.conf']).get('auth_failure_delay')).toBe('0');
    // auth penalty (per-IP delays after failures) off only in the test profile
    expect(prod['dovecot/dovecot.conf']).toMatch(/unix_listener anvil-auth-penalty \{\n\s+mode = 0600\n/);
    expect(test['dovecot/dovecot.conf']).toMatch(/unix_listener anvil-auth-penalty \{\n\s+mode = 0\n/);
    expect(prod['dovecot/dovecot.conf']).toContain('sieve_vacation_min_period = 1d');
    expect(test['dovecot/dovecot.conf']).toContain('sieve_vacation_min_period = 0');
    expect(kv(prod['postfix/main.cf']).get('smtpd_milters')).toBe('');
    expect(kv(test['postfix/main.cf']).get('smtpd_milters')).toBe('inet:127.0.0.1:11332');
    expect(kv(test['postfix/main.cf']).get('smtp_dns_support_level')).toBe('disabled');
    expect(kv(render({ ports: { ...settings.ports, relay: null } })['postfix/main.cf']).get('relayhost')).toBe('');
  });

  it.each([
    ['password with a space', { database: { ...settings.database, password: 'a b' } }, 'database.password'],
    ['password with a quote', { database: { ...settings.database, password: "a'b" } }, 'database.password'],
    ['password with a double quote', { database: { ...settings.database, password: 'a"b' } }, 'database.password'],
    ['password with a newline', { database: { ...settings.database, password: 'a\nquery = DROP' } }, 'database.password'],
    ['password with $', { database: { ...settings.database, password: 'a$b' } }, 'database.password'],
    ['password with %', { database: { ...settings.database, password: 'a%u' } }, 'database.password'],
    ['empty password', { database: { ...settings.database, password: '' } }, 'database.password'],
    ['role with upper case / quotes', { database: { ...settings.database, user: 'Mail"x' } }, 'database.user'],
    ['db name with space', { database: { ...settings.database, dbname: 'a b' } }, 'database.dbname'],
    ['db host with newline', { database: { ...settings.database, host: 'h\nx' } }, 'database.host'],
    ['db port out of range', { database: { ...settings.database, port: 70000 } }, 'database.port'],
    ['relative path', { paths: { ...settings.paths, mailRoot: 'vmail' } }, 'paths.mailRoot'],
    ['path with space', { paths: { ...settings.paths, logDir: '/srv/my logs' } }, 'paths.logDir'],
    ['path with newline', { paths: { ...settings.paths, configDir: '/srv/x\nmydestination = evil' } }, 'paths.configDir'],
    ['path with ..', { paths: { ...settings.paths, runtimeDir: '/srv/../etc' } }, 'paths.runtimeDir'],
    ['path with $', { paths: { ...settings.paths, postfixQueueDir: '/srv/$queue' } }, 'paths.postfixQueueDir'],
    ['path with %', { paths: { ...settings.paths, mailRoot: '/srv/%d' } }, 'paths.mailRoot'],
    ['hostname with space', { hostname: 'mx example' }, 'hostname'],
    ['hostname with newline', { hostname: 'mx\nrelayhost = evil' }, 'hostname'],
    ['postmaster without @', { postmasterAddress: 'postmaster' }, 'postmasterAddress'],
    ['uid 0', { vmail: { uid: 0, gid: 5000 } }, 'vmail.uid'],
    ['fractional gid', { vmail: { uid: 5000, gid: 1.5 } }, 'vmail.gid'],
    ['port 0', { ports: { ...settings.ports, imap: 0 } }, 'ports.imap'],
    ['duplicate port', { ports: { ...settings.ports, submission: 10143 } }, 'ports.submission'],
    ['relay port = MX port', { ports: { ...settings.ports, relay: 10025 } }, 'ports.relay'],
    ['milter with newline', { milter: 'inet:127.0.0.1:11332\nrelayhost = x' }, 'milter'],
    ['milter with list syntax', { milter: 'inet:127.0.0.1:1, inet:10.0.0.1:2' }, 'milter'],
    ['listen address not IPv4', { listenAddress: '0.0.0.0 ::' }, 'listenAddress'],
    ['instance name with space', { instanceName: 'a b' }, 'instanceName'],
  ] as const)('rejects %s', (_name, over, field) => {
    const e = configError(() => render(over as Partial<MailstackSettings>));
    expect(e.field).toBe(field);
  });

  it('rejects an unknown placeholder and a missing template', () => {
    expect(configError(() => fillTemplate('x', 'a = {{nope}}', { a: '1' })).message).toContain('{{nope}}');
    expect(configError(() => fillTemplate('x', 'a = {{ bad }}', {})).message).toContain('malformed');
    const partial = { ...templates };
    delete partial['postfix/pgsql-self.cf'];
    expect(configError(() => renderMailstackConfig(settings, partial)).field).toBe('template postfix/pgsql-self.cf');
  });

  it('exposes the validated variables', () => {
    const v = mailstackTemplateVars(settings);
    expect(v.dbHosts).toBe('inet:127.0.0.1:5433');
    expect(v.inetInterfaces).toBe('127.0.0.1');
    expect(mailstackTemplateVars({ ...settings, listenAddress: '10.0.0.5' }).inetInterfaces).toBe('10.0.0.5, 127.0.0.1');
    expect(mailstackTemplateVars({ ...settings, listenAddress: '0.0.0.0' }).inetInterfaces).toBe('all');
  });

  it('reads the mail views from several replicas: every Postfix map and Dovecot list them all', () => {
    const out = render({ database: { ...settings.database, host: ['replica-1.internal', '10.0.0.7'], port: 5432 } });
    const maps = Object.keys(out).filter((f) => /^postfix\/pgsql-.*\.cf$/.test(f));
    expect(maps.length).toBeGreaterThan(5);
    for (const f of maps) expect(kv(out[f as keyof typeof out]).get('hosts'), f).toBe('inet:replica-1.internal:5432 inet:10.0.0.7:5432');
    expect(kv(out['dovecot/dovecot-sql.conf.ext']!).get('connect')).toMatch(/^host=replica-1\.internal host=10\.0\.0\.7 port=5432 dbname=/);
    // One host, as a string or a list of one, renders as before.
    expect(render({ database: { ...settings.database, host: ['127.0.0.1'] } })).toEqual(render());
    // Each host is checked where it stands; an empty list or more than 8 is refused.
    expect(configError(() => render({ database: { ...settings.database, host: ['ok.internal', 'bad\nhost'] } })).field).toBe('database.host[1]');
    expect(configError(() => render({ database: { ...settings.database, host: [] } })).field).toBe('database.host');
    expect(configError(() => render({ database: { ...settings.database, host: Array.from({ length: 9 }, (_, i) => `r${i}.internal`) } })).field).toBe('database.host');
  });
});

describe('the operator example deploy/settings.example.json (docs/mail-stack.md)', () => {
  const example = JSON.parse(readFileSync(path.join(templatesDir, '..', 'settings.example.json'), 'utf8')) as MailstackSettings;

  it('renders, into the Debian default locations the stock systemd units use', () => {
    const out = renderMailstackConfig(example, templates);
    const main = kv(out['postfix/main.cf']);
    expect(main.get('config_directory')).toBe('/etc/postfix');
    expect(main.get('queue_directory')).toBe('/var/spool/postfix');
    expect(main.get('inet_interfaces')).toBe('all');
    expect(main.get('virtual_transport')).toBe('lmtp:inet:127.0.0.1:24');
    expect(kv(out['dovecot/dovecot.conf']).get('base_dir')).toBe('/run/dovecot');
    expect(out['dovecot/dovecot.conf']).toContain('args = /etc/dovecot/dovecot-sql.conf.ext');
    // public services on every interface, internal ones on loopback only
    expect(out['postfix/master.cf']).toMatch(/^25 inet /m);
    expect(out['postfix/master.cf']).toMatch(/^127\.0\.0\.1:10025 inet /m);
    expect(out['dovecot/dovecot.conf']).toMatch(/inet_listener lmtp \{\n\s+address = 127\.0\.0\.1\n/);
  });
});

describe('renderMailstackConfig: Postfix and Dovecot on separate hosts (containers)', () => {
  const containers: Partial<MailstackSettings> = {
    listenAddress: '0.0.0.0',
    internalAddress: '0.0.0.0',
    dovecotHost: 'dovecot',
    postfixHost: 'postfix',
    reinjectNetworks: ['172.16.0.0/12', '10.0.0.0/8'],
    database: { ...settings.database, host: 'postgres', port: 5432 },
    flags: { logToStdout: true },
  };

  it('keeps the one-address defaults: loopback everywhere, files for logs', () => {
    const out = render();
    const main = kv(out['postfix/main.cf']);
    expect(main.get('virtual_transport')).toBe('lmtp:inet:127.0.0.1:10024');
    expect(main.get('smtpd_sasl_path')).toBe('inet:127.0.0.1:10030');
    expect(main.get('maillog_file')).toBe('/srv/mail/log/postfix.log');
    expect(kv(out['dovecot/dovecot.conf']).get('log_path')).toBe('/srv/mail/log/dovecot.log');
    expect(kv(out['dovecot/dovecot.conf']).get('submission_host')).toBe('127.0.0.1:10026');
  });

  it('points Postfix at the Dovecot host and Dovecot at the Postfix host', () => {
    const out = render(containers);
    const main = kv(out['postfix/main.cf']);
    expect(main.get('virtual_transport')).toBe('lmtp:inet:dovecot:10024');
    expect(main.get('smtpd_sasl_path')).toBe('inet:dovecot:10030');
    expect(main.get('inet_interfaces')).toBe('all');
    expect(kv(out['dovecot/dovecot.conf']).get('submission_host')).toBe('postfix:10026');
    for (const f of MAILSTACK_TEMPLATE_FILES.filter((f) => f.includes('pgsql-'))) expect(kv(out[f]).get('hosts'), f).toBe('inet:postgres:5432');
  });

  it('listens on every interface with port-only master.cf services, trusting only reinjectNetworks for re-injection', () => {
    const master = render(containers)['postfix/master.cf'];
    expect(master).toMatch(/^10025 inet n - n - - smtpd\n {2}-o syslog_name=postfix\/mx$/m);
    expect(master).toMatch(/^10587 inet n - n - - smtpd\n {2}-o syslog_name=postfix\/submission$/m);
    expect(master).toMatch(/^10026 inet n - n - - smtpd\n(?: {2}-o .*\n)* {2}-o mynetworks=172\.16\.0\.0\/12,10\.0\.0\.0\/8$/m);
    expect(master).not.toMatch(/^0\.0\.0\.0:/m);
    const conf = render(containers)['dovecot/dovecot.conf'];
    expect(conf).toMatch(/inet_listener lmtp \{\n\s+address = 0\.0\.0\.0\n\s+port = 10024\n/);
    expect(conf).toMatch(/inet_listener auth-client \{\n\s+address = 0\.0\.0\.0\n\s+port = 10030\n/);
  });

  it('logs to stdout/stderr when asked', () => {
    const out = render(containers);
    expect(kv(out['postfix/main.cf']).get('maillog_file')).toBe('/dev/stdout');
    expect(kv(out['postfix/main.cf']).get('maillog_file_prefixes')).toContain('/dev/stdout');
    expect(kv(out['dovecot/dovecot.conf']).get('log_path')).toBe('/dev/stderr');
    expect(kv(out['dovecot/dovecot.conf']).get('info_log_path')).toBe('/dev/stderr');
  });

  it.each([
    ['no dovecotHost with internalAddress 0.0.0.0', { dovecotHost: undefined }, 'dovecotHost'],
    ['no postfixHost with internalAddress 0.0.0.0', { postfixHost: undefined }, 'postfixHost'],
    ['no reinjectNetworks with internalAddress 0.0.0.0', { reinjectNetworks: undefined }, 'reinjectNetworks'],
    ['dovecotHost 0.0.0.0', { dovecotHost: '0.0.0.0' }, 'dovecotHost'],
    ['dovecotHost with a newline', { dovecotHost: 'dovecot\nrelayhost = evil' }, 'dovecotHost'],
    ['postfixHost with a port', { postfixHost: 'postfix:25' }, 'postfixHost'],
    ['an empty reinjectNetworks', { reinjectNetworks: [] }, 'reinjectNetworks'],
    ['a network without a length', { reinjectNetworks: ['10.0.0.0'] }, 'reinjectNetworks[0]'],
    ['a network list in one string', { reinjectNetworks: ['10.0.0.0/8, 0.0.0.0/0'] }, 'reinjectNetworks[0]'],
    ['a network with -o injection', { reinjectNetworks: ['10.0.0.0/8 -o smtpd_relay_restrictions=permit'] }, 'reinjectNetworks[0]'],
  ] as const)('rejects %s', (_name, over, field) => {
    const e = configError(() => render({ ...containers, ...(over as Partial<MailstackSettings>) }));
    expect(e.field).toBe(field);
  });
});

describe('renderMailstackConfig: email security (rspamd, policy service, spam filing)', () => {
  it('checks each submitted message with the policy service only when one is configured', () => {
    const sub = (out: Record<string, string>) => /^127\.0\.0\.1:10587 inet[\s\S]*?(?=^\S)/m.exec(out['postfix/master.cf'])![0];
    expect(sub(render())).toContain('  -o smtpd_end_of_data_restrictions=\n');
    expect(sub(render({ policyService: 'inet:127.0.0.1:10040' }))).toContain('  -o smtpd_end_of_data_restrictions=check_policy_service,inet:127.0.0.1:10040\n');
    // Only submission: the MX and re-injection ports do not count outbound mail.
    expect(render({ policyService: 'inet:127.0.0.1:10040' })['postfix/master.cf'].match(/check_policy_service/g)).toHaveLength(1);
  });

  it('checks each recipient against its package message size limit at RCPT (MX and submission), failing open to the server limit', () => {
    const main = (o: Parameters<typeof render>[0] = {}) => kv(render(o)['postfix/main.cf']);
    expect(main().get('panel_message_size_check')).toBe('');
    expect(main({ policyService: 'inet:127.0.0.1:10040' }).get('panel_message_size_check')).toBe('check_policy_service { inet:127.0.0.1:10040, default_action=DUNNO }');
    expect(main().get('smtpd_recipient_restrictions')).toMatch(/, \$panel_message_size_check$/);
    expect(main().get('message_size_limit')).toBe('26214400');
    expect(main({ messageSizeLimit: 10485760 }).get('message_size_limit')).toBe('10485760');
  });

  it.each([
    ['a space (a second restriction)', 'inet:127.0.0.1:10040 permit'],
    ['a comma (a second restriction)', 'inet:127.0.0.1:10040,permit'],
    ['a unix socket', 'unix:/var/run/policy'],
    ['a newline', 'inet:127.0.0.1:1\n-o smtpd_milters='],
    ['no port', 'inet:127.0.0.1'],
  ])('rejects a policy service with %s', (_n, policyService) => {
    expect(configError(() => render({ policyService })).field).toBe('policyService');
  });

  it('files spam with a global Sieve script before the mailbox’s own, and hides the quarantine namespace', () => {
    const out = render();
    expect(out['dovecot/dovecot.conf']).toMatch(/^\s+sieve_before = \/srv\/mail\/etc\/dovecot\/sieve\/spam\.sieve$/m);
    expect(out['dovecot/dovecot.conf']).toMatch(/namespace quarantine \{\n\s+prefix = Quarantine\/\n\s+separator = \/\n\s+location = maildir:~\/quarantine\n\s+hidden = yes\n\s+list = no\n/);
    expect(out['dovecot/sieve/spam.sieve']).toContain('if header :is "X-Panel-Spam" "quarantine" {\n  fileinto :create "Quarantine/held";\n  stop;');
    expect(out['dovecot/sieve/spam.sieve']).toContain('if header :is "X-Panel-Spam" "junk" {\n  fileinto :create "Junk";\n  stop;');
  });
});

describe('renderReadonlyRoleSql', () => {
  it('creates or updates a login role that may only SELECT the mail views', () => {
    const sql = renderReadonlyRoleSql('mail_reader', 'pw');
    expect(sql).toContain(`IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = E'mail_reader') THEN`);
    expect(sql).toContain('CREATE ROLE "mail_reader" LOGIN;');
    expect(sql).toContain(
      `ALTER ROLE "mail_reader" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS PASSWORD E'pw';`,
    );
    expect(sql).toContain('ALTER ROLE "mail_reader" SET default_transaction_read_only = on;');
    expect(sql).toContain('GRANT SELECT ON public.mail_domains, public.mail_users, public.mail_aliases, public.mail_refused, public.mail_app_passwords, public.mail_alias_domains TO "mail_reader";');
    const grants = sql.split('\n').filter((l) => /\bGRANT\b/.test(l));
    expect(grants).toHaveLength(2);
    expect(sql).not.toMatch(/\bGRANT\s+(ALL|INSERT|UPDATE|DELETE)/);
  });

  it('quotes the password literal so it cannot end the statement', () => {
    const pw = `x'; DROP TABLE mailboxes; --\\'`;
    const sql = renderReadonlyRoleSql('mail_reader', pw);
    expect(sql).toContain(`PASSWORD E'x''; DROP TABLE mailboxes; --\\\\'''`);
    // Outside the literal nothing of the password remains:
    const line = sql.split('\n').find((l) => l.includes('PASSWORD'))!;
    const afterLiteral = line.slice(line.indexOf("E'") + 2);
    let i = 0;
    for (; i < afterLiteral.length; i++) {
      const c = afterLiteral[i];
      if (c === '\\') i++;
      else if (c === "'" && afterLiteral[i + 1] === "'") i++;
      else if (c === "'") break;
    }
    expect(afterLiteral.slice(i)).toBe("';");
  });

  it('rejects role names that are not plain identifiers, NUL and empty passwords', () => {
    expect(configError(() => renderReadonlyRoleSql('mail"; DROP ROLE postgres; --', 'pw')).field).toBe('role');
    expect(configError(() => renderReadonlyRoleSql('Mail', 'pw')).field).toBe('role');
    expect(() => renderReadonlyRoleSql('mail_reader', 'a\0b')).toThrow(MailstackConfigError);
    expect(() => renderReadonlyRoleSql('mail_reader', '')).toThrow(MailstackConfigError);
  });

  it('quoteIdent and quoteLiteral double their quote characters', () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteLiteral("it's \\ ok")).toBe("E'it''s \\\\ ok'");
  });
});
