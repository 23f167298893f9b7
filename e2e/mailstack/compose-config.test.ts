// The configuration docker-compose.yml renders for the mail containers (deploy/docker/mail-config.ts,
// with the compose file's settings) is accepted by the real Dovecot and Postfix config parsers
// (doveconf, postconf) — the compose structure test (test/compose.test.ts) cannot run them.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTAINER, settingsFromEnv } from '../../deploy/docker/mail-config.js';
import { renderMailstackFiles } from '../../deploy/render.js';
import { runCommand } from './harness.js';

const enabled = process.env.MAILSTACK_E2E === '1';

describe.skipIf(!enabled)('docker-compose mail configuration in the real config parsers', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('doveconf and postconf accept it, with the services the compose file publishes', async () => {
    const compose = parse(await readFile('docker-compose.yml', 'utf8'), { merge: true, maxAliasCount: 100 });
    // Compose's ${VAR}, ${VAR:-default}, ${VAR:?message}, given what an operator puts in .env.
    const dotenv: Record<string, string> = { POSTGRES_PASSWORD: 'p', MAIL_HOSTNAME: 'mail.example.com', POSTMASTER_ADDRESS: 'postmaster@example.com' };
    const interpolate = (v: string) =>
      v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => dotenv[name] ?? (op === '-' ? (arg ?? '') : ''));
    const env = Object.fromEntries(Object.entries(compose.services['mail-config'].environment as Record<string, string>).map(([k, v]) => [k, interpolate(String(v))]));
    const files = await renderMailstackFiles(settingsFromEnv(env, 'generated-password'));
    dir = await mkdtemp(path.join(os.tmpdir(), 'compose-config-'));
    for (const [rel, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), content);
    }

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
    const master = await runCommand('/usr/sbin/postconf', ['-c', path.join(dir, 'postfix'), '-M']);
    expect(master.code, master.stderr).toBe(0);
    for (const port of [CONTAINER.ports.smtp, CONTAINER.ports.submission, CONTAINER.ports.reinject]) {
      expect(master.stdout).toMatch(new RegExp(`^${port}\\s+inet\\s.*smtpd`, 'm'));
    }
  });
});
