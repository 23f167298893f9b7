// The panel's refresh token as an HttpOnly cookie: with "X-Session-Cookie: 1" a login sets it (and the
// body's refreshToken is null), refreshSession and logout read it when no token is passed, refreshes
// rotate it, a replayed old cookie after the grace ends the login, logout clears it. Without the header
// nothing changes for integrators: the token in the body, no cookie, the cookie ignored.
import { describe, expect, it } from 'vitest';
import { ADMIN, startTestApp } from '../../test/harness.js';

const SESSION = `session { accessToken refreshToken refreshTokenExpiresAt viewer { kind } }`;
const LOGIN = `mutation($e:String!,$p:String!){ r: login(email:$e,password:$p){ __typename ... on MutationLoginSuccess { ${SESSION} } ... on Error { message } } }`;
const REFRESH = `mutation{ r: refreshSession { __typename ... on MutationRefreshSessionSuccess { ${SESSION} } ... on Error { message } } }`;
const REFRESH_WITH = `mutation($t:String!){ r: refreshSession(refreshToken:$t) { __typename ... on MutationRefreshSessionSuccess { ${SESSION} } ... on Error { message } } }`;
const LOGOUT = `mutation{ r: logout }`;
const VIEWER = `{ viewer { kind } }`;
const PANEL = { 'x-session-cookie': '1' };

describe('session cookie', async () => {
  const t = await startTestApp();

  /** A GraphQL POST with the given headers; the answer's data and its Set-Cookie values. */
  const post = async (query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
    const res = await t.app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return { r: body.data.r, cookies: res.headers.getSetCookie() };
  };
  /** The value of mailpanel_refresh in a Set-Cookie list (as a browser would store it). */
  const valueOf = (cookies: string[]) => {
    expect(cookies).toHaveLength(1);
    return /^mailpanel_refresh=([^;]*)/.exec(cookies[0]!)![1]!;
  };
  const jar = (value: string) => ({ ...PANEL, cookie: `other=1; mailpanel_refresh=${value}` });
  const panelLogin = async () => {
    const { r, cookies } = await post(LOGIN, { e: ADMIN.email, p: ADMIN.password }, PANEL);
    expect(r.__typename).toBe('MutationLoginSuccess');
    return { session: r.session, cookies, token: valueOf(cookies) };
  };

  it('with the header a login sets an HttpOnly, SameSite=Strict cookie on /graphql and answers refreshToken null', async () => {
    const { session, cookies, token } = await panelLogin();
    expect(session.refreshToken).toBeNull();
    expect(session.accessToken).toBeTruthy();
    expect(token).toMatch(/^mprt/);
    const attrs = cookies[0]!.split(';').map((a) => a.trim());
    expect(attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/graphql']));
    const maxAge = Number(attrs.find((a) => a.startsWith('Max-Age='))!.split('=')[1]);
    const remaining = (Date.parse(session.refreshTokenExpiresAt) - Date.now()) / 1000;
    expect(Math.abs(maxAge - remaining)).toBeLessThan(5);
    // Plain http here: not Secure.
    expect(attrs).not.toContain('Secure');
    // The cookie is a working refresh token.
    expect((await post(REFRESH_WITH, { t: token })).r.__typename).toBe('MutationRefreshSessionSuccess');
  });

  it('behind TRUST_PROXY with X-Forwarded-Proto https the cookie is Secure', async () => {
    const { config } = await import('@mailpanel/core/env');
    const before = config().TRUST_PROXY;
    (config() as { TRUST_PROXY: boolean }).TRUST_PROXY = true;
    try {
      const { cookies } = await post(LOGIN, { e: ADMIN.email, p: ADMIN.password }, { ...PANEL, 'x-forwarded-proto': 'https' });
      expect(cookies[0]!.split(';').map((a) => a.trim())).toContain('Secure');
    } finally {
      (config() as { TRUST_PROXY: boolean }).TRUST_PROXY = before;
    }
  });

  it('without the header: the token in the body, no cookie, and a cookie sent along is not used', async () => {
    const { r, cookies } = await post(LOGIN, { e: ADMIN.email, p: ADMIN.password });
    expect(r.session.refreshToken).toMatch(/^mprt/);
    expect(cookies).toEqual([]);
    const refused = await post(REFRESH, {}, { cookie: `mailpanel_refresh=${r.session.refreshToken}` });
    expect(refused.r.__typename).toBe('AuthenticationError');
    expect(refused.cookies).toEqual([]);
    // That token was not used up by the refused call.
    const ok = await post(REFRESH_WITH, { t: r.session.refreshToken });
    expect(ok.r.__typename).toBe('MutationRefreshSessionSuccess');
    expect(ok.r.session.refreshToken).toMatch(/^mprt/);
  });

  it('refreshSession without a token reads the cookie and rotates it', async () => {
    const { token } = await panelLogin();
    const { r, cookies } = await post(REFRESH, {}, jar(token));
    expect(r.__typename).toBe('MutationRefreshSessionSuccess');
    expect(r.session.refreshToken).toBeNull();
    expect((await t.ok(VIEWER, {}, r.session.accessToken)).viewer.kind).toBe('ADMIN');
    const next = valueOf(cookies);
    expect(next).toMatch(/^mprt/);
    expect(next).not.toBe(token);
    expect((await post(REFRESH, {}, jar(next))).r.__typename).toBe('MutationRefreshSessionSuccess');
  });

  it('a replayed old cookie after the grace ends the login and clears the cookie', async () => {
    const { token } = await panelLogin();
    const rotated = await post(REFRESH, {}, jar(token));
    const next = valueOf(rotated.cookies);
    await new Promise((r) => setTimeout(r, 1100)); // past REFRESH_REUSE_GRACE_SECONDS (1 s in tests)
    const replay = await post(REFRESH, {}, jar(token));
    expect(replay.r).toEqual({ __typename: 'AuthenticationError', message: 'Session expired, please log in again' });
    expect(replay.cookies).toHaveLength(1);
    expect(replay.cookies[0]).toMatch(/^mailpanel_refresh=; Max-Age=0;/);
    // The successor went with the login.
    expect((await post(REFRESH, {}, jar(next))).r.__typename).toBe('AuthenticationError');
    expect((await t.gql(VIEWER, {}, rotated.r.session.accessToken)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('logout without a token ends the cookie’s login and clears the cookie', async () => {
    const { session, token } = await panelLogin();
    const { r, cookies } = await post(LOGOUT, {}, jar(token));
    expect(r).toBe(true);
    expect(cookies).toHaveLength(1);
    const attrs = cookies[0]!.split(';').map((a) => a.trim());
    expect(attrs).toEqual(expect.arrayContaining(['mailpanel_refresh=', 'Max-Age=0', 'Path=/graphql', 'HttpOnly', 'SameSite=Strict']));
    expect((await post(REFRESH, {}, jar(token))).r.__typename).toBe('AuthenticationError');
    expect((await t.gql(VIEWER, {}, session.accessToken)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('no token and no cookie: the typed error, not a crash; logout says false', async () => {
    expect((await post(REFRESH, {}, PANEL)).r).toEqual({ __typename: 'AuthenticationError', message: 'Not logged in: no refresh token was presented' });
    expect((await post(REFRESH)).r.__typename).toBe('AuthenticationError');
    expect((await post(LOGOUT)).r).toBe(false);
  });

  it('cross-origin callers may not send credentials (the header’s preflight is refused them)', async () => {
    const res = await t.app.yoga.fetch('http://localhost/graphql', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-session-cookie' },
    });
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
