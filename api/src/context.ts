import type { PgBoss } from 'pg-boss';
import type { PubSub } from './pubsub.js';
import type { SessionCookieJar } from './session-cookie.js';

export type Viewer =
  | { kind: 'anonymous' }
  | {
      kind: 'user';
      userId: string;
      role: 'ADMIN' | 'CUSTOMER';
      customerId: string | null;
      label: string;
      /** SESSION = logged in through the panel; FULL/READ_ONLY = an integrator's API token. */
      access: 'SESSION' | 'FULL' | 'READ_ONLY';
      tokenId?: string;
      /** The login (refresh-token family) a panel access token was issued for: logging out ends it. */
      sessionId?: string;
    }
  | { kind: 'mailbox'; mailboxId: string; customerId: string; label: string; sessionId?: string };

/** A person's own panel login (a mailbox owner, or a user logged in through the panel), not an API token. */
export type PersonViewer = Extract<Viewer, { kind: 'mailbox' } | { kind: 'user' }>;
export function isPersonLogin(v: Viewer): v is PersonViewer {
  return v.kind === 'mailbox' || (v.kind === 'user' && v.access === 'SESSION');
}

export interface Context {
  viewer: Viewer;
  clientIp: string | null;
  /** The HTTP request's User-Agent (null over WebSockets), shown in the owner's list of sessions. */
  userAgent?: string | null;
  boss: PgBoss;
  pubsub: PubSub;
  /** Set when the access token was expired (so the API can say so instead of "not logged in"). */
  authError?: string;
  /** The panel's refresh-token cookie for this request (session-cookie.ts). */
  sessionCookie: SessionCookieJar;
}

export const anonymous: Viewer = { kind: 'anonymous' };

const perRequestValues = new WeakMap<Context, Map<string, unknown>>();
/** `build()`'s value, made once per request and key: what the resolvers of one request share (a
 *  listing's where and total, asked by its page and by its totalCount). It goes with the request. */
export function perRequest<T>(ctx: Context, key: string, build: () => T): T {
  let values = perRequestValues.get(ctx);
  if (!values) perRequestValues.set(ctx, (values = new Map()));
  if (!values.has(key)) values.set(key, build());
  return values.get(key) as T;
}
