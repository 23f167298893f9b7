// The Sieve renderer against the real Pigeonhole: every rendered script must compile with sievec,
// and sieve-test must show exactly the actions we mean (one vacation reply whose subject and text
// are the user's input, byte for byte; nothing for lists, bulk, auto-submitted mail or outside
// the date window). No daemons needed, only the dovecot-sieve package.
import { chown, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderVacationSieve, SieveRenderError, type VacationInput } from '../../core/src/render/sieve.js';
import { HOSTILE } from '../../test/hostile-values.js';
import { runCommand } from './harness.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const VMAIL = 5000;

describe.skipIf(!enabled)('Sieve scripts from the renderer in Pigeonhole (sievec, sieve-test)', () => {
  let dir: string;
  let n = 0;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sieve-test-'));
    await chmod(dir, 0o755);
    // sieve-test runs as root and drops to mail_uid: give it a minimal config and a folder the
    // vmail user owns (it saves compiled binaries next to the scripts).
    await writeFile(
      path.join(dir, 'test.conf'),
      [`mail_uid = ${VMAIL}`, `mail_gid = ${VMAIL}`, `first_valid_uid = ${VMAIL}`, `mail_home = ${dir}/home`, `mail_location = maildir:${dir}/home/Maildir`, 'log_path = /dev/stderr', ''].join('\n'),
    );
    await chown(dir, VMAIL, VMAIL);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function put(name: string, content: string) {
    const p = path.join(dir, name);
    await writeFile(p, content);
    await chown(p, VMAIL, VMAIL);
    return p;
  }

  async function compile(script: string) {
    const file = await put(`c${++n}.sieve`, script);
    return runCommand('/usr/bin/sievec', ['-c', path.join(dir, 'test.conf'), file, path.join(dir, `c${n}.svbin`)]);
  }

  interface Outcome {
    raw: string;
    vacations: number;
    redirects: number;
    subject?: string;
    message?: string;
  }

  async function sieveTest(script: string, headers: Record<string, string> = {}): Promise<Outcome> {
    const id = ++n;
    const sieve = await put(`t${id}.sieve`, script);
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const mail = await put(
      `t${id}.eml`,
      `From: bob@elsewhere.test\r\nTo: carol@example.test\r\nSubject: hello\r\nMessage-ID: <${id}@elsewhere.test>\r\n${extra}\r\nHi Carol\r\n`,
    );
    const r = await runCommand('/usr/bin/sieve-test', ['-c', path.join(dir, 'test.conf'), '-a', 'carol@example.test', '-f', 'bob@elsewhere.test', sieve, mail]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const raw = r.stdout.replace(/\r\n/g, '\n');
    const out: Outcome = {
      raw,
      vacations: (raw.match(/\* send vacation message/g) ?? []).length,
      redirects: (raw.match(/\* redirect message/g) ?? []).length,
    };
    const subj = /^\s+=> subject : (.*)$/m.exec(raw);
    if (subj) out.subject = subj[1];
    const msg = /\nSTART MESSAGE\n([\s\S]*?)\nEND MESSAGE/.exec(raw);
    if (msg) out.message = msg[1];
    return out;
  }

  const hour = 3600 * 1000;
  const base: VacationInput = { enabled: true, subject: 'Away', message: 'I am away.', address: 'carol@example.test' };

  it.each([
    ['quotes and backslashes', { subject: 'He said "hi" \\o/', message: 'C:\\temp\\"quoted"\\' }],
    ['an injection attempt', { subject: '"; redirect "x@evil"; keep; "', message: 'x"; redirect "x@evil";\nvacation "y";\r\n}' }],
    ['a lone "." line and dot lines', { subject: 'dots', message: 'line 1\n.\n..\n.line\nend.' }],
    ['non-ASCII', { subject: 'Abwesend – Grüße 🌴 你好', message: 'Je suis absent jusqu’au lundi.\nСпасибо! 🙏' }],
    ['a 10 kB message', { subject: 'long', message: 'Lorem ipsum "dolor" \\ sit amet.\n'.repeat(330) }],
  ])('compiles and replies with exactly the input: %s', async (_name, over) => {
    const input = { ...base, ...over };
    const script = renderVacationSieve(input);
    const c = await compile(script);
    expect(c.code, c.stderr + c.stdout).toBe(0);
    const o = await sieveTest(script);
    expect(o.vacations, o.raw).toBe(1);
    expect(o.redirects, o.raw).toBe(0);
    expect(o.subject).toBe(input.subject);
    expect(o.message).toBe(input.message.replace(/\r?\n/g, '\n'));
  });

  it('replies only inside [startsAt, endsAt), in UTC', async () => {
    const now = Date.now();
    const run = async (startsAt: Date | null, endsAt: Date | null) => (await sieveTest(renderVacationSieve({ ...base, startsAt, endsAt }))).vacations;
    expect(await run(new Date(now - hour), new Date(now + hour))).toBe(1);
    expect(await run(new Date(now - hour), null)).toBe(1);
    expect(await run(null, new Date(now + hour))).toBe(1);
    expect(await run(new Date(now + hour), null)).toBe(0);
    expect(await run(new Date(now + 60_000), new Date(now + hour))).toBe(0);
    expect(await run(null, new Date(now - 60_000))).toBe(0);
    expect(await run(new Date(now - 2 * hour), new Date(now - hour))).toBe(0);
  });

  it.each([
    ['List-Id', { 'List-Id': '<news.elsewhere.test>' }],
    ['List-Unsubscribe', { 'List-Unsubscribe': '<mailto:leave@elsewhere.test>' }],
    ['Precedence: bulk', { Precedence: 'bulk' }],
    ['Precedence: List', { Precedence: 'List' }],
    ['Precedence: junk', { Precedence: 'junk' }],
    ['Auto-Submitted: auto-replied', { 'Auto-Submitted': 'auto-replied' }],
    ['Auto-Submitted: auto-generated; x=y', { 'Auto-Submitted': 'auto-generated; x=y' }],
  ])('does not reply to %s (Pigeonhole alone would, in sieve-test)', async (_name, headers) => {
    const guarded = await sieveTest(renderVacationSieve(base), headers);
    expect(guarded.vacations, guarded.raw).toBe(0);
    const unguarded = await sieveTest('require "vacation";\r\nvacation :addresses ["carol@example.test"] "x";\r\n', headers);
    expect(unguarded.vacations).toBe(1);
  });

  it('still replies to Auto-Submitted: no and to Precedence: first-class', async () => {
    expect((await sieveTest(renderVacationSieve(base), { 'Auto-Submitted': 'no' })).vacations).toBe(1);
    expect((await sieveTest(renderVacationSieve(base), { Precedence: 'first-class' })).vacations).toBe(1);
  });

  it('the disabled script compiles and only keeps', async () => {
    const script = renderVacationSieve({ ...base, enabled: false });
    expect((await compile(script)).code).toBe(0);
    const o = await sieveTest(script);
    expect(o.vacations).toBe(0);
    expect(o.raw).toMatch(/store message in folder: INBOX/);
  });

  // The fuzz test's hostile strings (test/hostile-values.ts) as subject and as message, as
  // setAutoresponder hands them on (the subject trimmed; an empty one refused as REQUIRED): what the
  // renderer accepts (and so the API stores) compiles and replies with exactly the input; what it
  // refuses, the API refuses as a field error before anything is written.
  const handedOn = (field: 'subject' | 'message', raw: string) => (field === 'subject' ? raw.trim() : raw);
  const hostileCases = HOSTILE.flatMap((v, i) => [['subject', i, v] as const, ['message', i, v] as const]).filter(([f, , v]) => handedOn(f, v).trim() !== '');
  it.each(hostileCases)('hostile %s #%i: refused by the renderer, or compiled and replied verbatim', async (field, _i, raw) => {
    const value = handedOn(field, raw);
    const input = { ...base, [field]: value };
    let script: string;
    try {
      script = renderVacationSieve(input);
    } catch (e) {
      expect(e).toBeInstanceOf(SieveRenderError);
      return;
    }
    const c = await compile(script);
    expect(c.code, c.stderr + c.stdout).toBe(0);
    const o = await sieveTest(script);
    expect(o.vacations, o.raw).toBe(1);
    expect(o.redirects, o.raw).toBe(0);
    if (field === 'subject') expect(o.subject).toBe(value);
    else expect(o.message).toBe(value.replace(/\r?\n/g, '\n'));
  });

  it('uses :days for the reply period', async () => {
    const o = await sieveTest(renderVacationSieve({ ...base, days: 7 }));
    expect(o.raw).toMatch(/=> seconds : 604800/);
  });
});
