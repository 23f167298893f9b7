// Login, logout and the session's lifetime. The access token is short-lived and kept in memory; it
// is refreshed with `refreshSession` shortly before it expires (timer, tab becoming visible, or just
// before a request). The refresh token is an HttpOnly cookie shared by the browser's tabs, sent only
// by this module's client (with "X-Session-Cookie: 1"); one refresh at a time, in this tab and across
// tabs (session-tabs.ts): the API rotates refresh tokens and treats a replayed one as theft. A new
// tab or a reload resumes the login from the cookie (restoreSession, before the first page). When
// the login ends server-side (expired, revoked, password changed) the tab returns to the login page
// with the reason; a logout in one tab ends the session in all of them.
import { Client, fetchExchange } from '@urql/core';
import { goto } from '$app/navigation';
import { ErrorFields, graphql, type ResultOf } from './graphql';
import { viewerKey, type PanelSession } from './session';
import { onOtherTabs, tellOtherTabs, withRefreshLock } from './session-tabs';

export const GRAPHQL_PATH = '/graphql';

const SessionFields = graphql(`
  fragment SessionFields on Session {
    accessToken
    accessTokenExpiresAt
    viewer { kind label readOnly user { id } customer { id name } mailbox { id } }
  }
`);

const LoginMutation = graphql(
  `
    mutation Login($email: String!, $password: String!) {
      login(email: $email, password: $password) {
        __typename
        ... on MutationLoginSuccess { session { ...SessionFields } }
        ... on TooManyAttemptsError { retryAfterSeconds }
        ... on SecondFactorRequired { challenge }
        ... on TwoFactorEnrolmentRequired { challenge }
        ...ErrorFields
      }
    }
  `,
  [SessionFields, ErrorFields],
);

const CompleteLoginMutation = graphql(
  `
    mutation CompleteLogin($challenge: String!, $code: String!) {
      completeLogin(challenge: $challenge, code: $code) {
        __typename
        ... on MutationCompleteLoginSuccess { session { ...SessionFields } }
        ...ErrorFields
      }
    }
  `,
  [SessionFields, ErrorFields],
);

/** Enrolment: as the signed-in person, or with the challenge of a login that requires it. */
export const StartEnrolmentMutation = graphql(
  `
    mutation StartTwoFactorEnrolment($challenge: String) {
      startTwoFactorEnrolment(challenge: $challenge) {
        __typename
        ... on MutationStartTwoFactorEnrolmentSuccess { enrolment { secret otpauthUri } }
        ...ErrorFields
      }
    }
  `,
  [ErrorFields],
);

export const ConfirmEnrolmentMutation = graphql(
  `
    mutation ConfirmTwoFactorEnrolment($code: String!, $challenge: String) {
      confirmTwoFactorEnrolment(code: $code, challenge: $challenge) {
        __typename
        ... on MutationConfirmTwoFactorEnrolmentSuccess { enabled { recoveryCodes session { ...SessionFields } } }
        ...ErrorFields
      }
    }
  `,
  [SessionFields, ErrorFields],
);

const RefreshMutation = graphql(
  `
    mutation RefreshSession {
      refreshSession { __typename ... on MutationRefreshSessionSuccess { session { ...SessionFields } } ... on Error { message } }
    }
  `,
  [SessionFields],
);

const LogoutMutation = graphql(`
  mutation Logout {
    logout
  }
`);

/** Session operations go through their own client: no token, no cache, no subscriptions; the only
 *  requests that ask for (and send) the refresh-token cookie. */
const SESSION_FETCH: RequestInit = { headers: { 'x-session-cookie': '1' }, credentials: 'same-origin' };
const authClient = new Client({
  url: GRAPHQL_PATH,
  exchanges: [fetchExchange],
  preferGetMethod: false,
  requestPolicy: 'network-only',
  fetchOptions: SESSION_FETCH,
});

type SessionPayload = ResultOf<typeof SessionFields>;

/** The access token's lifetime measured on this machine's clock (exp − iat of the JWT), so a skewed
 *  client clock cannot make the panel refresh too late. Falls back to the server's expiry time. */
function localExpiry(s: SessionPayload, receivedAt: number): number {
  try {
    const payload = JSON.parse(atob(s.accessToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')));
    if (typeof payload.exp === 'number' && typeof payload.iat === 'number') return receivedAt + (payload.exp - payload.iat) * 1000;
  } catch {
    /* not a JWT we can read */
  }
  return Date.parse(s.accessTokenExpiresAt);
}

function toSession(s: SessionPayload, receivedAt = Date.now()): PanelSession {
  return {
    accessToken: s.accessToken,
    accessTokenExpiresAt: localExpiry(s, receivedAt),
    viewer: {
      kind: s.viewer.kind,
      label: s.viewer.label,
      readOnly: s.viewer.readOnly,
      userId: s.viewer.user?.id ?? null,
      customerId: s.viewer.customer?.id ?? null,
      customerName: s.viewer.customer?.name ?? null,
      mailboxId: s.viewer.mailbox?.id ?? null,
    },
  };
}

export const auth = $state<{ session: PanelSession | null }>({ session: null });

const endListeners = new Set<() => void>();
/** Called when the session ends (logout or expiry): the GraphQL client drops its cache and socket. */
export function onSessionEnd(fn: () => void): () => void {
  endListeners.add(fn);
  return () => endListeners.delete(fn);
}

let timer: ReturnType<typeof setTimeout> | undefined;

function scheduleRefresh() {
  clearTimeout(timer);
  const s = auth.session;
  if (!s) return;
  const remaining = s.accessTokenExpiresAt - Date.now();
  const lead = Math.min(60_000, Math.max(5_000, remaining / 4));
  timer = setTimeout(() => void refresh(), Math.max(0, remaining - lead));
}

function setSession(s: PanelSession) {
  const before = auth.session;
  auth.session = s;
  scheduleRefresh();
  // Another tab logged in as someone else (the cookie is the browser's): this tab follows, afresh.
  if (before && viewerKey(before.viewer) !== viewerKey(s.viewer)) {
    for (const fn of endListeners) fn();
    void goto('/', { replaceState: true });
  }
}

function endSession(reason?: string) {
  clearTimeout(timer);
  auth.session = null;
  for (const fn of endListeners) fn();
  const query = reason ? `?reason=${encodeURIComponent(reason)}` : '';
  void goto(`/login${query}`, { replaceState: true });
}

type Exchange = { ok: true; session: PanelSession } | { ok: false; refused?: string };

/** Trades the cookie's refresh token for a new pair, holding the browser-wide refresh lock. */
function exchange(): Promise<Exchange> {
  return withRefreshLock(async (): Promise<Exchange> => {
    const r = await authClient.mutation(RefreshMutation, {}).toPromise();
    const payload = r.data?.refreshSession;
    if (payload?.__typename === 'MutationRefreshSessionSuccess') return { ok: true, session: toSession(payload.session) };
    return payload ? { ok: false, refused: payload.message } : { ok: false };
  }).catch((): Exchange => ({ ok: false })); // no answer (network, lock refused): as network trouble
}

let inflight: Promise<boolean> | null = null;

/** Renews this tab's session. true when it was renewed. */
export function refresh(): Promise<boolean> {
  inflight ??= (async () => {
    const current = auth.session;
    if (!current) return false;
    try {
      const r = await exchange();
      if (auth.session !== current) return !!auth.session; // logged out or replaced meanwhile
      if (r.ok) {
        setSession(r.session);
        return true;
      }
      if (r.refused) {
        endSession(r.refused);
        return false;
      }
      // Network trouble: keep the session, try again soon.
      clearTimeout(timer);
      timer = setTimeout(() => void refresh(), 10_000);
      return false;
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

let restoring: Promise<boolean> | null = null;

/** A tab without a session (just opened or reloaded, or on /login while another tab logged in) takes
 *  the browser's login from the cookie. true when there was one. */
export function restoreSession(): Promise<boolean> {
  restoring ??= (async () => {
    try {
      if (auth.session) return true;
      const r = await exchange();
      if (r.ok && !auth.session) setSession(r.session);
      return !!auth.session;
    } finally {
      restoring = null;
    }
  })();
  return restoring;
}

const signedInElsewhere = new Set<() => void>();
/** Called when another tab's login has given this tab (which had none) a session: /login moves on. */
export function onSignedInElsewhere(fn: () => void): () => void {
  signedInElsewhere.add(fn);
  return () => signedInElsewhere.delete(fn);
}

if (typeof window !== 'undefined')
  onOtherTabs((message) => {
    if (message.type === 'logout') {
      if (auth.session) endSession();
    } else if (!auth.session) {
      void restoreSession().then((ok) => {
        if (ok) for (const fn of signedInElsewhere) fn();
      });
    }
  });

/** The access token to send now, refreshed first when it is about to expire. */
export async function freshAccessToken(): Promise<string | null> {
  const s = auth.session;
  if (!s) return null;
  if (s.accessTokenExpiresAt - Date.now() < 5_000) await refresh();
  return auth.session?.accessToken ?? null;
}

/** The session's token has been refused (expired early, clock jump): refresh unless already done. */
export async function recoverFromRejectedToken(rejected: string): Promise<boolean> {
  if (!auth.session) return false;
  if (auth.session.accessToken !== rejected) return true;
  return refresh();
}

export type LoginResult =
  | { ok: true; session: PanelSession }
  | { ok: false; step: 'code' | 'enrol'; challenge: string }
  | { ok: false; step?: undefined; message: string; fieldErrors: Record<string, string> };

export async function login(email: string, password: string): Promise<LoginResult> {
  const r = await authClient.mutation(LoginMutation, { email, password }).toPromise();
  if (r.error || !r.data) {
    return { ok: false, message: r.error?.networkError ? 'The server could not be reached. Check your connection and try again.' : (r.error?.graphQLErrors.map((e) => e.message).join('\n') ?? 'Something went wrong.'), fieldErrors: {} };
  }
  const p = r.data.login;
  if (p.__typename === 'MutationLoginSuccess') return { ok: true, session: startSession(p.session) };
  // The password was right; the login continues with a code, or with setting up two-factor login.
  if (p.__typename === 'SecondFactorRequired') return { ok: false, step: 'code', challenge: p.challenge };
  if (p.__typename === 'TwoFactorEnrolmentRequired') return { ok: false, step: 'enrol', challenge: p.challenge };
  const fieldErrors: Record<string, string> = {};
  if (p.__typename === 'ValidationError') for (const fe of p.fieldErrors) fieldErrors[fe.field] ??= fe.message;
  return { ok: false, message: p.message, fieldErrors };
}

/** A session answered by the API becomes this tab's login (and the other tabs', through the cookie). */
export function startSession(payload: SessionPayload): PanelSession {
  const session = toSession(payload);
  setSession(session);
  tellOtherTabs({ type: 'login' });
  return session;
}

/** The login's second step: a code from the authenticator app or a recovery code. */
export async function completeLogin(challenge: string, code: string): Promise<LoginResult> {
  const r = await authClient.mutation(CompleteLoginMutation, { challenge, code }).toPromise();
  const p = r.data?.completeLogin;
  if (!p) return { ok: false, message: r.error?.networkError ? 'The server could not be reached.' : 'Something went wrong.', fieldErrors: {} };
  if (p.__typename === 'MutationCompleteLoginSuccess') return { ok: true, session: startSession(p.session) };
  const fieldErrors: Record<string, string> = {};
  if (p.__typename === 'ValidationError') for (const fe of p.fieldErrors) fieldErrors[fe.field] ??= fe.message;
  return { ok: false, message: p.message, fieldErrors };
}

/** The GraphQL client for a login's own steps (no token: the challenge is the credential). Not
 *  imported from graphql/mutate here: that module's client imports this one (a cycle at start-up). */
export function loginStepClient() {
  return authClient;
}

/** Ends the login server-side (best effort; the API clears the cookie) and in every tab. Sent at once
 *  (no need to wait for the refresh lock: any token of the login ends all of it) and with keepalive,
 *  so a tab closed or reloaded right after the click still logs out. */
export async function logout(): Promise<void> {
  if (auth.session) await authClient.mutation(LogoutMutation, {}, { fetchOptions: { ...SESSION_FETCH, keepalive: true } }).toPromise().catch(() => undefined);
  tellOtherTabs({ type: 'logout' });
  endSession();
}

/** Keeps the session fresh while the panel is open: refresh timer, and a check when the tab comes back. */
let watchingVisibility = false;
export function resumeSession() {
  if (typeof document !== 'undefined' && !watchingVisibility) {
    watchingVisibility = true;
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') scheduleRefresh();
    });
  }
  scheduleRefresh();
}
