// A disabled or deleted user loses every right at once; an ended login or a revoked API token too,
// WebSockets included (closed through NOTIFY within a second, not at the 30 s re-check).
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';

// The periodic API-token re-check at its production default: what closes sockets here is NOTIFY.
process.env.API_TOKEN_RECHECK_SECONDS = '30';
const { createMailbox, createTenant, startTestApp, success } = await import('../../test/harness.js');

const UNAUTHENTICATED = { message: 'This login has ended or its account was disabled', extensions: { code: 'UNAUTHENTICATED' } };
const LOGIN = `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ ... on MutationLoginSuccess { session { accessToken refreshToken } } ... on Error { message } } }`;

describe('revocation', async () => {
  const t = await startTestApp({ worker: true, listen: true });
  const tenant = await createTenant(t);
  const wsUrl = () => t.app.url.replace('http', 'ws') + '/graphql';

  const createUser = async (email: string, role: 'ADMIN' | 'CUSTOMER', customerId?: string) => {
    const r = await t.ok(
      `mutation($e:String!,$r:Role!,$c:ID){ createUser(email:$e, password:"second-pass-12", role:$r, customerId:$c){ __typename ... on MutationCreateUserSuccess { user { id } } ... on Error { message } } }`,
      { e: email, r: role, c: customerId },
      t.adminToken,
    );
    const id = success(r.createUser, 'user').id as string;
    const session = (await t.ok(LOGIN, { e: email, p: 'second-pass-12' })).login.session;
    return { id, token: session.accessToken as string, refreshToken: session.refreshToken as string };
  };
  const userCount = async (email: string) => (await t.ok(`query($s:String){ users(search:$s){ edges { node { id } } } }`, { s: email }, t.adminToken)).users.edges.length;

  /** Opens a graphql-ws socket and subscribes to a mailbox; records what arrives and how it closes. */
  const watchMailbox = (token: string, mailboxId: string) =>
    new Promise<{ ws: WebSocket; events: unknown[]; closed: Promise<{ code: number; reason: string; at: number }> }>((resolve, reject) => {
      const ws = new WebSocket(wsUrl(), 'graphql-transport-ws');
      const events: unknown[] = [];
      const closed = new Promise<{ code: number; reason: string; at: number }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString(), at: Date.now() })));
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      ws.on('message', (m) => {
        const msg = JSON.parse(m.toString());
        if (msg.type === 'connection_ack') {
          ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription($id:ID!){ mailboxChanged(id:$id){ id status } }`, variables: { id: mailboxId } } }));
          setTimeout(() => resolve({ ws, events, closed }), 300);
        }
        if (msg.type === 'next') events.push(msg.payload);
      });
      ws.on('error', reject);
    });

  it("a disabled admin's token can no longer create an ADMIN user", async () => {
    const second = await createUser('second-admin@panel.test', 'ADMIN');
    await t.ok(`mutation($id:ID!){ updateUser(id:$id, disabled:true){ __typename } }`, { id: second.id }, t.adminToken);
    const r = await t.gql(`mutation{ createUser(email:"sneaky@panel.test", password:"sneaky-pass-12", role:ADMIN){ __typename } }`, {}, second.token);
    expect(r.errors?.[0]).toMatchObject(UNAUTHENTICATED);
    expect(await userCount('sneaky@panel.test')).toBe(0);
  });

  it("a deleted admin's token can no longer create a hosting package", async () => {
    const gone = await createUser('deleted-admin@panel.test', 'ADMIN');
    await t.ok(`mutation($id:ID!){ deleteUser(id:$id){ __typename } }`, { id: gone.id }, t.adminToken);
    const r = await t.gql(
      `mutation{ createHostingPackage(input:{name:"ghost-pkg", maxMailboxes:1, maxForwards:1, maxDomains:1, totalQuotaMb:0}){ __typename } }`,
      {},
      gone.token,
    );
    expect(r.errors?.[0]).toMatchObject(UNAUTHENTICATED);
    const pkgs = await t.ok(`{ hostingPackages(first:200){ edges { node { name } } } }`, {}, t.adminToken);
    expect(pkgs.hostingPackages.edges.map((e: { node: { name: string } }) => e.node.name)).not.toContain('ghost-pkg');
  });

  it('the request right after the disabling mutation is refused, every time, while the cached verdict was fresh', async () => {
    // The verdict is cached and dropped by NOTIFY, which arrives asynchronously: the mutation answers
    // only after this instance has heard its own commit (PgEventTarget.barrier), so there is no window.
    for (let i = 0; i < 25; i++) {
      const u = await createUser(`race-${i}@${tenant.domain}`, 'CUSTOMER', tenant.customerId);
      expect((await t.gql(`{ viewer { label } }`, {}, u.token)).data?.viewer.label).toBe(`race-${i}@${tenant.domain}`); // verdict cached
      await t.ok(`mutation($id:ID!){ updateUser(id:$id, disabled:true){ __typename } }`, { id: u.id }, t.adminToken);
      expect((await t.gql(`{ viewer { label } }`, {}, u.token)).errors?.[0], `attempt ${i}`).toMatchObject(UNAUTHENTICATED);
    }
  });

  it("a disabled customer's token can create neither a forward nor an API token", async () => {
    const cust = await createUser(`second@${tenant.domain}`, 'CUSTOMER', tenant.customerId);
    await t.ok(`mutation($id:ID!){ updateUser(id:$id, disabled:true){ __typename } }`, { id: cust.id }, t.adminToken);
    const fwd = await t.gql(`mutation{ createForward(source:"late@${tenant.domain}", destinations:["x@example.org"]){ __typename } }`, {}, cust.token);
    expect(fwd.errors?.[0]).toMatchObject(UNAUTHENTICATED);
    const tok = await t.gql(`mutation{ createApiToken(name:"late"){ __typename } }`, {}, cust.token);
    expect(tok.errors?.[0]).toMatchObject(UNAUTHENTICATED);
    const seen = await t.ok(`{ forwards { totalCount } apiTokens { edges { node { name } } } }`, {}, tenant.token);
    expect(seen.forwards.totalCount).toBe(0);
    expect(JSON.stringify(seen.apiTokens)).not.toContain('late');
  });

  it("a disabled mailbox's owner can no longer change its autoresponder, and its WebSocket closes within a second", async () => {
    const m = await createMailbox(t, tenant.token, 'frozen', tenant.domain, 'frozen-pass-12');
    const owner = (await t.ok(LOGIN, { e: m.address, p: 'frozen-pass-12' })).login.session.accessToken;
    const sub = await watchMailbox(owner, m.id);
    const disabledAt = Date.now();
    await t.ok(`mutation($id:ID!){ setMailboxStatus(id:$id, status:DISABLED){ __typename } }`, { id: m.id }, tenant.token);
    const closed = await sub.closed;
    expect(closed).toMatchObject({ code: 4401, reason: 'This login has ended or its account was disabled' });
    expect(closed.at - disabledAt).toBeLessThan(1000);
    const r = await t.gql(
      `mutation($id:ID!){ setAutoresponder(mailboxId:$id, input:{enabled:true, subject:"gone", message:"away"}){ __typename } }`,
      { id: m.id },
      owner,
    );
    expect(r.errors?.[0]).toMatchObject(UNAUTHENTICATED);
    const ar = await t.ok(`query($id:ID!){ node(id:$id){ ... on Mailbox { autoresponder { enabled subject } } } }`, { id: m.id }, tenant.token);
    expect(ar.node.autoresponder?.subject ?? '').not.toBe('gone');
  });

  it('logging out ends that login: its token is refused and its WebSocket closes within a second; other logins go on', async () => {
    const m = await createMailbox(t, tenant.token, 'leaver', tenant.domain, 'leaver-pass-12');
    const first = (await t.ok(LOGIN, { e: m.address, p: 'leaver-pass-12' })).login.session;
    const other = (await t.ok(LOGIN, { e: m.address, p: 'leaver-pass-12' })).login.session;
    const sub = await watchMailbox(first.accessToken, m.id);
    const otherSub = await watchMailbox(other.accessToken, m.id);
    const at = Date.now();
    expect((await t.ok(`mutation($r:String!){ logout(refreshToken:$r) }`, { r: first.refreshToken })).logout).toBe(true);
    const closed = await sub.closed;
    expect(closed.code).toBe(4401);
    expect(closed.at - at).toBeLessThan(1000);
    expect((await t.gql(`{ mailboxes { totalCount } }`, {}, first.accessToken)).errors?.[0]).toMatchObject(UNAUTHENTICATED);
    expect((await t.ok(`{ viewer { label } }`, {}, other.accessToken)).viewer.label).toBe(m.address);
    expect(otherSub.ws.readyState).toBe(WebSocket.OPEN);
    otherSub.ws.close();
  });

  it('a revoked API token: its WebSocket closes within a second and no event published after the revocation reaches it', async () => {
    const m = await createMailbox(t, tenant.token, 'watched', tenant.domain, 'watched-pass-12');
    const created = success(
      (await t.ok(`mutation{ createApiToken(name:"feed"){ __typename ... on MutationCreateApiTokenSuccess { created { token apiToken { id } } } ... on Error { message } } }`, {}, tenant.token))
        .createApiToken,
      'created',
    );
    const sub = await watchMailbox(created.token, m.id);
    const before = sub.events.length;
    const at = Date.now();
    await t.ok(`mutation($id:ID!){ revokeApiToken(id:$id){ __typename } }`, { id: created.apiToken.id }, tenant.token);
    // An event right after the revocation (disabling the mailbox publishes one) must not reach the revoked token.
    await t.ok(`mutation($id:ID!){ setMailboxStatus(id:$id, status:DISABLED){ __typename } }`, { id: m.id }, tenant.token);
    const closed = await sub.closed;
    expect(closed).toMatchObject({ code: 4401 });
    expect(closed.at - at).toBeLessThan(1000);
    expect(sub.events.slice(before)).toEqual([]);
  });

  it('{ viewer } with a revoked or malformed token answers UNAUTHENTICATED like every other field; without a token it is null', async () => {
    const quitter = await createUser(`quitter@${tenant.domain}`, 'CUSTOMER', tenant.customerId);
    await t.ok(`mutation($r:String!){ logout(refreshToken:$r) }`, { r: quitter.refreshToken });
    const revoked = await t.gql(`{ viewer { label } }`, {}, quitter.token);
    expect(revoked.errors?.[0]).toMatchObject(UNAUTHENTICATED);
    expect(revoked.data?.viewer ?? null).toBeNull();
    const malformed = await t.gql(`{ viewer { label } }`, {}, 'not-a-token');
    expect(malformed.errors?.[0]).toMatchObject({ message: 'Access token is invalid', extensions: { code: 'UNAUTHENTICATED' } });
    const revokedApi = await t.gql(`{ viewer { label } }`, {}, 'mpat_nonexistent0000000000000000000000000000');
    expect(revokedApi.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await t.gql(`{ viewer { label } }`)).data?.viewer).toBeNull();
  });
});
