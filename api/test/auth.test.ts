import { describe, expect, it } from 'vitest';
import { decodeJwt, SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ADMIN, createMailbox, createTenant, startTestApp, success, waitFor } from '../../test/harness.js';

const LOGIN = `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename
  ... on MutationLoginSuccess { session { accessToken refreshToken accessTokenExpiresAt viewer { kind label } } }
  ... on TooManyAttemptsError { retryAfterSeconds }
  ... on Error { message } } }`;
const REFRESH = `mutation($r:String!){ refreshSession(refreshToken:$r){ __typename
  ... on MutationRefreshSessionSuccess { session { accessToken refreshToken } } ... on Error { message } } }`;
const VIEWER = `{ viewer { kind label readOnly } }`;

async function signed(claims: { sub: string; exp: number }) {
  return new SignJWT({ kind: 'user', role: 'ADMIN', cid: null, label: ADMIN.email })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuer('mailpanel')
    .setIssuedAt()
    .setExpirationTime(claims.exp)
    .sign(new TextEncoder().encode(process.env.JWT_SECRET!));
}

describe('authentication', async () => {
  const t = await startTestApp({ worker: true, listen: true });
  const tenant = await createTenant(t);
  const mailbox = await createMailbox(t, tenant.token, 'owner', tenant.domain, 'owner-pass-123');
  // Hand-signed tokens stand for the real first admin: a token of a user that does not exist is refused (auth-revocation.test.ts).
  const adminGlobalId = (await t.ok(`{ viewer { user { id } } }`, {}, t.adminToken)).viewer.user.id as string;
  const adminId = Buffer.from(adminGlobalId, 'base64').toString().split(':')[1]!;

  it('panel users and mailbox owners log in; wrong or unknown credentials get the same typed error', async () => {
    const admin = (await t.ok(LOGIN, { e: ADMIN.email.toUpperCase(), p: ADMIN.password })).login;
    expect(admin.session.viewer).toEqual({ kind: 'ADMIN', label: ADMIN.email });
    const owner = (await t.ok(LOGIN, { e: mailbox.address, p: 'owner-pass-123' })).login;
    expect(owner, JSON.stringify(owner)).toHaveProperty('session');
    expect(owner.session.viewer).toEqual({ kind: 'MAILBOX', label: mailbox.address });
    const wrong = (await t.ok(LOGIN, { e: mailbox.address, p: 'nope-nope-nope' })).login;
    const unknown = (await t.ok(LOGIN, { e: 'ghost@nowhere.example', p: 'nope-nope-nope' })).login;
    expect(wrong).toEqual({ __typename: 'AuthenticationError', message: 'Wrong e-mail address or password' });
    expect(unknown).toEqual(wrong);
    expect((await t.ok(VIEWER, {}, owner.session.accessToken)).viewer).toEqual({ kind: 'MAILBOX', label: mailbox.address, readOnly: false });
    expect((await t.ok(VIEWER)).viewer).toBeNull();
  });

  it('a disabled mailbox cannot log in to the panel', async () => {
    const m = await createMailbox(t, tenant.token, 'frozen', tenant.domain, 'frozen-pass-1');
    await t.ok(`mutation($id:ID!){ setMailboxStatus(id:$id, status:DISABLED){ __typename } }`, { id: m.id }, tenant.token);
    const r = (await t.ok(LOGIN, { e: m.address, p: 'frozen-pass-1' })).login;
    expect(r).toEqual({ __typename: 'AuthenticationError', message: 'This account is disabled' });
  });

  it('refresh tokens rotate; replaying a used one revokes the whole login', async () => {
    const first = (await t.ok(LOGIN, { e: ADMIN.email, p: ADMIN.password })).login.session;
    const second = success((await t.ok(REFRESH, { r: first.refreshToken })).refreshSession, 'session');
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await t.ok(VIEWER, {}, second.accessToken)).viewer.kind).toBe('ADMIN');
    await new Promise((r) => setTimeout(r, 1100)); // past REFRESH_REUSE_GRACE_SECONDS (1 s in tests)
    const replay = (await t.ok(REFRESH, { r: first.refreshToken })).refreshSession;
    expect(replay.__typename).toBe('AuthenticationError');
    // The legitimate successor was revoked with the family.
    expect((await t.ok(REFRESH, { r: second.refreshToken })).refreshSession.__typename).toBe('AuthenticationError');
  });

  it('the same refresh token twice within the grace (a reload during a refresh, two tabs) keeps the login: a successor each', async () => {
    const first = (await t.ok(LOGIN, { e: ADMIN.email, p: ADMIN.password })).login.session;
    const [a, b] = await Promise.all([t.ok(REFRESH, { r: first.refreshToken }), t.ok(REFRESH, { r: first.refreshToken })]);
    const sa = success(a.refreshSession, 'session');
    const sb = success(b.refreshSession, 'session');
    expect(sa.refreshToken).not.toBe(sb.refreshToken);
    for (const s of [sa, sb]) expect(success((await t.ok(REFRESH, { r: s.refreshToken })).refreshSession, 'session').accessToken).toBeTruthy();
  });

  it('logout ends the login', async () => {
    const s = (await t.ok(LOGIN, { e: ADMIN.email, p: ADMIN.password })).login.session;
    expect((await t.ok(`mutation($r:String!){ logout(refreshToken:$r) }`, { r: s.refreshToken })).logout).toBe(true);
    expect((await t.ok(REFRESH, { r: s.refreshToken })).refreshSession.__typename).toBe('AuthenticationError');
  });

  it('expired and forged access tokens are refused with a clear error', async () => {
    const expired = await signed({ sub: '00000000-0000-0000-0000-000000000000', exp: Math.floor(Date.now() / 1000) - 10 });
    const r = await t.gql(`{ mailboxes { totalCount } }`, {}, expired);
    expect(r.errors?.[0]).toMatchObject({ message: 'Access token expired', extensions: { code: 'UNAUTHENTICATED' } });
    const forged = expired.slice(0, -4) + 'AAAA';
    expect((await t.gql(`{ mailboxes { totalCount } }`, {}, forged)).errors?.[0]).toMatchObject({ message: 'Access token is invalid' });
  });

  it('a token without exp, signed with the real secret, is refused over HTTP and WebSocket', async () => {
    const sub = decodeJwt(t.adminToken).sub!;
    const forever = await new SignJWT({ kind: 'user', role: 'ADMIN', cid: null, label: ADMIN.email })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuer('mailpanel')
      .setIssuedAt()
      .sign(new TextEncoder().encode(process.env.JWT_SECRET!));
    for (let i = 0; i < 2; i++) {
      const r = await t.gql(`{ mailboxes { totalCount } }`, {}, forever);
      expect(r.data).toBeNull();
      expect(r.errors?.[0]).toMatchObject({ message: 'Access token is invalid', extensions: { code: 'UNAUTHENTICATED' } });
    }
    // The same claims with an exp are accepted: what is refused is the missing expiry.
    expect((await t.gql(`{ mailboxes { totalCount } }`, {}, await signed({ sub, exp: Math.floor(Date.now() / 1000) + 60 }))).data?.mailboxes).toBeTruthy();
    const closed = await new Promise<number>((resolve) => {
      const ws = new WebSocket(t.app.url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${forever}` } })));
      ws.on('close', (code) => resolve(code));
    });
    expect(closed).toBe(4401);
  });

  it('a token accepted before stops being accepted the second it expires (verified tokens are remembered, their expiry is not)', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = await signed({ sub: adminId, exp });
    expect((await t.gql(`{ __typename }`, {}, token)).errors).toBeUndefined();
    expect((await t.gql(`{ mailboxes { totalCount } }`, {}, token)).data.mailboxes).toBeTruthy();
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50));
    const late = await t.gql(`{ mailboxes { totalCount } }`, {}, token);
    expect(late.errors?.[0]).toMatchObject({ message: 'Access token expired', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('API tokens: shown once, stored hashed, act as the owner, READ_ONLY cannot write, revocation is immediate', async () => {
    const create = `mutation($n:String!,$s:ApiTokenScope){ createApiToken(name:$n, scope:$s){ __typename
      ... on MutationCreateApiTokenSuccess { created { token apiToken { id name prefix scope lastUsedAt } } } ... on Error { message } } }`;
    const full = success((await t.ok(create, { n: 'billing sync', s: 'FULL' }, tenant.token)).createApiToken, 'created');
    expect(full.token).toMatch(/^mpat_[A-Za-z0-9_-]{40,}$/);
    expect(full.token.startsWith(full.apiToken.prefix)).toBe(true);
    expect(full.apiToken.lastUsedAt).toBeNull();
    // The token itself never comes back.
    const listed = await t.ok(`{ apiTokens { edges { node { id name prefix lastUsedAt } } } }`, {}, tenant.token);
    expect(JSON.stringify(listed)).not.toContain(full.token);
    expect(listed.apiTokens.edges[0].node.lastUsedAt).toBeNull();

    const asToken = await t.ok(`{ viewer { kind label } mailboxes { totalCount } }`, {}, full.token);
    expect(asToken.viewer).toEqual({ kind: 'CUSTOMER', label: `${tenant.email} (token billing sync)` });
    expect(asToken.mailboxes.totalCount).toBeGreaterThan(0);
    const used = await t.ok(`{ apiTokens { edges { node { lastUsedAt } } } }`, {}, tenant.token);
    expect(used.apiTokens.edges[0].node.lastUsedAt).not.toBeNull();

    const ro = success((await t.ok(create, { n: 'monitoring', s: 'READ_ONLY' }, tenant.token)).createApiToken, 'created');
    expect((await t.ok(`{ viewer { readOnly } }`, {}, ro.token)).viewer.readOnly).toBe(true);
    const write = await t.gql(`mutation{ createForward(source:"x@${tenant.domain}", destinations:["a@b.example"]){ __typename } }`, {}, ro.token);
    expect(write.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    await t.ok(`mutation($id:ID!){ revokeApiToken(id:$id){ __typename } }`, { id: full.apiToken.id }, tenant.token);
    const after = await t.gql(`{ mailboxes { totalCount } }`, {}, full.token);
    expect(after.errors?.[0]).toMatchObject({ message: 'API token is invalid, expired or revoked', extensions: { code: 'UNAUTHENTICATED' } });
  });

  describe('graphql-ws', () => {
    const wsUrl = () => t.app.url.replace('http', 'ws') + '/graphql';

    it('authenticates from connectionParams and streams provisioning of a new mailbox', async () => {
      const client = createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tenant.token}` }, retryAttempts: 0 });
      const m = await t.ok(
        `mutation{ createMailbox(username:"streamed", domain:"${tenant.domain}", password:"streamed-pass-1"){ ... on MutationCreateMailboxSuccess { mailbox { id provisioning } } } }`,
        {},
        tenant.token,
      );
      const id = m.createMailbox.mailbox.id;
      const seen: string[] = [];
      const done = new Promise<void>((resolve, reject) => {
        const unsubscribe = client.subscribe<{ mailboxChanged: { provisioning: string } }>(
          { query: `subscription($id:ID!){ mailboxChanged(id:$id){ provisioning } }`, variables: { id } },
          {
            next: (v) => {
              seen.push(v.data!.mailboxChanged.provisioning);
              if (v.data!.mailboxChanged.provisioning === 'READY') {
                unsubscribe();
                resolve();
              }
            },
            error: reject,
            complete: () => {},
          },
        );
      });
      // The job may have finished before the subscription started; publish again by re-provisioning.
      await new Promise((r) => setTimeout(r, 300));
      await t.ok(`mutation($id:ID!){ setAutoresponder(mailboxId:$id, input:{enabled:false, subject:"", message:""}){ __typename } }`, { id }, tenant.token);
      await done;
      expect(seen).toContain('READY');
      await client.dispose();
    });

    it("another tenant's mailbox cannot be subscribed to", async () => {
      const other = await createTenant(t);
      const client = createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${other.token}` }, retryAttempts: 0 });
      const err = await new Promise<unknown>((resolve) => {
        client.subscribe({ query: `subscription($id:ID!){ mailboxChanged(id:$id){ id } }`, variables: { id: mailbox.id } }, {
          next: (v) => resolve(v.errors ?? null),
          error: resolve,
          complete: () => resolve(null),
        });
      });
      expect(JSON.stringify(err)).toContain('Mailbox not found');
      await client.dispose();
    });

    it('a socket opened with an API token is closed with 4401 once the token is revoked; other sockets go on', async () => {
      const created = success(
        (await t.ok(`mutation{ createApiToken(name:"ws feed"){ __typename ... on MutationCreateApiTokenSuccess { created { token apiToken { id } } } ... on Error { message } } }`, {}, tenant.token)).createApiToken,
        'created',
      );
      const open = (token: string) =>
        new Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }>((resolve, reject) => {
          const ws = new WebSocket(wsUrl(), 'graphql-transport-ws');
          const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
          ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
          ws.on('message', (m) => JSON.parse(m.toString()).type === 'connection_ack' && resolve({ ws, closed }));
          ws.on('error', reject);
        });
      const viaToken = await open(created.token);
      const viaSession = await open(tenant.token);
      await new Promise((r) => setTimeout(r, 1200)); // a re-check or two while the token is valid: still open
      expect(viaToken.ws.readyState).toBe(WebSocket.OPEN);
      await t.ok(`mutation($id:ID!){ revokeApiToken(id:$id){ __typename } }`, { id: created.apiToken.id }, tenant.token);
      expect(await viaToken.closed).toEqual({ code: 4401, reason: 'API token is invalid, expired or revoked' });
      expect(viaSession.ws.readyState).toBe(WebSocket.OPEN);
      viaSession.ws.close();
    });

    it('an expired token closes the socket with 4401; a token expiring mid-connection closes it then', async () => {
      const closeCode = (token: string) =>
        new Promise<{ code: number; reason: string }>((resolve) => {
          const ws = new WebSocket(wsUrl(), 'graphql-transport-ws');
          ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
          ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        });
      const expired = await signed({ sub: '00000000-0000-0000-0000-000000000000', exp: Math.floor(Date.now() / 1000) - 5 });
      expect(await closeCode(expired)).toEqual({ code: 4401, reason: 'Access token expired' });
      const soon = await signed({ sub: adminId, exp: Math.floor(Date.now() / 1000) + 2 });
      const started = Date.now();
      expect(await closeCode(soon)).toEqual({ code: 4401, reason: 'Access token expired' });
      expect(Date.now() - started).toBeGreaterThan(900);
    });
  });
});
