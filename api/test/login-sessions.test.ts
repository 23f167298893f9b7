// A person's open panel logins: listed with where and when they were opened and last used, the one
// in use marked; ending one refuses its refresh and access tokens at once and closes its WebSockets
// within a second; ending all others keeps this one; nobody ends another person's login.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createMailbox, createTenant, startTestApp } from '../../test/harness.js';

const LOGIN = `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ ... on MutationLoginSuccess { session { accessToken refreshToken } } ... on Error { message } } }`;
const SESSIONS = `{ viewer { sessions { id createdAt lastUsedAt clientIp userAgent current } } }`;
const END = `mutation($id:ID!){ r: endSession(id:$id){ __typename ... on MutationEndSessionSuccess { endedId } ... on Error { message } } }`;
const END_OTHERS = `mutation{ r: endOtherSessions{ __typename ... on MutationEndOtherSessionsSuccess { ended } } }`;
const REFRESH = `mutation($t:String!){ refreshSession(refreshToken:$t){ __typename } }`;

describe('sessions', async () => {
  const t = await startTestApp({ listen: true });
  const tenant = await createTenant(t);
  const wsUrl = () => t.app.url.replace('http', 'ws') + '/graphql';

  /** A login over HTTP with a User-Agent of its own (as a browser would send). */
  const loginAs = async (email: string, password: string, userAgent: string) => {
    const res = await fetch(`${t.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': userAgent },
      body: JSON.stringify({ query: LOGIN, variables: { e: email, p: password } }),
    });
    return ((await res.json()) as any).data.login.session as { accessToken: string; refreshToken: string };
  };
  /** A graphql-ws socket authenticated with an access token; resolves when it is acknowledged. */
  const socket = (token: string) =>
    new Promise<{ closed: Promise<{ code: number; at: number }> }>((resolve, reject) => {
      const ws = new WebSocket(wsUrl(), 'graphql-transport-ws');
      const closed = new Promise<{ code: number; at: number }>((r) => ws.on('close', (code) => r({ code, at: Date.now() })));
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      ws.on('message', (m) => JSON.parse(m.toString()).type === 'connection_ack' && resolve({ closed }));
      ws.on('error', reject);
    });

  it('lists each login with its address and browser, the current one marked', async () => {
    const m = await createMailbox(t, tenant.token, 'sessions', tenant.domain, 'Fern-Quartz-Bugle-56');
    const laptop = await loginAs(m.address, 'Fern-Quartz-Bugle-56', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0');
    const phone = await loginAs(m.address, 'Fern-Quartz-Bugle-56', 'Mozilla/5.0 (iPhone) Mobile Safari/605.1');
    const list = (await t.ok(SESSIONS, {}, laptop.accessToken)).viewer.sessions;
    expect(list).toHaveLength(2);
    expect(list.map((s: any) => s.userAgent).sort()).toEqual(['Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0', 'Mozilla/5.0 (iPhone) Mobile Safari/605.1'].sort());
    expect(list.every((s: any) => /127\.0\.0\.1/.test(s.clientIp))).toBe(true);
    expect(list.filter((s: any) => s.current).map((s: any) => s.userAgent)).toEqual(['Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0']);
    // A refresh is a use: it moves last-used and the list's order.
    const before = list.find((s: any) => !s.current).lastUsedAt;
    await new Promise((r) => setTimeout(r, 20));
    await t.ok(REFRESH, { t: phone.refreshToken });
    const after = (await t.ok(SESSIONS, {}, laptop.accessToken)).viewer.sessions;
    expect(Date.parse(after[0].lastUsedAt)).toBeGreaterThan(Date.parse(before));
    expect(after[0].current).toBe(false);
  });

  it('ending one refuses its tokens at once and closes its WebSocket within a second', async () => {
    const m = await createMailbox(t, tenant.token, 'sessions-end', tenant.domain, 'Gravel-Iris-Comet-38');
    const keep = await loginAs(m.address, 'Gravel-Iris-Comet-38', 'keep');
    const lost = await loginAs(m.address, 'Gravel-Iris-Comet-38', 'lost phone');
    const ws = await socket(lost.accessToken);
    const target = (await t.ok(SESSIONS, {}, keep.accessToken)).viewer.sessions.find((s: any) => s.userAgent === 'lost phone');
    const at = Date.now();
    expect((await t.ok(END, { id: target.id }, keep.accessToken)).r).toMatchObject({ endedId: target.id });
    const closed = await ws.closed;
    expect(closed.code).toBe(4401);
    expect(closed.at - at).toBeLessThan(1000);
    expect((await t.gql(`{ viewer { label } }`, {}, lost.accessToken)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await t.ok(REFRESH, { t: lost.refreshToken })).refreshSession.__typename).toBe('AuthenticationError');
    // The other one goes on, and the list no longer shows the ended login.
    const left = (await t.ok(SESSIONS, {}, keep.accessToken)).viewer.sessions;
    expect(left.map((s: any) => s.userAgent)).toEqual(['keep']);
    expect((await t.ok(END, { id: target.id }, keep.accessToken)).r.__typename).toBe('NotFoundError');
  });

  it('ending all others keeps this one', async () => {
    const m = await createMailbox(t, tenant.token, 'sessions-all', tenant.domain, 'Hollow-Jade-Anchor-74');
    const mine = await loginAs(m.address, 'Hollow-Jade-Anchor-74', 'mine');
    const a = await loginAs(m.address, 'Hollow-Jade-Anchor-74', 'a');
    await loginAs(m.address, 'Hollow-Jade-Anchor-74', 'b');
    expect((await t.ok(END_OTHERS, {}, mine.accessToken)).r.ended).toBe(2);
    expect((await t.ok(SESSIONS, {}, mine.accessToken)).viewer.sessions.map((s: any) => s.userAgent)).toEqual(['mine']);
    expect((await t.gql(`{ viewer { label } }`, {}, a.accessToken)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await t.gql(`{ viewer { label } }`, {}, mine.accessToken)).data?.viewer.label).toBe(m.address);
  });

  it("nobody ends another person's login, not even its customer or an administrator; API tokens have no sessions", async () => {
    const m = await createMailbox(t, tenant.token, 'sessions-other', tenant.domain, 'Ivory-Kettle-Nimbus-29');
    const theirs = await loginAs(m.address, 'Ivory-Kettle-Nimbus-29', 'theirs');
    const id = (await t.ok(SESSIONS, {}, theirs.accessToken)).viewer.sessions[0].id;
    for (const token of [tenant.token, t.adminToken]) expect((await t.ok(END, { id }, token)).r.__typename).toBe('NotFoundError');
    expect((await t.gql(`{ viewer { label } }`, {}, theirs.accessToken)).data?.viewer.label).toBe(m.address);
    const other = await createTenant(t);
    expect((await t.ok(END, { id }, other.token)).r.__typename).toBe('NotFoundError');
    const apiToken = (await t.ok(`mutation{ createApiToken(name:"s"){ ... on MutationCreateApiTokenSuccess { created { token } } } }`, {}, tenant.token)).createApiToken.created.token;
    expect((await t.ok(SESSIONS, {}, apiToken)).viewer.sessions).toBeNull();
    expect((await t.gql(END_OTHERS, {}, apiToken)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
