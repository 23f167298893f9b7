// The API process: graphql-yoga over node:http, graphql-ws on the same port (sharing yoga's envelop
// so WebSocket operations get the same context, plugins and error masking), pg-boss to enqueue jobs,
// and the PostgreSQL LISTEN/NOTIFY event target that feeds subscriptions. buildApp() returns
// { start, stop } so tests and the launcher own the lifecycle.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, type YogaInitialContext } from 'graphql-yoga';
import type { PgBoss } from 'pg-boss';
import { getOperationAST, GraphQLError, type ExecutionArgs } from 'graphql';
import { PothosValidationError } from '@pothos/core';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { config } from '@mailpanel/core/env';
import { databaseUrl, db, isDatabaseUnavailable } from '@mailpanel/core/db';
import { AppError } from '@mailpanel/core/errors';
import { createBoss, ensureQueues } from '@mailpanel/core/jobs';
import { PgEventTarget } from '@mailpanel/core/pubsub';
import { log } from '@mailpanel/core/logger';
import { logDatabaseErrors } from '@mailpanel/core/database-outage';
import { schema } from './schema/index.js';
import type { Context } from './context.js';
import { createAppPubSub, SubscriptionFanOut } from './pubsub.js';
import { clientIp, resolveViewer, type ResolvedViewer } from './viewer-from-request.js';
import { AUTH_POLICY_PATH, handleAuthPolicy } from './dovecot-auth-policy.js';
import { watchApiTokenSockets } from './ws-token-watch.js';
import { revocations } from './auth/revocation.js';
import { useQueryLimits } from './query-limits.js';
import { useCompiledQueries } from './compiled-queries.js';
import { readBodyWithin } from './request-body.js';
import { useCursorCheck } from './cursor-check.js';
import { GRAPHIQL_ASSETS_PATH, renderGraphiQLPage, serveGraphiQLAsset } from './graphiql.js';
import { NO_COOKIES, sessionCookieJar, useSessionCookies } from './session-cookie.js';

export const GRAPHQL_PATH = '/graphql';
/** Codes of expected failures thrown outside a typed result (e.g. a malformed id in node(id:)). */
const APP_ERROR_CODES: Record<string, string> = { NotFoundError: 'NOT_FOUND', ValidationError: 'BAD_USER_INPUT' };
/** WebSocket close code when the access token presented (or its expiry) ends the connection. */
export const WS_CLOSE_UNAUTHORIZED = 4401;

type RequestHandler = (req: IncomingMessage, res: import('node:http').ServerResponse, next: () => void) => void;

export interface App {
  server: Server;
  /** The API's pg-boss handle (enqueue-only: it runs no handlers). */
  boss: PgBoss;
  url: string;
  yoga: ReturnType<typeof createYoga<{ req?: IncomingMessage }, Context>>;
  start(port?: number, host?: string): Promise<string>;
  /** Drains for graceMs (default SHUTDOWN_GRACE_MS), then closes sockets, servers and queues. */
  stop(graceMs?: number): Promise<void>;
}

/** What yoga's context gets besides the request: node's request (HTTP), or the WebSocket's viewer and address. */
interface WsInitialContext {
  req?: IncomingMessage;
  wsViewer?: ResolvedViewer;
  wsClientIp?: string | null;
}

export async function buildApp(opts: { webHandler?: RequestHandler } = {}): Promise<App> {
  const boss = createBoss(databaseUrl(), { supervise: false });
  boss.on('error', logDatabaseErrors('pg-boss (api)'));
  await boss.start();
  await ensureQueues(boss);
  const events = new PgEventTarget(databaseUrl());
  await events.start();
  const pubsub = createAppPubSub(events);
  const stopRevocations = revocations.listen(events);

  const yoga = createYoga<WsInitialContext, Context>({
    schema,
    plugins: [
      useCompiledQueries(),
      useQueryLimits({
        maxDepth: config().MAX_QUERY_DEPTH,
        maxCost: config().MAX_QUERY_COST,
        defaultPageSize: 50,
        maxPageSize: config().MAX_PAGE_SIZE,
      }),
      useCursorCheck(),
      useSessionCookies(),
      // A mutation answers only after this instance has heard every NOTIFY its commit sent: a login it
      // disabled or ended is refused by the very next request here (other instances hear it within
      // milliseconds). Revocation triggers fire for changes made anywhere, hence a barrier, not a list.
      {
        onExecute: ({ args }: { args: ExecutionArgs }) =>
          getOperationAST(args.document, args.operationName)?.operation === 'mutation' ? { onExecuteDone: () => events.barrier() } : undefined,
      },
    ],
    // One operation per request: a batch of 1,000 logins must not slip past the throttle in one request.
    batching: false,
    // The body is already read within MAX_REQUEST_BYTES, counted by bytes (request-body.ts); yoga's own
    // limit would pipe every read body through a stream again.
    maxRequestBodySize: false,
    // Cross-origin callers (integrators' pages) may use bearer tokens, never the panel's cookie: no
    // credentialed cross-origin requests (yoga's default would allow them for any origin).
    cors: { credentials: false },
    graphqlEndpoint: GRAPHQL_PATH,
    // GraphiQL: a small page linking its bundled assets (graphiql.ts), served cacheable and compressed.
    graphiql: config().graphiql ? { subscriptionsProtocol: 'WS', title: 'Mail panel API' } : false,
    renderGraphiQL: renderGraphiQLPage,
    landingPage: false,
    logging: {
      debug: (...a: unknown[]) => log.debug('yoga', { detail: a.map(String).join(' ') }),
      info: (...a: unknown[]) => log.debug('yoga', { detail: a.map(String).join(' ') }),
      warn: (...a: unknown[]) => log.warn('yoga', { detail: a.map(String).join(' ') }),
      // Expected errors are answers, not server faults; unexpected ones are logged by maskError.
      error: (...a: unknown[]) => log.debug('yoga', { detail: a.map(String).join(' ') }),
    },
    maskedErrors: {
      // Expected failures thrown outside a typed result (e.g. while opening a subscription) keep their message.
      maskError: (error, message) => {
        const original = error instanceof GraphQLError ? error.originalError : error;
        if (original instanceof AppError)
          return new GraphQLError(original.message, { extensions: { code: APP_ERROR_CODES[original.name] ?? original.name } });
        // Pothos refusing an argument (a cursor, an id) it could not read: the client's mistake. Its
        // message may quote the whole argument; a few characters are enough.
        if (original instanceof PothosValidationError)
          return new GraphQLError(original.message.length > 60 ? `${original.message.slice(0, 60)}…` : original.message, { extensions: { code: 'BAD_USER_INPUT' } });
        if (isDatabaseUnavailable(original))
          return new GraphQLError('The service is briefly unavailable; retry shortly', {
            extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503, headers: { 'retry-after': '5' } } },
          });
        // PostgreSQL refuses NUL (22021) and lone surrogates in JSON (22P05). Typed checks catch them on
        // known fields; this is the net for the rest.
        if (original && /\b22021\b|\b22P05\b|invalid byte sequence|unsupported Unicode escape/.test(`${(original as { code?: string }).code} ${(original as Error).message}`))
          return new GraphQLError('Input must be valid Unicode text without NUL characters', { extensions: { code: 'BAD_USER_INPUT' } });
        if (error instanceof GraphQLError && !error.originalError) return error;
        if (original instanceof GraphQLError) return original;
        log.error('unexpected error', { err: original });
        return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      },
    },
    context: async (init: YogaInitialContext & WsInitialContext): Promise<Context> => {
      const resolved = init.wsViewer ?? (await resolveViewer(init.request.headers.get('authorization')));
      return {
        viewer: resolved.viewer,
        authError: resolved.authError,
        clientIp: init.wsViewer ? (init.wsClientIp ?? null) : clientIp(init.req),
        userAgent: init.wsViewer ? null : init.request.headers.get('user-agent'),
        sessionCookie: init.wsViewer ? NO_COOKIES : sessionCookieJar(init.request, init.req),
        boss,
        pubsub,
      };
    },
  });

  // Graceful shutdown: while draining, /healthz says 503 (a load balancer stops sending) and every
  // answer closes its connection, so requests already on their way are still served before close.
  let draining = false;
  const server = createServer((req, res) => {
    if (draining) res.setHeader('connection', 'close');
    const path = (req.url ?? '/').split('?')[0];
    if (path === GRAPHQL_PATH) {
      if (req.method === 'GET' || req.method === 'HEAD') return yoga(req, res, { req });
      void readBodyWithin(req, res, config().MAX_REQUEST_BYTES).then((body) => {
        if (!body) return;
        // yoga (@whatwg-node/server) takes an already-read body from req.body instead of the stream.
        (req as IncomingMessage & { body?: Buffer }).body = body;
        return yoga(req, res, { req });
      });
      return;
    }
    if (path.startsWith(GRAPHIQL_ASSETS_PATH) && config().graphiql && serveGraphiQLAsset(req, res, path)) return;
    const policySecret = config().DOVECOT_AUTH_POLICY_SECRET;
    if (path === AUTH_POLICY_PATH && policySecret) return void handleAuthPolicy(req, res, policySecret);
    if (path === '/healthz') {
      if (draining) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"ok":false,"draining":true}');
      db().$queryRaw`SELECT 1`.then(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
        () => res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' }).end('{"ok":false}'),
      );
      return;
    }
    if (opts.webHandler) return opts.webHandler(req, res, () => res.writeHead(404).end('Not found'));
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
  });

  // graphql-ws. A socket keeps only what it needs: its viewer (checked once, at connection_init), the
  // client address, and a timer that closes it with 4401 when its access token expires. Subscribers
  // asking the same thing as the same viewer share one subscription (SubscriptionFanOut in pubsub.ts):
  // one execution per event, one result sent to each; every socket still has its own expiry. No
  // per-message deflate: a zlib context per socket costs more than it saves on these small messages.
  // maxPayload: a WebSocket message is held to the same limit as an HTTP body (ws closes the socket
  // with 1009 before the message is handed to graphql-ws).
  const wsServer = new WebSocketServer({ server, path: GRAPHQL_PATH, perMessageDeflate: false, maxPayload: config().MAX_REQUEST_BYTES });
  const timers = new Set<NodeJS.Timeout>();
  const apiTokenSockets = watchApiTokenSockets(config().API_TOKEN_RECHECK_SECONDS, WS_CLOSE_UNAUTHORIZED);
  type Envelop = ReturnType<typeof yoga.getEnveloped>;
  type WsArgs = ExecutionArgs & { rootValue: { execute: Envelop['execute']; subscribe: Envelop['subscribe']; key: string } };
  const fanOut = new SubscriptionFanOut<WsArgs>();
  useServer<Record<string, unknown>, { resolved: ResolvedViewer; clientIp: string | null }>(
    {
      execute: (args) => (args as WsArgs).rootValue.execute(args),
      subscribe: (args) => {
        const a = args as WsArgs;
        return fanOut.subscribe(a.rootValue.key, a, (first) => first.rootValue.subscribe(first) as never) as never;
      },
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const auth = (params.authorization ?? params.Authorization ?? params.token) as string | undefined;
        const resolved = await resolveViewer(auth);
        if (auth && resolved.authError) {
          ctx.extra.socket.close(WS_CLOSE_UNAUTHORIZED, resolved.authError);
          return false;
        }
        ctx.extra.resolved = resolved;
        ctx.extra.clientIp = clientIp(ctx.extra.request);
        // The upgrade request (headers and all) is not needed any more: let it go.
        (ctx.extra as { request?: IncomingMessage }).request = undefined;
        if (resolved.viewer.kind === 'user' && resolved.viewer.tokenId) apiTokenSockets.add(resolved.viewer.tokenId, ctx.extra.socket);
        // Closed the moment its user, mailbox, login or token is revoked (NOTIFY, auth/revocation.ts).
        if (resolved.viewer.kind !== 'anonymous') await revocations.watch(resolved.viewer, ctx.extra.socket, WS_CLOSE_UNAUTHORIZED);
        if (resolved.expiresAt) {
          // The socket lives only as long as the token that opened it.
          const socket = ctx.extra.socket;
          const timer = setTimeout(() => socket.close(WS_CLOSE_UNAUTHORIZED, 'Access token expired'), Math.max(0, resolved.expiresAt - Date.now()));
          timers.add(timer);
          socket.once('close', () => {
            clearTimeout(timer);
            timers.delete(timer);
          });
        }
        return true;
      },
      onSubscribe: async (ctx, _id, params) => {
        const key = SubscriptionFanOut.key(params, ctx.extra.resolved!);
        // Joining a running subscription: the same document, variables and viewer were parsed,
        // validated and authorized for it.
        const running = fanOut.argsOf(key);
        if (running) return running;
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          params,
          wsViewer: ctx.extra.resolved,
          wsClientIp: ctx.extra.clientIp,
        } as never);
        const args: WsArgs = {
          schema: s,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe, key },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wsServer,
  );
  // A socket error is the client's doing (a message over maxPayload, a malformed frame, a reset): ws
  // has already closed the socket (1009, 1002…). graphql-ws would print it to stderr with
  // console.error and close again with 1011; it is logged at debug level instead, so no client can
  // write error lines into the server's log.
  wsServer.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (err) => log.debug('WebSocket closed after a client error', { detail: String(err.message).slice(0, 100) }));
  });

  const app: App = {
    server,
    boss,
    url: '',
    yoga: yoga as never,
    start: (port = config().PORT, host = config().HOST) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const a = server.address() as AddressInfo;
          app.url = `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
          resolve(app.url);
        });
      }),
    stop: async (graceMs = config().SHUTDOWN_GRACE_MS) => {
      draining = true;
      if (server.listening && graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
      timers.forEach(clearTimeout);
      apiTokenSockets.stop();
      stopRevocations();
      for (const client of wsServer.clients) client.close(1001, 'Server shutting down');
      await new Promise<void>((r) => wsServer.close(() => r()));
      if (server.listening) {
        server.closeIdleConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
      await events.stop();
      await boss.stop({ graceful: true, timeout: 5000 } as never);
    },
  };
  return app;
}
