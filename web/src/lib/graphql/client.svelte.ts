// The panel's one urql client: queries and mutations over HTTP (POST /graphql), subscriptions over
// graphql-ws on the same path. Every request carries the current access token, refreshed first when
// it is about to expire. A socket lives only as long as the token that opened it: the API closes it
// with 4401 at expiry, and each subscription then re-subscribes on a new socket opened with the
// refreshed token (graphql-ws treats 4401 as fatal, so its own retry cannot do this).
import { Client, cacheExchange, fetchExchange, subscriptionExchange, type CombinedError } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { auth, freshAccessToken, GRAPHQL_PATH, onSessionEnd, recoverFromRejectedToken } from '../auth.svelte';

export const WS_CLOSE_UNAUTHORIZED = 4401;

/** The live connection's state, shown next to live views. */
export const live = $state<{ status: 'idle' | 'connecting' | 'online' | 'offline' }>({ status: 'idle' });

function wsUrl(): string {
  const url = new URL(GRAPHQL_PATH, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function withAuth(init: RequestInit | undefined, token: string | null): RequestInit {
  const headers = new Headers(init?.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  // The refresh-token cookie is for the session calls only (lib/auth.svelte.ts), not every request.
  return { ...init, headers, credentials: 'omit' };
}

async function rejectedAsUnauthenticated(res: Response): Promise<boolean> {
  try {
    const body = await res.clone().json();
    return Array.isArray(body?.errors) && body.errors.some((e: { extensions?: { code?: string } }) => e?.extensions?.code === 'UNAUTHENTICATED');
  } catch {
    return false;
  }
}

const authFetch: typeof fetch = async (input, init) => {
  const token = await freshAccessToken();
  const res = await fetch(input, withAuth(init, token));
  if (token && (await rejectedAsUnauthenticated(res)) && (await recoverFromRejectedToken(token))) {
    return fetch(input, withAuth(init, auth.session?.accessToken ?? null));
  }
  return res;
};

function isCloseEvent(e: unknown): e is { code: number; reason: string } {
  return typeof e === 'object' && e !== null && 'code' in e && 'reason' in e;
}

function createPanelClient(): { client: Client; ws: WsClient } {
  let socketToken: string | null = null;
  const ws = createWsClient({
    url: wsUrl(),
    lazy: true,
    lazyCloseTimeout: 3_000,
    retryAttempts: 30,
    connectionParams: async () => {
      socketToken = await freshAccessToken();
      return socketToken ? { authorization: `Bearer ${socketToken}` } : {};
    },
    on: {
      connecting: () => (live.status = 'connecting'),
      connected: () => (live.status = 'online'),
      // 1000: closed on purpose (no live view open any more); anything else is a lost connection.
      closed: (event) => (live.status = isCloseEvent(event) && event.code === 1000 ? 'idle' : 'offline'),
    },
  });

  const client = new Client({
    url: GRAPHQL_PATH,
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetch: authFetch,
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const payload = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              let stopped = false;
              let renewals = 0;
              let dispose = () => {};
              const start = () => {
                dispose = ws.subscribe(payload, {
                  next: (value) => {
                    renewals = 0;
                    sink.next(value as never);
                  },
                  error: (err) => {
                    if (stopped) return;
                    if (isCloseEvent(err) && err.code === WS_CLOSE_UNAUTHORIZED && renewals++ < 3) {
                      const rejected = socketToken;
                      void (rejected ? recoverFromRejectedToken(rejected) : Promise.resolve(!!auth.session)).then((ok) => {
                        if (ok && !stopped) start();
                        else sink.error(err as never);
                      });
                      return;
                    }
                    sink.error((isCloseEvent(err) ? new Error(`Live updates stopped: ${err.reason || `connection closed (${err.code})`}`) : err) as never);
                  },
                  complete: () => sink.complete(),
                });
              };
              start();
              return {
                unsubscribe() {
                  stopped = true;
                  dispose();
                },
              };
            },
          };
        },
      }),
    ],
  });
  return { client, ws };
}

let current: { client: Client; ws: WsClient } | null = null;

export function getClient(): Client {
  current ??= createPanelClient();
  return current.client;
}

onSessionEnd(() => {
  void current?.ws.dispose();
  current = null;
  live.status = 'idle';
});

/** A person-readable sentence for a failed operation (network down, forbidden, masked server error). */
export function describeError(error: CombinedError): string {
  if (error.networkError) return 'The server could not be reached. Check your connection and try again.';
  const messages = error.graphQLErrors.map((e) => e.message).filter(Boolean);
  return messages.length ? messages.join(' ') : 'Something went wrong. Please try again.';
}
