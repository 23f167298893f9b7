// The configuration docker-compose.yml renders for the mail containers (deploy/docker/mail-config.ts,
// with the compose file's settings) is accepted by the real config parsers — doveconf, postconf,
// sievec, rspamadm — and, as those parsers read it, wired to the compose services: rspamd reads the
// maps and DKIM keys where the worker writes them, Postfix's submission port asks the policy service
// and keeps its fail-safe. The compose structure test (test/compose.test.ts) cannot run the parsers.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseEnv } from '../../core/src/env.js';
import { CONTAINER, RSPAMD_CONTAINER, rspamdSettingsFromEnv, settingsFromEnv } from '../../deploy/docker/mail-config.js';
import { renderMailstackFiles } from '../../deploy/render.js';
import { renderRspamdFiles } from '../../deploy/render-rspamd.js';
import { dkimDir, rspamdMapsDir } from '../../worker/src/email-security/files.js';
import { runCommand } from './harness.js';

const enabled = process.env.MAILSTACK_E2E === '1';

describe.skipIf(!enabled)('docker-compose mail configuration in the real config parsers', () => {
  let dir = '';
  let rspamdDir = '';
  let compose: { services: Record<string, { environment?: Record<string, string> }> };
  // Compose's ${VAR}, ${VAR:-default}, ${VAR:?message}, given what an operator puts in .env.
  const dotenv: Record<string, string> = {
    POSTGRES_PASSWORD: 'p',
    JWT_SECRET: 'j'.repeat(32),
    ENCRYPTION_KEY: 'e'.repeat(64),
    ADMIN_EMAIL: 'admin@example.com',
    ADMIN_PASSWORD: 'admin-password',
    MAIL_HOSTNAME: 'mail.example.com',
    POSTMASTER_ADDRESS: 'postmaster@example.com',
  };
  const interpolate = (v: string) =>
    v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => dotenv[name] ?? (op === '-' ? (arg ?? '') : ''));
  const envOf = (service: string) => Object.fromEntries(Object.entries(compose.services[service]!.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
  // rspamd as the container starts it, with the rendered folder as LOCAL_CONFDIR.
  const rspamadm = (...args: string[]) => runCommand('/usr/bin/rspamadm', [`--var=LOCAL_CONFDIR=${rspamdDir}`, ...args]);
  const configdump = async (section: string) => {
    const r = await rspamadm('configdump', '-c', '/etc/rspamd/rspamd.conf', section);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    compose = parse(await readFile('docker-compose.yml', 'utf8'), { merge: true, maxAliasCount: 100 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'compose-config-'));
    rspamdDir = path.join(dir, 'rspamd');
    const mc = envOf('mail-config');
    const files = { ...(await renderMailstackFiles(settingsFromEnv(mc, 'generated-password'))) } as Record<string, string>;
    for (const [rel, content] of Object.entries(await renderRspamdFiles(rspamdSettingsFromEnv(mc)))) files[`rspamd/${rel}`] = content;
    for (const [rel, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), content);
    }
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('doveconf and postconf accept it, with the services the compose file publishes', async () => {
    const dove = await runCommand('/usr/bin/doveconf', ['-n', '-c', path.join(dir, 'dovecot/dovecot.conf')]);
    expect(dove.code, dove.stderr).toBe(0);
    expect(dove.stderr).not.toMatch(/error|warning/i);
    expect(dove.stdout).toMatch(/^listen = 0\.0\.0\.0$/m);
    expect(dove.stdout).toMatch(/^submission_host = postfix:10025$/m);

    // The maps are read from the container paths (/etc/mailpanel/...), absent here: only that may warn.
    const expected = /overriding earlier entry: config_directory=|open "pgsql" configuration "\/etc\/mailpanel\/postfix\/pgsql-[a-z-]+\.cf": No such file/;
    const main = await runCommand('/usr/sbin/postconf', ['-c', path.join(dir, 'postfix'), '-n']);
    expect(main.code, main.stderr).toBe(0);
    expect(main.stderr.split('\n').filter((l) => l.trim() && !expected.test(l))).toEqual([]);
    expect(main.stdout).toMatch(/^virtual_transport = lmtp:inet:dovecot:24$/m);
    expect(main.stdout).toMatch(/^inet_interfaces = all$/m);
    expect(main.stdout).toMatch(/^smtpd_milters = inet:rspamd:11332$/m);
    const master = await runCommand('/usr/sbin/postconf', ['-c', path.join(dir, 'postfix'), '-M']);
    expect(master.code, master.stderr).toBe(0);
    for (const port of [CONTAINER.ports.smtp, CONTAINER.ports.submission, CONTAINER.ports.reinject]) {
      expect(master.stdout).toMatch(new RegExp(`^${port}\\s+inet\\s.*smtpd`, 'm'));
    }
  });

  it("Postfix's submission asks the policy service at policy:POLICY_PORT, and defers mail while it is down", async () => {
    const policyPort = parseEnv(envOf('policy')).POLICY_PORT;
    const params = await runCommand('/usr/sbin/postconf', ['-c', path.join(dir, 'postfix'), '-P']);
    expect(params.code, params.stderr).toBe(0);
    expect(params.stdout).toContain(`${CONTAINER.ports.submission}/inet/smtpd_end_of_data_restrictions = check_policy_service,inet:policy:${policyPort}\n`);
    // Not on the MX port: only authenticated senders are counted.
    expect(params.stdout).not.toMatch(new RegExp(`^${CONTAINER.ports.smtp}/inet/smtpd_end_of_data_restrictions = \\S`, 'm'));
    // The effective fail-safe, as Postfix computes it from the rendered main.cf: a temporary failure.
    const action = await runCommand('/usr/sbin/postconf', ['-c', path.join(dir, 'postfix'), '-h', 'smtpd_policy_service_default_action']);
    expect(action.code, action.stderr).toBe(0);
    expect(action.stdout.trim()).toMatch(/^4\d\d 4\.\d+\.\d+ /);
  });

  it('sievec compiles the spam filing script with the rendered dovecot.conf, as the dovecot entry point does', async () => {
    const out = path.join(dir, 'spam.svbin');
    const r = await runCommand('/usr/bin/sievec', ['-c', path.join(dir, 'dovecot/dovecot.conf'), path.join(dir, 'dovecot/sieve/spam.sieve'), out]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(out)).length).toBeGreaterThan(0);
  });

  it("rspamadm accepts rspamd's configuration and reads the maps and DKIM keys from the worker's folders", async () => {
    const test = await rspamadm('configtest', '-c', '/etc/rspamd/rspamd.conf');
    expect(test.code, test.stderr).toBe(0);
    expect(test.stdout).toMatch(/syntax OK/);
    // The host name "redis" exists only on the compose network: only that may be reported here.
    expect(test.stderr.split('\n').filter((l) => l.trim() && !/^address resolution for redis failed/.test(l))).toEqual([]);

    const worker = loadConfig(envOf('worker'));
    const maps = rspamdMapsDir(worker);
    const keys = dkimDir(worker);
    expect(await configdump('settings')).toContain(`"file://${maps}/settings.ucl"`);
    const dkim = await configdump('dkim_signing');
    expect(dkim).toContain(`selector_map = "file://${maps}/dkim_selectors.map";`);
    expect(dkim).toContain(`path = "${keys}/$domain.$selector.key";`);
    expect(dkim).toMatch(/^enabled = true;$/m);
    // re-read without a restart
    expect((await configdump('options.map_watch_interval')).split('\n')[1]).toBe('5');
    expect(await configdump('redis')).toContain('servers = "redis:6379";');

    // Only the milter listens beyond loopback (Debian's controller password is "q1").
    const workers = await rspamadm('configdump', '-j', '-c', '/etc/rspamd/rspamd.conf', 'worker');
    expect(workers.code, workers.stderr).toBe(0);
    const sockets = [...workers.stdout.matchAll(/"bind_socket": "([^"]+)"/g)].map((m) => m[1]);
    const { ports } = RSPAMD_CONTAINER;
    expect(sockets).toEqual(expect.arrayContaining([`0.0.0.0:${ports.proxy}`, `127.0.0.1:${ports.normal}`, `127.0.0.1:${ports.controller}`]));
    expect(sockets.filter((s) => !/^(127\.0\.0\.1|localhost):/.test(s!))).toEqual([`0.0.0.0:${ports.proxy}`]);
    expect(workers.stdout).toMatch(/"milter": true/);
  });

  it('rspamadm refuses a broken configuration (the check can fail)', async () => {
    const broken = path.join(dir, 'rspamd-broken');
    await mkdir(path.join(broken, 'local.d'), { recursive: true });
    await writeFile(path.join(broken, 'local.d/options.inc'), 'dns {\n  nameserver = [\n');
    const r = await runCommand('/usr/bin/rspamadm', [`--var=LOCAL_CONFDIR=${broken}`, 'configtest', '-c', '/etc/rspamd/rspamd.conf']);
    expect(r.code).not.toBe(0);
  });
});
