// Login throttling that cannot lock anyone out, on the real API over real HTTP (several loopback
// source addresses stand for several clients) and the real PostgreSQL counters.
import { describe, expect, it } from 'vitest';
import http from 'node:http';

process.env.TRUST_PROXY = 'true';
const { createMailbox, createTenant, startTestApp } = await import('../../test/harness.js');

const LOGIN = `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename
  ... on MutationLoginSuccess { session { accessToken } }
  ... on TooManyAttemptsError { retryAfterSeconds }
  ... on Error { message } } }`;

describe('login throttling', async () => {
  const t = await startTestApp({ listen: true });
  const tenant = await createTenant(t);
  const port = Number(new URL(t.app.url).port);

  /** A login over HTTP from a loopback source address, optionally with an X-Forwarded-For header. */
  const loginFrom = (from: string, email: string, password: string, forwardedFor?: string) =>
    new Promise<{ __typename: string; retryAfterSeconds?: number; message?: string }>((resolve, reject) => {
      const body = JSON.stringify({ query: LOGIN, variables: { e: email, p: password } });
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/graphql',
          method: 'POST',
          localAddress: from,
          agent: false,
          headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(JSON.parse(text).data.login));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const kinds = (rs: { __typename: string }[]) => rs.map((r) => r.__typename);
  const auditCount = async (action: string, label: string) =>
    (await t.ok(`query($f:AuditEventFilter){ auditEvents(filter:$f){ totalCount } }`, { f: { action, search: label } }, t.adminToken)).auditEvents.totalCount;

  it("an attacker's flood from one address does not stop the owner logging in from another", async () => {
    const m = await createMailbox(t, tenant.token, 'flooded', tenant.domain, 'flooded-pass-1');
    const attacker = [];
    for (let i = 0; i < 8; i++) attacker.push(await loginFrom('127.0.0.2', m.address, `guess-${i}-xxxx`));
    expect(kinds(attacker)).toEqual([...Array(5).fill('AuthenticationError'), ...Array(3).fill('TooManyAttemptsError')]);
    // That address stays closed for this account, even with the right password…
    expect((await loginFrom('127.0.0.2', m.address, 'flooded-pass-1')).__typename).toBe('TooManyAttemptsError');
    // …while the owner, elsewhere, gets in.
    expect((await loginFrom('127.0.0.3', m.address, 'flooded-pass-1')).__typename).toBe('MutationLoginSuccess');
    expect(await auditCount('session.login_throttled', m.address)).toBe(1);
  });

  it('failures from many addresses slow the account down (growing delay) but the right password still logs in', { timeout: 30_000 }, async () => {
    const m = await createMailbox(t, tenant.token, 'botnet', tenant.domain, 'botnet-pass-1');
    const waits: number[] = [];
    for (const from of ['127.0.0.4', '127.0.0.5'])
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        expect((await loginFrom(from, m.address, `guess-${i}-xxxx`)).__typename).toBe('AuthenticationError');
        waits.push(Date.now() - started);
      }
    // The second address's guesses wait longer and longer (250 ms, 500 ms, 1 s…).
    expect(waits[9]!).toBeGreaterThan(waits[7]!);
    expect(waits[7]!).toBeGreaterThan(waits[5]!);
    const started = Date.now();
    expect((await loginFrom('127.0.0.7', m.address, 'botnet-pass-1')).__typename).toBe('MutationLoginSuccess');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(4500); // 10 failures: the 5 s cap
    expect(waited).toBeLessThan(9000);
    expect(await auditCount('session.login_slowed', m.address)).toBe(1);
    // The owner's success ends the slow-down.
    const again = Date.now();
    expect((await loginFrom('127.0.0.7', m.address, 'botnet-pass-1')).__typename).toBe('MutationLoginSuccess');
    expect(Date.now() - again).toBeLessThan(2000);
  });

  it('with LOGIN_MAX_FAILURES_PER_ACCOUNT=5 exactly 5 wrong passwords are checked, however many arrive at once', async () => {
    const m = await createMailbox(t, tenant.token, 'raced', tenant.domain, 'raced-pass-1');
    const all: string[] = [];
    // Bursts until none is checked any more (attempts refused for lack of a hash slot are not counted).
    for (let burst = 0; burst < 10; burst++) {
      const r = kinds(await Promise.all(Array.from({ length: 12 }, (_, i) => loginFrom('127.0.0.8', m.address, `wrong-${burst}-${i}-x`))));
      all.push(...r);
      if (!r.includes('AuthenticationError') && burst > 0) break;
    }
    expect(all.filter((k) => k === 'AuthenticationError')).toHaveLength(5);
    expect(await auditCount('session.login_failed', m.address)).toBe(5);
  });

  it('behind TRUST_PROXY, forged X-Forwarded-For entries change nothing: the address our proxy appended counts', async () => {
    const m = await createMailbox(t, tenant.token, 'forged', tenant.domain, 'forged-pass-1');
    const results = [];
    // The attacker writes a new "client address" each time; the proxy appends the one it saw (192.0.2.7).
    for (let i = 0; i < 9; i++) results.push(await loginFrom('127.0.0.9', m.address, `guess-${i}-xxxx`, `10.66.${i}.1, 192.0.2.7`));
    expect(kinds(results)).toEqual([...Array(5).fill('AuthenticationError'), ...Array(4).fill('TooManyAttemptsError')]);
    // The owner comes through the same proxy from their own address.
    expect((await loginFrom('127.0.0.9', m.address, 'forged-pass-1', '10.66.0.1, 198.51.100.4')).__typename).toBe('MutationLoginSuccess');
    const seen = await t.ok(
      `query($f:AuditEventFilter){ auditEvents(filter:$f){ edges { node { clientIp } } } }`,
      { f: { action: 'session.login_failed', search: m.address } },
      t.adminToken,
    );
    expect(new Set(seen.auditEvents.edges.map((e: { node: { clientIp: string } }) => e.node.clientIp))).toEqual(new Set(['192.0.2.7']));
  });
});
