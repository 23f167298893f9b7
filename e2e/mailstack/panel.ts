// The whole panel on top of the real mail stack, for tests that drive it only through GraphQL:
// an embedded PostgreSQL with the panel's migrations (pg-fixture.ts), Postfix + Dovecot reading
// that same database through their read-only role (harness.ts), and in this process the API
// (listening on a loopback port, for graphql-ws) and the real worker, configured as an operator
// would: MAIL_ROOT = the stack's vmail root, MAIL_UID/MAIL_GID = vmail, DOVECOT_CONFIG = the
// stack's dovecot.conf.
//
//   const p = await startPanelOnMailstack();   // in beforeAll
//   ... p.ok(mutation, vars, token), p.ms.ports.imap, p.ms.sink ...
//   await p.stop();                             // in afterAll: stops everything, even after a failure
//
// The app reads its settings once, on first use: call this before anything imports core/env.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { App } from '../../api/src/app.js';
import type { Worker } from '../../worker/src/worker.js';
import { ADMIN, type GqlResult, type TestApp } from '../../test/harness.js';
import { startMailstack, type Mailstack, type StartMailstackOptions } from './harness.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';
import { freePort } from '../../test/free-port.js';

export interface PanelOnMailstack extends TestApp {
  ms: Mailstack;
  db: TestDatabase;
  /** ws://…/graphql of the listening API */
  wsUrl: string;
  stop(): Promise<void>;
}

export interface PanelOnMailstackOptions {
  /** More options for startMailstack (e.g. milter, policyService). */
  mailstack?: Omit<StartMailstackOptions, 'databaseUrl'>;
  /** More settings for the panel (set before it reads them); a function gets the started stack (its ports). */
  env?: Record<string, string> | ((ms: Mailstack) => Record<string, string>);
}

export async function startPanelOnMailstack(opts: PanelOnMailstackOptions = {}): Promise<PanelOnMailstack> {
  let db: TestDatabase | undefined;
  let ms: Mailstack | undefined;
  let app: App | undefined;
  let worker: Worker | undefined;
  let closeDb: (() => Promise<void>) | undefined;
  let dataDir: string | undefined;
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const problems: unknown[] = [];
    const step = async (fn: (() => Promise<unknown>) | undefined) => {
      try {
        await fn?.();
      } catch (e) {
        problems.push(e);
      }
    };
    await step(worker && (() => worker!.stop()));
    await step(app && (() => app!.stop()));
    await step(closeDb);
    await step(ms && (() => ms!.stop()));
    await step(db && (() => db!.stop()));
    await step(dataDir ? () => rm(dataDir!, { recursive: true, force: true }) : undefined);
    if (problems.length) console.error('panel on mailstack: stop problems', problems);
  };

  try {
    db = await startTestDatabase();
    // The API's port is chosen first: Dovecot reports logins to it (app passwords' last use).
    const apiPort = await freePort();
    const policySecret = randomBytes(24).toString('hex');
    ms = await startMailstack({
      authPolicy: { url: `http://127.0.0.1:${apiPort}/internal/dovecot-auth-policy`, secret: policySecret },
      ...opts.mailstack,
      databaseUrl: db.url,
    });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mailpanel-e2e-'));
    await chmod(dataDir, 0o700);
    Object.assign(process.env, {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      ...ms.panelEnv,
      JWT_SECRET: randomBytes(32).toString('hex'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DB_POOL_SIZE: '5',
      DOVECOT_AUTH_POLICY_SECRET: policySecret,
      ...(typeof opts.env === 'function' ? opts.env(ms) : opts.env),
    });

    const { ensureFirstAdmin } = await import('../../core/src/bootstrap.js');
    const { buildApp } = await import('../../api/src/app.js');
    const dbModule = await import('../../core/src/db.js');
    closeDb = dbModule.closeDb;
    await ensureFirstAdmin();
    app = await buildApp();
    const url = await app.start(apiPort, '127.0.0.1');
    worker = await (await import('../../worker/src/worker.js')).startWorker();

    const theApp = app;
    const gql: TestApp['gql'] = async (query, variables, token, headers = {}) => {
      const res = await theApp.yoga.fetch('http://localhost/graphql', {
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
    return {
      app,
      worker,
      gql,
      ok,
      login,
      adminToken: await login(ADMIN.email, ADMIN.password),
      ms,
      db,
      wsUrl: `${url.replace(/^http/, 'ws')}/graphql`,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
