// Proves the harness and the rendered configs against the real daemons: an embedded PostgreSQL
// with the panel's migration, rows inserted with SQL, then Postfix + Dovecot from
// startMailstack(). Each check would fail if the config feature it names were missing.
import { chown, lchown, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import argon2 from 'argon2';
import pg from 'pg';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReadonlyRoleSql } from '../../core/src/render/mailstack-config.js';
import { renderVacationSieve } from '../../core/src/render/sieve.js';
import { bodyOf, decodeMimeWords, headerOf } from './capture-sink.js';
import { ImapSession, imapLogin, makeMessage, smtpSend } from './clients.js';
import { pickFreePorts, startMailstack, type Mailstack } from './harness.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

const enabled = process.env.MAILSTACK_E2E === '1';

describe.skipIf(!enabled)('mail stack (real Postfix + Dovecot)', () => {
  let db: TestDatabase;
  let ms: Mailstack;
  let customerId: string;
  const domainIds: Record<string, string> = {};
  const PW = 'Secret123!';

  async function addDomain(name: string) {
    const r = await db.client.query<{ id: string }>(`INSERT INTO domains (name, customer_id) VALUES ($1, $2) RETURNING id`, [name, customerId]);
    domainIds[name] = r.rows[0]!.id;
  }
  async function addMailbox(email: string, opts: { quotaMb?: number; password?: string } = {}) {
    const [local, domain] = email.split('@') as [string, string];
    const hash = await argon2.hash(opts.password ?? PW, { type: argon2.argon2id });
    await db.client.query(
      `INSERT INTO mailboxes (local_part, domain_id, address, password_hash, quota_mb, status, provisioning)
       VALUES ($1, $2, $3, $4, $5, 'ACTIVE', 'READY')`,
      [local, domainIds[domain], email, hash, opts.quotaMb ?? 0],
    );
    return hash;
  }
  async function addForward(source: string, destinations: string[]) {
    const domain = source.split('@')[1]!;
    await db.client.query(`INSERT INTO forwards (domain_id, local_part, source, destinations) VALUES ($1, $2, $3, $4)`, [
      domainIds[domain],
      source.split('@')[0],
      source,
      destinations,
    ]);
  }
  const mx = (to: string[], data: string, from = 'sender@elsewhere.test') => smtpSend({ port: ms.ports.smtp, from, to, data });

  beforeAll(async () => {
    db = await startTestDatabase();
    const pkg = await db.client.query<{ id: string }>(`INSERT INTO hosting_packages (name) VALUES ('test') RETURNING id`);
    const cust = await db.client.query<{ id: string }>(`INSERT INTO customers (name, package_id) VALUES ('acme', $1) RETURNING id`, [pkg.rows[0]!.id]);
    customerId = cust.rows[0]!.id;
    await addDomain('example.test');
    await addDomain('catch.test');
    ms = await startMailstack({ databaseUrl: db.url });
  });

  afterAll(async () => {
    await ms?.stop();
    await db?.stop();
  });

  it('answers the health checks docker-compose.yml runs in the dovecot and postfix containers', async () => {
    const compose = parse(await readFile('docker-compose.yml', 'utf8'), { merge: true, maxAliasCount: 100 });
    const check = (service: string) => compose.services[service].healthcheck.test as string[];
    // dovecot: bash reads the IMAP greeting (compose writes $ as $$); here on the test's IMAP port
    const [cmd, bash, flag, script] = check('dovecot');
    expect([cmd, bash, flag]).toEqual(['CMD', 'bash', '-c']);
    const probe = (port: number) => ms.run('/bin/bash', ['-c', script!.replace(/\$\$/g, '$').replace('/127.0.0.1/143', `/127.0.0.1/${port}`)]);
    expect((await probe(ms.ports.imap)).code).toBe(0);
    expect((await probe(ms.ports.smtp)).code, 'an SMTP greeting is not an IMAP one').not.toBe(0);
    const [closed] = await pickFreePorts(1);
    expect((await probe(closed!)).code).not.toBe(0);
    // postfix: `postfix -c <config dir> status`, here on the test's config dir
    const pf = check('postfix');
    expect(pf.slice(0, 4)).toEqual(['CMD', '/usr/sbin/postfix', '-c', '/etc/mailpanel/postfix']);
    expect((await ms.run(pf[1]!, ['-c', ms.paths.postfixConfigDir, ...pf.slice(4)])).code).toBe(0);
  });

  it('connects through a read-only role that sees the three views and nothing else', async () => {
    const ro = new pg.Client({ host: '127.0.0.1', port: db.port, database: 'mail', user: ms.db.role, password: ms.db.password });
    await ro.connect();
    try {
      await expect(ro.query('SELECT count(*) FROM mail_users')).resolves.toBeDefined();
      await expect(ro.query('SELECT count(*) FROM mail_aliases')).resolves.toBeDefined();
      await expect(ro.query('SELECT password_hash FROM mailboxes')).rejects.toThrow(/permission denied/);
      await expect(ro.query('SELECT * FROM users')).rejects.toThrow(/permission denied/);
      await expect(ro.query(`CREATE TABLE x (a int)`)).rejects.toThrow(/read-only transaction|permission denied/);
    } finally {
      await ro.end();
    }
  });

  it('creates a role whose password is full of SQL metacharacters, and it can log in', async () => {
    const password = `p'w"; DROP TABLE mailboxes; --\\ $$ ü`;
    await db.client.query(renderReadonlyRoleSql('mail_reader_hostile', password));
    await db.client.query(renderReadonlyRoleSql('mail_reader_hostile', password)); // idempotent
    const c = new pg.Client({ host: '127.0.0.1', port: db.port, database: 'mail', user: 'mail_reader_hostile', password });
    await c.connect();
    const r = await c.query('SELECT count(*)::int AS n FROM mail_domains');
    await c.end();
    expect(r.rows[0].n).toBe(2);
    expect((await db.client.query(`SELECT to_regclass('public.mailboxes') AS t`)).rows[0].t).toBe('mailboxes');
  });

  it('logs in over IMAP with the right password only (argon2id hash as node writes it)', async () => {
    const hash = await addMailbox('alice@example.test');
    // Dovecot (libsodium) needs m=,t=,p=; argon2 0.44 writes that order (MAILSTACK.md TRAP).
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
    expect((await imapLogin(ms.ports.imap, 'alice@example.test', PW)).status).toBe('OK');
    expect((await imapLogin(ms.ports.imap, 'alice@example.test', 'wrong')).tagged).toMatch(/NO \[AUTHENTICATIONFAILED\]/);
    expect((await imapLogin(ms.ports.imap, 'nobody@example.test', PW)).status).toBe('NO');
  });

  it('delivers MX mail into <mail root>/<domain>/<local>/Maildir/new, also for a mixed-case address', async () => {
    const r = await mx(['alice@example.test'], makeMessage({ from: 'sender@elsewhere.test', to: 'alice@example.test', subject: 'first' }));
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    const files = await ms.waitForMaildir('alice@example.test', 1);
    expect(ms.maildir('alice@example.test')).toBe(path.join(ms.paths.mailRoot, 'example.test', 'alice', 'Maildir'));
    const text = await readFile(path.join(ms.maildir('alice@example.test'), 'new', files[0]!), 'utf8');
    expect(text).toContain('Subject: first');
    const st = await stat(path.join(ms.maildir('alice@example.test'), 'new', files[0]!));
    expect(st.uid).toBe(ms.settings.vmail.uid);

    const r2 = await mx(['Alice@Example.TEST'], makeMessage({ from: 'sender@elsewhere.test', to: 'Alice@Example.TEST', subject: 'second' }));
    expect(r2.ok, r2.transcript.join('\n')).toBe(true);
    await ms.waitForMaildir('alice@example.test', 2);
  });

  it('refuses unknown recipients and relaying on the MX port', async () => {
    const unknown = await mx(['ghost@example.test'], makeMessage({ from: 'a@elsewhere.test', to: 'ghost@example.test', subject: 'x' }));
    expect(unknown).toMatchObject({ ok: false, stage: 'rcpt', code: 550 });
    const relay = await mx(['someone@elsewhere.test'], makeMessage({ from: 'a@elsewhere.test', to: 'someone@elsewhere.test', subject: 'x' }));
    expect(relay.ok).toBe(false);
    expect(relay.stage).toBe('rcpt');
    expect(relay.text).toMatch(/Relay access denied/);
  });

  it('catch-all takes unknown local parts but never an existing mailbox', async () => {
    await addMailbox('info@catch.test');
    await addMailbox('sales@catch.test');
    await addForward('*@catch.test', ['info@catch.test']);
    expect(await ms.postmapQuery('pgsql-aliases.cf', '@catch.test')).toBe('info@catch.test');
    expect(await ms.postmapQuery('pgsql-self.cf', 'sales@catch.test')).toBe('sales@catch.test');

    const r1 = await mx(['random123@catch.test'], makeMessage({ from: 'a@elsewhere.test', to: 'random123@catch.test', subject: 'to catch-all' }));
    expect(r1.ok, r1.transcript.join('\n')).toBe(true);
    await ms.waitForMaildir('info@catch.test', 1);

    const r2 = await mx(['sales@catch.test'], makeMessage({ from: 'a@elsewhere.test', to: 'sales@catch.test', subject: 'to sales' }));
    expect(r2.ok).toBe(true);
    await ms.waitForMaildir('sales@catch.test', 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await ms.listMaildir('info@catch.test')).toHaveLength(1);
  });

  it('forwards to several destinations, and a forward on a mailbox address keeps a copy only when listed', async () => {
    await addMailbox('erin@example.test');
    await addForward('team@example.test', ['alice@example.test', 'outside@elsewhere.test']);
    await addForward('erin@example.test', ['erin@example.test', 'erin.home@elsewhere.test']);
    const before = (await ms.listMaildir('alice@example.test')).length;

    const r = await mx(['team@example.test'], makeMessage({ from: 'a@elsewhere.test', to: 'team@example.test', subject: 'team mail' }));
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    await ms.waitForMaildir('alice@example.test', before + 1);
    const out = await ms.sink.waitFor((m) => m.rcptTo.includes('outside@elsewhere.test'));
    expect(headerOf(out.data, 'Subject')).toBe('team mail');

    const r2 = await mx(['erin@example.test'], makeMessage({ from: 'a@elsewhere.test', to: 'erin@example.test', subject: 'erin mail' }));
    expect(r2.ok).toBe(true);
    await ms.waitForMaildir('erin@example.test', 1);
    const home = await ms.sink.waitFor((m) => m.rcptTo.includes('erin.home@elsewhere.test'));
    expect(headerOf(home.data, 'Subject')).toBe('erin mail');
  });

  it('a DISABLED mailbox cannot log in and receives nothing, at once', async () => {
    await addMailbox('dave@example.test');
    const s = await ImapSession.open(ms.ports.imap);
    expect((await s.login('dave@example.test', PW)).status).toBe('OK');
    await s.logout();
    await db.client.query(`UPDATE mailboxes SET status = 'DISABLED' WHERE address = 'dave@example.test'`);
    expect((await imapLogin(ms.ports.imap, 'dave@example.test', PW)).tagged).toMatch(/NO \[AUTHENTICATIONFAILED\]/);
    const r = await mx(['dave@example.test'], makeMessage({ from: 'a@elsewhere.test', to: 'dave@example.test', subject: 'x' }));
    expect(r).toMatchObject({ ok: false, stage: 'rcpt', code: 550 });
    // and back
    await db.client.query(`UPDATE mailboxes SET status = 'ACTIVE' WHERE address = 'dave@example.test'`);
    expect((await imapLogin(ms.ports.imap, 'dave@example.test', PW)).status).toBe('OK');
    // a disabled domain takes its mailboxes with it
    await db.client.query(`UPDATE domains SET enabled = false WHERE name = 'example.test'`);
    expect((await imapLogin(ms.ports.imap, 'dave@example.test', PW)).status).toBe('NO');
    await db.client.query(`UPDATE domains SET enabled = true WHERE name = 'example.test'`);
  });

  it('submission: only SASL-authenticated active mailboxes, only as themselves', async () => {
    const msg = (from: string, subject: string) => makeMessage({ from, to: 'friend@elsewhere.test', subject });
    const sub = (o: { from: string; auth?: { user: string; pass: string }; subject: string }) =>
      smtpSend({ port: ms.ports.submission, from: o.from, to: ['friend@elsewhere.test'], data: msg(o.from, o.subject), auth: o.auth });

    const ok = await sub({ from: 'alice@example.test', auth: { user: 'alice@example.test', pass: PW }, subject: 'submitted' });
    expect(ok.ok, ok.transcript.join('\n')).toBe(true);
    const got = await ms.sink.waitFor((m) => headerOf(m.data, 'Subject') === 'submitted');
    expect(got.mailFrom).toBe('alice@example.test');

    const noAuth = await sub({ from: 'alice@example.test', subject: 'no auth' });
    expect(noAuth).toMatchObject({ ok: false, stage: 'rcpt' });
    expect(noAuth.code).toBeGreaterThanOrEqual(500);

    const spoof = await sub({ from: 'erin@example.test', auth: { user: 'alice@example.test', pass: PW }, subject: 'spoof' });
    expect(spoof.ok).toBe(false);
    expect(spoof.text).toMatch(/not owned by user/);

    const badPw = await sub({ from: 'alice@example.test', auth: { user: 'alice@example.test', pass: 'nope' }, subject: 'bad pw' });
    expect(badPw).toMatchObject({ ok: false, stage: 'auth', code: 535 });

    await db.client.query(`UPDATE mailboxes SET status = 'DISABLED' WHERE address = 'dave@example.test'`);
    const disabled = await sub({ from: 'dave@example.test', auth: { user: 'dave@example.test', pass: PW }, subject: 'disabled' });
    expect(disabled).toMatchObject({ ok: false, stage: 'auth', code: 535 });

    // MX port offers no AUTH at all
    const mxAuth = await smtpSend({ port: ms.ports.smtp, from: 'alice@example.test', to: ['friend@elsewhere.test'], data: msg('alice@example.test', 'mx auth'), auth: { user: 'alice@example.test', pass: PW } });
    expect(mxAuth).toMatchObject({ ok: false, stage: 'auth' });
  });

  it('enforces quota_mb (refused over quota, bounced to the sender) and treats 0 as unlimited', async () => {
    await addMailbox('small@example.test', { quotaMb: 1 });
    const s = await ImapSession.open(ms.ports.imap);
    expect((await s.login('small@example.test', PW)).status).toBe('OK');
    const q = await s.command('GETQUOTAROOT INBOX');
    expect(q.untagged.join('\n')).toMatch(/\* QUOTA "User quota" \(STORAGE 0 1024\)/);
    await s.logout();

    const big = makeMessage({ from: 'fat@elsewhere.test', to: 'small@example.test', subject: 'too big', body: `${'x'.repeat(998)}\r\n`.repeat(2100) });
    const since = await ms.logSize('postfix');
    const r = await mx(['small@example.test'], big, 'fat@elsewhere.test');
    expect(r.ok, r.transcript.join('\n')).toBe(true); // accepted by Postfix, refused by Dovecot LMTP
    const line = await ms.waitForLog('postfix', /to=<small@example\.test>.*status=bounced/, { since });
    expect(line).toMatch(/Quota exceeded/);
    const bounce = await ms.sink.waitFor((m) => m.rcptTo.includes('fat@elsewhere.test'));
    expect(bounce.mailFrom).toBe('');
    expect(await ms.listMaildir('small@example.test')).toHaveLength(0);

    // quota_mb = 0: no limit at all
    const unl = await ms.doveadm('quota', 'get', '-u', 'alice@example.test');
    expect(unl.stdout).toMatch(/User quota\s+STORAGE\s+\d+\s+-\s/);
    const before = (await ms.listMaildir('alice@example.test')).length;
    const r2 = await mx(['alice@example.test'], big.replace('small@example.test', 'alice@example.test'), 'fat@elsewhere.test');
    expect(r2.ok).toBe(true);
    await ms.waitForMaildir('alice@example.test', before + 1);

    // a changed quota applies at once (no auth cache)
    await db.client.query(`UPDATE mailboxes SET quota_mb = 7 WHERE address = 'small@example.test'`);
    expect((await ms.doveadm('quota', 'get', '-u', 'small@example.test')).stdout).toMatch(/STORAGE\s+0\s+7168\s/);
  });

  it('a vacation script from the renderer, compiled by sievec, sends exactly one reply with Auto-Submitted', async () => {
    const address = 'carol@example.test';
    await addMailbox(address);
    const subject = 'Abwesend: "bis" Montag \\ 🌴';
    const message = 'Hallo,\n.\nich bin nicht da; "; redirect "x@evil";\nGrüße';
    const script = renderVacationSieve({
      enabled: true,
      subject,
      message,
      address,
      startsAt: new Date(Date.now() - 86400000),
      endsAt: new Date(Date.now() + 86400000),
      days: 1,
    });
    // compile check with sievec (as Pigeonhole on this machine sees it)
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'sievec-'));
    try {
      await writeFile(path.join(scratch, 'vacation.sieve'), script);
      const c = await ms.run('/usr/bin/sievec', ['-c', ms.paths.dovecotConf, path.join(scratch, 'vacation.sieve'), path.join(scratch, 'vacation.svbin')]);
      expect(c.code, c.stderr + c.stdout).toBe(0);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    // install: <home>/sieve/vacation.sieve, active via <home>/.dovecot.sieve
    const home = ms.home(address);
    await mkdir(path.join(home, 'sieve'), { recursive: true });
    await writeFile(path.join(home, 'sieve', 'vacation.sieve'), script);
    await symlink('sieve/vacation.sieve', path.join(home, '.dovecot.sieve'));
    const { uid, gid } = ms.settings.vmail;
    for (const p of [path.join(ms.paths.mailRoot, 'example.test'), home, path.join(home, 'sieve'), path.join(home, 'sieve', 'vacation.sieve')]) await chown(p, uid, gid);
    await lchown(path.join(home, '.dovecot.sieve'), uid, gid);

    const isReply = (m: { rcptTo: string[] }) => m.rcptTo.includes('traveller@elsewhere.test');
    const send = (subj: string, headers?: Record<string, string>, from = 'traveller@elsewhere.test') =>
      mx([address], makeMessage({ from, to: address, subject: subj, headers }), from);

    expect((await send('are you there?')).ok).toBe(true);
    const reply = await ms.sink.waitFor(isReply);
    expect(reply.mailFrom).toBe('');
    expect(headerOf(reply.data, 'Auto-Submitted')).toMatch(/^auto-replied/);
    expect(decodeMimeWords(headerOf(reply.data, 'Subject') ?? '')).toBe(subject);
    expect(headerOf(reply.data, 'From')).toContain(address);
    expect(bodyOf(reply.data).replace(/\r\n/g, '\n')).toContain(message);

    // second mail from the same sender (within :days 1), a list mail and an auto-submitted mail
    expect((await send('still there?')).ok).toBe(true);
    expect((await send('list mail', { 'List-Id': '<news.elsewhere.test>' }, 'list@elsewhere.test')).ok).toBe(true);
    expect((await send('bot mail', { 'Auto-Submitted': 'auto-generated' }, 'bot@elsewhere.test')).ok).toBe(true);
    await ms.waitForMaildir(address, 4);
    await ms.waitForLog('dovecot', /discarded duplicate vacation response to <traveller@elsewhere\.test>/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(ms.sink.messages.filter(isReply)).toHaveLength(1);
    expect(ms.sink.messages.filter((m) => m.rcptTo.some((r) => r === 'list@elsewhere.test' || r === 'bot@elsewhere.test'))).toHaveLength(0);
  });
});
