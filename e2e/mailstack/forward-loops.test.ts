// Issue 12, item 1, on the real Postfix: forwarding loops. The API refuses every kind of loop
// (driven through GraphQL); a loop that still reaches the mail server — rows written behind the
// API's back — is bounced once with 5.4.6 instead of "451 4.3.0 alias expansion error" for ever.
// Checked from outside: SMTP transcript codes, Postfix's delivery log, the DSN at the capture sink.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailbox, createTenant, waitFor, type Tenant } from '../../test/harness.js';
import { headerOf, type CapturedMessage } from './capture-sink.js';
import { makeMessage, smtpSend } from './clients.js';
import { imapSubjects } from './imap.js';
import { startPanelOnMailstack, type PanelOnMailstack } from './panel.js';

const enabled = process.env.MAILSTACK_E2E === '1';
const OUT = 'outside.test';
const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } }`;
const CREATE = `mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ __typename ${ERR} } }`;

describe.skipIf(!enabled)('forwarding loops on the real Postfix (issue 12, item 1)', () => {
  let p: PanelOnMailstack;
  let A: Tenant;
  let B: Tenant;
  const a = (local: string) => `${local}@${A.domain}`;
  const b = (local: string) => `${local}@${B.domain}`;

  beforeAll(async () => {
    p = await startPanelOnMailstack();
    A = await createTenant(p, {}, 'loopa');
    B = await createTenant(p, {}, 'loopb');
  });
  afterAll(async () => {
    await p?.stop();
  });

  const create = async (tenant: Tenant, s: string, d: string[]) => (await p.ok(CREATE, { s, d }, tenant.token)).r;
  const mx = (to: string, subject: string, from: string) =>
    smtpSend({ port: p.ms.ports.smtp, from, to: [to], data: makeMessage({ from, to, subject }) });
  /** A forward as an older version or a hand-written INSERT leaves it: no checks at all. */
  const insertBehindTheApi = (source: string, destinations: string[]) =>
    p.db.client.query(
      `INSERT INTO forwards (domain_id, local_part, source, destinations) SELECT id, $2, $1, $3 FROM domains WHERE name = split_part($1, '@', 2)`,
      [source, source.split('@')[0], destinations],
    );
  const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const dsnTo = (sender: string) => (m: CapturedMessage) => m.mailFrom === '' && m.rcptTo.includes(sender);

  it('the API refuses each loop: direct, three steps, through +tag, through two customers\' catch-alls', async () => {
    await createMailbox(p, A.token, 'box', A.domain);
    const refusals: [Tenant, string, string[], string][] = [];
    expect((await create(A, a('one'), [a('two')])).__typename).toBe('MutationCreateForwardSuccess');
    refusals.push([A, a('two'), [a('one')], `${a('two')} → ${a('one')} → ${a('two')}`]);
    expect((await create(A, a('s1'), [a('s2')])).__typename).toBe('MutationCreateForwardSuccess');
    expect((await create(A, a('s2'), [a('s3'), a('box')])).__typename).toBe('MutationCreateForwardSuccess');
    refusals.push([A, a('s3'), [a('s1')], `${a('s3')} → ${a('s1')} → ${a('s2')} → ${a('s3')}`]);
    refusals.push([A, a('tag'), [a('tag+again')], `${a('tag')} → ${a('tag+again')} → ${a('tag')}`]);
    expect((await create(A, `*@${A.domain}`, [b('nobody')])).__typename).toBe('MutationCreateForwardSuccess');
    refusals.push([B, `*@${B.domain}`, [a('nobody')], `*@${B.domain} → ${a('nobody')} → … → ${b('nobody')} → *@${B.domain}`]);
    for (const [tenant, s, d, path] of refusals) {
      const r = await create(tenant, s, d);
      expect(r, s).toEqual({ __typename: 'ValidationError', message: expect.any(String), fieldErrors: [{ field: 'destinations', code: 'FORWARD_LOOP', message: `Mail would go round in a loop: ${path}` }] });
    }
    // Nothing of them reached the mail server: s1 still ends in box, the catch-all of A in B's refusal.
    const r = await mx(a('s1'), 'through the chain', `chain@${OUT}`);
    expect(r.ok, r.transcript.join('\n')).toBe(true);
    await waitFor(async () => (await imapSubjects({ port: p.ms.ports.imap, user: a('box'), pass: 'mailbox-pass-1' })).includes('through the chain'), 'delivered to box');
    const unknownInB = await mx(b('whoever'), 'no catch-all in B', `nobody@${OUT}`);
    expect(unknownInB.code, unknownInB.transcript.join('\n')).toBe(550);
  });

  // Each loop Postfix would otherwise expand a thousand times and defer with 451 4.3.0, for ever.
  const legacy: { name: string; rows: () => [string, string[]][]; to: () => string }[] = [
    { name: 'a → b → a', rows: () => [[a('ping'), [a('pong')]], [a('pong'), [a('ping')]]], to: () => a('ping') },
    { name: 'three steps', rows: () => [[a('t1'), [b('t2')]], [b('t2'), [a('t3')]], [a('t3'), [a('t1')]]], to: () => a('t1') },
    { name: 'x → x+tag', rows: () => [[b('self'), [b('self+tag')]]], to: () => b('self+other') },
    // B's catch-all closes the loop with A's (*@A → nobody@B, created above).
    { name: 'two catch-alls', rows: () => [[`*@${B.domain}`, [a('ghost')]]], to: () => b('anyone') },
    { name: 'a forward leading into a loop', rows: () => [[a('lead'), [a('ping')]]], to: () => a('lead') },
  ];

  for (const [i, c] of legacy.entries()) {
    it(`a loop saved behind the API's back (${c.name}) is accepted, then bounced once with 5.4.6 — no deferral`, async () => {
      for (const [source, destinations] of c.rows()) await insertBehindTheApi(source, destinations);
      const to = c.to();
      const sender = `sender${i}@${OUT}`;
      const since = await p.ms.logSize('postfix');
      const started = Date.now();
      const r = await mx(to, `loop ${i}`, sender);
      expect(r.ok, r.transcript.join('\n')).toBe(true);
      expect(r.code).toBe(250);
      const line = await p.ms.waitForLog('postfix', new RegExp(`orig_to=<${re(to)}>.*dsn=5\\.4\\.6, status=bounced \\(mail forwarding loop\\)`), { since });
      expect(line).toContain('to=<loop');
      const dsn = await p.ms.sink.waitFor(dsnTo(sender));
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(dsn.data).toMatch(/^Status: 5\.4\.6$/m);
      expect(dsn.data).toContain(`<${to}>`);
      expect(headerOf(dsn.data, 'Subject')).toMatch(/Undelivered Mail Returned to Sender/);
      // Once: a second look later finds still one DSN, and Postfix never deferred or hit its limits.
      await new Promise((res) => setTimeout(res, 1500));
      expect(p.ms.sink.messages.filter(dsnTo(sender))).toHaveLength(1);
      const written = (await readFile(p.ms.logs.postfix, 'utf8')).slice(since);
      expect(written).not.toMatch(/alias expansion error|unreasonable virtual_alias_maps|status=deferred/i);
    });
  }

  it('the daemons\' read-only role gets the loop answer from the same map Postfix reads', async () => {
    // The catch-all lookup Postfix makes for an unknown address of B, and two ordinary ones.
    expect(await p.ms.postmapQuery('pgsql-aliases.cf', `@${B.domain}`)).toBe('loop@forward-loop.invalid');
    expect(await p.ms.postmapQuery('pgsql-aliases.cf', a('s1'))).toBe(a('s2'));
    expect(await p.ms.postmapQuery('pgsql-aliases.cf', a('nothing-here'))).toBeNull();
  });
});
