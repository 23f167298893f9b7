// Test fixtures that go through the public interface: the real app (yoga.fetch in-process, or a real
// port for WebSockets), the real worker, and tenants seeded with GraphQL mutations.
import pg from 'pg';
import { afterAll } from 'vitest';
import type { App } from '../api/src/app.js';
import type { Worker } from '../worker/src/worker.js';

export const ADMIN = { email: 'admin@panel.test', password: 'admin-password-1' };

export interface GqlResult<T = any> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export interface TestApp {
  app: App;
  worker?: Worker;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string, headers?: Record<string, string>): Promise<GqlResult<T>>;
  /** gql() that fails the test on any GraphQL error, returning data. */
  ok<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<T>;
  login(email: string, password: string): Promise<string>;
  adminToken: string;
}

/** What the fixtures below need from an app: GraphQL requests and logins, and an admin's token. */
export type GqlClient = Pick<TestApp, 'gql' | 'ok' | 'login' | 'adminToken'>;

/** gql/ok/login over one way of POSTing to /graphql: the in-process yoga, or a running API's URL. */
export function gqlOver(post: (init: RequestInit) => Response | Promise<Response>): Omit<GqlClient, 'adminToken'> {
  const gql: TestApp['gql'] = async (query, variables, token, headers = {}) => {
    const res = await post({
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GqlResult;
  };
  const ok: TestApp['ok'] = async (query, variables, token) => {
    const r = await gql(query, variables, token);
    if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
    return r.data;
  };
  const login = async (email: string, password: string) => {
    const d = await ok(
      `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename ... on MutationLoginSuccess { session { accessToken } } ... on Error { message } } }`,
      { e: email, p: password },
    );
    if (d.login.__typename !== 'MutationLoginSuccess') throw new Error(`login failed for ${email}: ${d.login.message}`);
    return d.login.session.accessToken as string;
  };
  return { gql, ok, login };
}

/** A client of an API running in another process (base URL without /graphql), logged in as ADMIN. */
export async function remoteApi(baseUrl: string): Promise<GqlClient> {
  const client = gqlOver((init) => fetch(`${baseUrl}/graphql`, init));
  return { ...client, adminToken: await client.login(ADMIN.email, ADMIN.password) };
}

export async function startTestApp(opts: { worker?: boolean; listen?: boolean } = {}): Promise<TestApp> {
  process.env.ADMIN_EMAIL = ADMIN.email;
  process.env.ADMIN_PASSWORD = ADMIN.password;
  const { ensureFirstAdmin } = await import('../core/src/bootstrap.js');
  const { buildApp } = await import('../api/src/app.js');
  const { closeDb } = await import('../core/src/db.js');
  await ensureFirstAdmin();
  const app = await buildApp();
  if (opts.listen) await app.start(0, '127.0.0.1');
  const worker = opts.worker ? await (await import('../worker/src/worker.js')).startWorker() : undefined;

  const client = gqlOver((init) => app.yoga.fetch('http://localhost/graphql', init));
  const t: TestApp = { app, worker, ...client, adminToken: await client.login(ADMIN.email, ADMIN.password) };
  afterAll(async () => {
    await worker?.stop();
    await app.stop(0);
    await closeDb();
  });
  return t;
}

/** Unwraps a mutation result union: returns the success payload or throws with the error. */
export function success<T = any>(result: any, field: string): T {
  if (!result || !(field in result)) throw new Error(`expected success, got ${JSON.stringify(result)}`);
  return result[field];
}

export interface Tenant {
  customerId: string;
  packageId: string;
  domainId: string;
  domain: string;
  token: string;
  email: string;
}

let seq = 0;
/** A customer with a package, a login and one domain, created through the API as admin. */
export async function createTenant(t: GqlClient, limits: Record<string, number> = {}, name = `c${++seq}${Date.now() % 100000}`): Promise<Tenant> {
  const pkg = await t.ok(
    `mutation($i:HostingPackageInput!){ createHostingPackage(input:$i){ ... on MutationCreateHostingPackageSuccess { hostingPackage { id } } ... on Error { message } } }`,
    { i: { name: `pkg-${name}`, maxMailboxes: 50, maxForwards: 50, maxDomains: 5, totalQuotaMb: 0, ...limits } },
    t.adminToken,
  );
  const packageId = success(pkg.createHostingPackage, 'hostingPackage').id;
  const c = await t.ok(
    `mutation($n:String!,$p:ID!){ createCustomer(name:$n, packageId:$p){ ... on MutationCreateCustomerSuccess { customer { id } } ... on Error { message } } }`,
    { n: name, p: packageId },
    t.adminToken,
  );
  const customerId = success(c.createCustomer, 'customer').id;
  const email = `owner@${name}.example`;
  const u = await t.ok(
    `mutation($e:String!,$c:ID!){ createUser(email:$e, password:"customer-pass-1", role:CUSTOMER, customerId:$c){ ... on MutationCreateUserSuccess { user { id } } ... on Error { message } } }`,
    { e: email, c: customerId },
    t.adminToken,
  );
  success(u.createUser, 'user');
  const domain = `${name}.example`;
  const d = await t.ok(
    `mutation($n:String!,$c:ID!){ createDomain(name:$n, customerId:$c){ ... on MutationCreateDomainSuccess { domain { id } } ... on Error { message } } }`,
    { n: domain, c: customerId },
    t.adminToken,
  );
  return { customerId, packageId, domainId: success(d.createDomain, 'domain').id, domain, email, token: await t.login(email, 'customer-pass-1') };
}

export const CREATE_MAILBOX = `mutation($u:String!,$d:String!,$p:String!,$q:Int){
  createMailbox(username:$u, domain:$d, password:$p, quotaMb:$q){
    __typename
    ... on MutationCreateMailboxSuccess { mailbox { id address quotaMb status provisioning } }
    ... on ValidationError { message fieldErrors { field code message } }
    ... on LimitExceededError { message limit max field }
    ... on NotFoundError { message }
  }
}`;

export async function createMailbox(t: GqlClient, token: string, username: string, domain: string, password = 'mailbox-pass-1', quotaMb?: number) {
  const d = await t.ok(CREATE_MAILBOX, { u: username, d: domain, p: password, q: quotaMb }, token);
  return success(d.createMailbox, 'mailbox') as { id: string; address: string; quotaMb: number; status: string; provisioning: string };
}

export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Error-level output while fn runs: the logger's error lines on stderr, and console.error (which libraries use). */
export async function errorOutputOf(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const write = process.stderr.write;
  const consoleError = console.error;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (String(chunk).includes('"level":"error"')) lines.push(String(chunk));
    return write.call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  console.error = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  try {
    await fn();
  } finally {
    process.stderr.write = write;
    console.error = consoleError;
  }
  return lines;
}

/** One statement on the test database as a plain client sees it (mail views, functions, pg-boss rows). */
export async function sql<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}
