// Outbound rate limits: the Postfix policy service over loopback against the real database, the live
// usage GraphQL shows next to each limit, and the admin overrides. (The mail-stack suite sends real
// mail through Postfix → the service.)
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp } from '../../test/harness.js';
import { endOfMessage, PolicyClient } from '../../test/policy-client.js';
import { CounterStore } from '../../worker/src/policy/counter-store.js';
import { startPolicyServer, UNAVAILABLE } from '../../worker/src/policy/server.js';

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } } ... on NotFoundError { entity }`;
const LIMIT = `kind limit used remaining resetsAt windowStart packageLimit override`;
const override = `mutation($id:ID!,$n:Int){ r: setSendingLimitOverride(id:$id, maxEmailsPerHour:$n){ __typename ... on MutationSetSendingLimitOverrideSuccess { sendingLimit { ${LIMIT} } } ${ERR} } }`;
const usage = `query($m:ID!,$d:ID!,$c:ID!){
  m: node(id:$m){ ... on Mailbox { sendingLimit { ${LIMIT} } } }
  d: node(id:$d){ ... on Domain { sendingLimit { ${LIMIT} } } }
  c: node(id:$c){ ... on Customer { sendingLimit { ${LIMIT} } } }
}`;
const DEFER = /^DEFER_IF_PERMIT 4\.7\.1 Sending limit reached/;

describe('outbound rate limits', async () => {
  // The counters start over every hour (UTC): never run across that boundary.
  const toNextHour = 3600_000 - (Date.now() % 3600_000);
  if (toNextHour < 45_000) await new Promise((r) => setTimeout(r, toNextHour + 1000));
  const t = await startTestApp();
  const T = await createTenant(t, { maxEmailsPerHourMailbox: 3, maxEmailsPerHourDomain: 5, maxEmailsPerHour: 7, maxDomains: 5 });
  const second = (await t.ok(`mutation($n:String!,$c:ID){ r: createDomain(name:$n, customerId:$c){ ... on MutationCreateDomainSuccess { domain { id name } } } }`, { n: `two-${T.domain}`, c: T.customerId }, t.adminToken)).r.domain;
  const [a, b, c, d, e] = await Promise.all([
    createMailbox(t, T.token, 'a', T.domain),
    createMailbox(t, T.token, 'b', T.domain),
    createMailbox(t, T.token, 'c', second.name),
    createMailbox(t, T.token, 'd', second.name),
    createMailbox(t, T.token, 'e', second.name),
  ]);
  const store = new CounterStore(process.env.DATABASE_URL!);
  const server = await startPolicyServer({ store, port: 0, cacheSeconds: 0 });
  const client = await PolicyClient.connect(server.port);
  const send = (m: { address: string }, rcpts = 1) => client.ask(endOfMessage(m.address.toUpperCase(), rcpts));
  /** `n` requests for one mailbox at once over 8 connections to each of these policy services. */
  const burst = async (ports: number[], n: number, address: string) => {
    const clients = await Promise.all(Array.from({ length: 8 * ports.length }, (_, i) => PolicyClient.connect(ports[i % ports.length]!)));
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => clients[i % clients.length]!.ask(endOfMessage(address))));
    clients.forEach((x) => x.close());
    return { accepted: answers.filter((x) => x === 'DUNNO').length, deferred: answers.filter((x) => DEFER.test(x)).length };
  };
  const used = async (m: { id: string }, token: string) =>
    (await t.ok(`query($m:ID!){ node(id:$m){ ... on Mailbox { sendingLimit { used } } } }`, { m: m.id }, token)).node.sendingLimit.used;

  it('the (N+1)th message in the hour is deferred per mailbox, per domain and per package total', async () => {
    // Mailbox a: 3 per hour.
    expect([await send(a), await send(a), await send(a)]).toEqual(['DUNNO', 'DUNNO', 'DUNNO']);
    const fourth = await send(a);
    expect(fourth).toMatch(DEFER);
    expect(fourth).toContain(`3 e-mails per hour for ${a.address}`);
    // Domain T: 5 per hour across a and b → b gets 2 more.
    expect([await send(b), await send(b)]).toEqual(['DUNNO', 'DUNNO']);
    const domainFull = await send(b);
    expect(domainFull).toMatch(DEFER);
    expect(domainFull).toContain(`for the domain ${T.domain}`);
    // Customer: 7 per hour across both domains → c and d get 2 together.
    expect([await send(c), await send(d)]).toEqual(['DUNNO', 'DUNNO']);
    const totalFull = await send(e);
    expect(totalFull).toMatch(DEFER);
    expect(totalFull).toContain('7 e-mails per hour for your account');
  });

  it('GraphQL shows { limit, used, resetsAt } for the mailbox, the domain and the package total', async () => {
    const u = await t.ok(usage, { m: a.id, d: T.domainId, c: T.customerId }, T.token);
    const hourEnd = new Date(Math.floor(Date.now() / 3600_000) * 3600_000 + 3600_000).toISOString();
    expect(u.m.sendingLimit).toEqual({ kind: 'MAILBOX', limit: 3, used: 3, remaining: 0, resetsAt: hourEnd, windowStart: expect.any(String), packageLimit: 3, override: null });
    expect(u.d.sendingLimit).toMatchObject({ kind: 'DOMAIN', limit: 5, used: 5, remaining: 0, resetsAt: hourEnd });
    expect(u.c.sendingLimit).toMatchObject({ kind: 'CUSTOMER', limit: 7, used: 7, remaining: 0, resetsAt: hourEnd });
    // The mailbox owner sees its own usage.
    const owner = await t.login(a.address, 'mailbox-pass-1');
    const mine = await t.ok(`query($m:ID!){ node(id:$m){ ... on Mailbox { sendingLimit { used limit } } } }`, { m: a.id }, owner);
    expect(mine.node.sendingLimit).toEqual({ used: 3, limit: 3 });
  });

  it('admins override a mailbox or domain limit (0 = unlimited, null = the package again); customers cannot', async () => {
    const refused = await t.gql(override, { id: a.id, n: 100 }, T.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await t.ok(override, { id: a.id, n: -1 }, t.adminToken)).r).toMatchObject({ fieldErrors: [{ field: 'maxEmailsPerHour', code: 'INVALID' }] });
    expect((await t.ok(override, { id: 'not-an-id', n: 1 }, t.adminToken)).r).toMatchObject({ __typename: 'NotFoundError' });

    const m = (await t.ok(override, { id: a.id, n: 0 }, t.adminToken)).r.sendingLimit;
    expect(m).toMatchObject({ kind: 'MAILBOX', limit: null, remaining: null, override: 0, packageLimit: 3, used: 3 });
    const dom = (await t.ok(override, { id: T.domainId, n: 50 }, t.adminToken)).r.sendingLimit;
    expect(dom).toMatchObject({ kind: 'DOMAIN', limit: 50, override: 50, used: 5 });
    // Mailbox and domain are free now; the package total (7, used) still binds.
    const still = await send(a);
    expect(still).toContain('for your account');
    await t.ok(`mutation($id:ID!){ updateHostingPackage(id:$id, input:{ maxEmailsPerHour: 0 }){ __typename } }`, { id: T.packageId }, t.adminToken);
    expect(await send(a)).toBe('DUNNO');
    expect((await t.ok(override, { id: a.id, n: null }, t.adminToken)).r.sendingLimit).toMatchObject({ limit: 3, override: null, used: 4 });
    expect(await send(a)).toMatch(DEFER);
    const audit = await t.ok(`{ auditEvents(filter:{action:"limits.override"}){ totalCount } }`, {}, t.adminToken);
    expect(audit.auditEvents.totalCount).toBe(3);
  });

  it('many concurrent requests for one mailbox never overshoot its limit', async () => {
    const f = await createMailbox(t, T.token, 'burst', T.domain);
    await t.ok(override, { id: f.id, n: 10 }, t.adminToken);
    expect(await burst([server.port], 40, f.address)).toEqual({ accepted: 10, deferred: 30 });
    expect(await used(f, T.token)).toBe(10);
  });

  it('two policy services (two mail nodes) sharing the counters never overshoot a limit together', async () => {
    // A customer of its own whose only binding limit is the mailbox's (0 = unlimited).
    const U = await createTenant(t, { maxEmailsPerHourMailbox: 30, maxEmailsPerHourDomain: 0, maxEmailsPerHour: 0 });
    const h = await createMailbox(t, U.token, 'twonodes', U.domain);
    const otherStore = new CounterStore(process.env.DATABASE_URL!);
    const otherNode = await startPolicyServer({ store: otherStore, port: 0, cacheSeconds: 0 });
    try {
      // The first message creates the hour's counters; the rest race on rows that exist.
      expect(await send(h)).toBe('DUNNO');
      expect(await burst([server.port, otherNode.port], 80, h.address)).toEqual({ accepted: 29, deferred: 51 });
      expect(await used(h, U.token)).toBe(30);
    } finally {
      await otherNode.close();
      await otherStore.close();
    }
  });

  it('a changed limit applies once the cached one is POLICY_CACHE_SECONDS old, even while the sender keeps sending', { timeout: 20_000 }, async () => {
    const U = await createTenant(t, { maxEmailsPerHourMailbox: 100, maxEmailsPerHourDomain: 0, maxEmailsPerHour: 0 });
    const m = await createMailbox(t, U.token, 'cached', U.domain);
    const cachedServer = await startPolicyServer({ store, port: 0, cacheSeconds: 1 });
    const c = await PolicyClient.connect(cachedServer.port);
    try {
      const readAt = Date.now();
      expect(await c.ask(endOfMessage(m.address))).toBe('DUNNO');
      await t.ok(override, { id: m.id, n: 1 }, t.adminToken);
      const answers: { at: number; answer: string }[] = [];
      while (Date.now() < readAt + 1800) {
        const at = Date.now();
        answers.push({ at, answer: await c.ask(endOfMessage(m.address)) });
        await new Promise((r) => setTimeout(r, 50));
      }
      const late = answers.filter((a) => a.at >= readAt + 1000);
      expect(late.length).toBeGreaterThan(0);
      expect(late.every((a) => DEFER.test(a.answer))).toBe(true);
    } finally {
      c.close();
      await cachedServer.close();
    }
  });

  it('a message to several recipients counts each recipient', async () => {
    const g = await createMailbox(t, T.token, 'multi', T.domain);
    await t.ok(override, { id: g.id, n: 5 }, t.adminToken);
    expect(await send(g, 3)).toBe('DUNNO');
    expect(await send(g, 3)).toMatch(DEFER);
    expect(await send(g, 2)).toBe('DUNNO');
  });

  it('answers DUNNO to what is not an authenticated end-of-message from a mailbox', async () => {
    expect(await client.ask({ ...endOfMessage(a.address), protocol_state: 'RCPT' })).toBe('DUNNO');
    expect(await client.ask({ ...endOfMessage(a.address), sasl_username: '' })).toBe('DUNNO');
    expect(await client.ask(endOfMessage('nobody@nowhere.test'))).toBe('DUNNO');
    expect(await client.ask({ ...endOfMessage(a.address), request: 'something_else' })).toBe('DUNNO');
  });

  it('closes the connection on a protocol violation, keeps serving others', async () => {
    const bad = await PolicyClient.connect(server.port);
    bad.writeRaw('this is not a policy request\n\n');
    await bad.closed();
    const bad2 = await PolicyClient.connect(server.port);
    bad2.writeRaw(`sender=${'x'.repeat(10_000)}`);
    await bad2.closed();
    expect(await client.ask(endOfMessage('nobody@nowhere.test'))).toBe('DUNNO');
  });

  it('answers with a temporary failure when the database cannot be reached', async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.port = '1';
    const down = new CounterStore(url.toString(), { max: 1 });
    const s = await startPolicyServer({ store: down, port: 0, cacheSeconds: 0 });
    const c2 = await PolicyClient.connect(s.port);
    expect(await c2.ask(endOfMessage(a.address))).toBe(UNAVAILABLE);
    c2.close();
    await s.close();
    await down.close();
  });

  it('npm run policy: the entrypoint listens on POLICY_PORT and decides', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/policy.ts'], {
      env: { ...process.env, POLICY_PORT: '0', POLICY_HOST: '127.0.0.1', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`policy service exited ${code}: ${out}`)));
      });
      const c3 = await PolicyClient.connect(port);
      expect(await c3.ask(endOfMessage(a.address))).toMatch(DEFER);
      expect(await c3.ask(endOfMessage('nobody@nowhere.test'))).toBe('DUNNO');
      c3.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  });

  it('stops cleanly', async () => {
    client.close();
    await server.close();
    await store.close();
  });
});
